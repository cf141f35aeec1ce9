import { decodeRecord } from '@radstream/events'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLogger } from '@radstream/config'
import { createDb, upsertNasClient, type Db } from '@radstream/db'
import { buildAccountingRequest } from '@radstream/radius'
import { ensureLocalKafka, stopLocalKafka } from '@radstream/stack'
import { startCollector, type RunningCollector } from '../src'
import { recordCount } from '../../../test/support/kafka-records'
import { testSettings } from '../../../test/support/settings'
import { testTopic } from '../../../test/support/topics'
import { UdpNas } from '../../../test/support/udp-nas'

const SECRET = Buffer.from('kafka-down-secret')
// A broker of this test's own, so stopping it disturbs no other test.
const PORT = 19092
const BROKER = { port: PORT, controllerPort: PORT + 1, partitions: 2, log: () => undefined }

function request(identifier: number, sessionId: string): Buffer {
  return buildAccountingRequest({
    identifier,
    secret: SECRET,
    attributes: [
      ['User-Name', 'kd'],
      ['Acct-Session-Id', sessionId],
      ['Acct-Status-Type', 1],
    ],
  })
}

describe('collector while Kafka is down', () => {
  const settings = testSettings({
    KAFKA_BROKERS: `127.0.0.1:${PORT}`,
    KAFKA_TOPIC: testTopic('kafka-down'),
    KAFKA_TOPIC_PARTITIONS: '2',
    COLLECTOR_MAX_IN_FLIGHT: '500',
  })
  let collector: RunningCollector
  let db: Db
  let nas: UdpNas

  beforeAll(async () => {
    await ensureLocalKafka(BROKER)
    db = createDb({ url: settings.database.url, poolSize: 1 })
    await upsertNasClient(db, { network: '127.0.0.1', secret: SECRET.toString() })
    collector = await startCollector(settings, createLogger('fatal', 'test'))
    nas = await UdpNas.open()
  }, 180_000)
  afterAll(async () => {
    nas?.close()
    await collector?.stop()
    await db?.destroy()
    await stopLocalKafka(PORT, () => undefined)
  }, 60_000)

  it('should not answer while the broker is down, keep memory bounded, then record the retransmission once', async () => {
    const brokers = settings.kafka.brokers.join(',')
    const sessionId = `kafka-down-${Date.now()}`
    expect(await nas.request(request(1, `${sessionId}-before`), collector.port, { timeoutMs: 5000 })).toBeDefined()
    const recordsBefore = await recordCount(brokers, settings.kafka.topic)

    await stopLocalKafka(PORT, () => undefined)
    const rssBefore = process.memoryUsage().rss
    const pending = request(2, sessionId)
    expect(await nas.request(pending, collector.port, { timeoutMs: 4000, retransmitMs: 1000 })).toBeUndefined()

    // A flood of distinct packets while Kafka is away: past the in-flight cap they are dropped.
    for (let i = 0; i < 20_000; i++) {
      await nas.send(request(3 + (i % 250), `${sessionId}-flood-${i}`), collector.port)
      if (i % 8 === 7) await new Promise((resolve) => setImmediate(resolve))
    }
    await new Promise((resolve) => setTimeout(resolve, 500))
    expect(collector.drops.counts.get('overloaded') ?? 0).toBeGreaterThan(0)
    expect(await collector.metrics.inFlight.get().then((m) => m.values[0]?.value)).toBeLessThanOrEqual(500)
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(150 * 1024 * 1024)
    expect(nas.answersTo(2)).toHaveLength(0)

    await ensureLocalKafka(BROKER)
    // The NAS keeps retransmitting the same request until it is answered.
    const answer = await nas.request(pending, collector.port, { timeoutMs: 60_000, retransmitMs: 1000 })
    expect(answer?.[0]).toBe(5)

    // Exactly one record of the retransmitted session reached Kafka (the flood may add its own).
    const { createKafka, readTopic } = await import('@radstream/kafka')
    const records = await readTopic(
      createKafka({ brokers: [brokers], clientId: 'kafka-down-check' }),
      settings.kafka.topic,
    )
    // Keyed by NAS now: the session is in the record itself.
    const matching = records.filter((r) => r.value && decodeRecord(r.value).accounting.sessionId === sessionId).length
    expect(records.length).toBeGreaterThan(recordsBefore)
    expect(matching).toBe(1)
  }, 180_000)
})
