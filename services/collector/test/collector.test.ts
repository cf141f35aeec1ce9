import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLogger } from '@radstream/config'
import { createDb, upsertNasClient, type Db } from '@radstream/db'
import { buildAccountingRequest, parsePacket, responseAuthenticator } from '@radstream/radius'
import { startCollector, type RunningCollector } from '../src'
import { findRecord, recordCount } from '../../../test/support/kafka-records'
import { testSettings } from '../../../test/support/settings'
import { testTopic } from '../../../test/support/topics'
import { radclient } from '../../../test/support/radclient'
import { UdpNas } from '../../../test/support/udp-nas'

const SECRET = 'collector-secret'

function counter(collector: RunningCollector, name: string): Promise<number> {
  return collector.metrics.registry
    .getSingleMetric(name)!
    .get()
    .then((m) => m.values.reduce((sum, v) => sum + v.value, 0))
}

/** Status-Server from radclient; it must carry a Message-Authenticator, which radclient fills in. */
const radclientStatus = (port: number, secret: string) =>
  radclient(port, secret, 'Message-Authenticator = 0x00\n', { command: 'status', retries: 1, timeoutSeconds: 2 })

describe('collector', () => {
  const settings = testSettings({ KAFKA_TOPIC: testTopic('collector') })
  let collector: RunningCollector
  let db: Db
  let nas: UdpNas

  beforeAll(async () => {
    db = createDb({ url: settings.database.url, poolSize: 1 })
    await upsertNasClient(db, { network: '127.0.0.1', secret: SECRET })
    collector = await startCollector(settings, createLogger('warn', 'test'))
    nas = await UdpNas.open()
  })
  afterAll(async () => {
    nas?.close()
    await collector?.stop()
    await db?.destroy()
  })

  it('should answer a datagram sent 5 times with 5 responses and record it once', async () => {
    const datagram = buildAccountingRequest({
      identifier: 77,
      secret: Buffer.from(SECRET),
      attributes: [
        ['User-Name', 'dup'],
        ['Acct-Session-Id', 'dup-1'],
        ['Acct-Status-Type', 1],
      ],
    })
    const recordsBefore = await recordCount(settings.kafka.brokers.join(','), settings.kafka.topic)
    const duplicatesBefore = await counter(collector, 'radstream_collector_duplicates_total')
    for (let i = 0; i < 5; i++) await nas.send(datagram, collector.port)
    const deadline = Date.now() + 10_000
    while (nas.answersTo(77).length < 5 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))

    const answers = nas.answersTo(77)
    expect(answers).toHaveLength(5)
    const request = parsePacket(datagram)
    for (const answer of answers) {
      expect(answer[0]).toBe(5)
      expect(answer.subarray(4, 20)).toEqual(responseAuthenticator(answer, request.authenticator, Buffer.from(SECRET)))
    }
    expect(await recordCount(settings.kafka.brokers.join(','), settings.kafka.topic)).toBe(recordsBefore + 1)
    expect(await counter(collector, 'radstream_collector_duplicates_total')).toBe(duplicatesBefore + 4)
  })

  it('should record a Start with Acct-Delay-Time 4294967295 (from radclient) at its arrival, and count the ignored delay', async () => {
    const ignoredBefore = await counter(collector, 'radstream_collector_time_attributes_ignored_total')
    const before = Date.now()
    const sent = await radclient(
      collector.port,
      SECRET,
      'User-Name = "delayed"\nAcct-Status-Type = Start\nAcct-Session-Id = "delay-max"\nAcct-Delay-Time = 4294967295\n',
    )
    expect(sent.answered, sent.output).toBe(true)
    expect(await counter(collector, 'radstream_collector_time_attributes_ignored_total')).toBe(ignoredBefore + 1)
    const record = await findRecord(
      settings.kafka.brokers.join(','),
      settings.kafka.topic,
      (value) => value.accounting.sessionId === 'delay-max',
    )
    expect(record.accounting).toMatchObject({ sessionId: 'delay-max', delayTime: 4294967295 })
    expect(Date.parse(record.eventTime)).toBeGreaterThanOrEqual(before - 1000)
  })

  it('should answer Status-Server from radclient while Kafka is writable', async () => {
    const result = await radclientStatus(collector.port, SECRET)
    expect(result.output).toMatch(/Received Accounting-Response/)
    expect(result.exitCode).toBe(0)
    expect(result.answered).toBe(true)
  })

  it('should drop a Status-Server whose Message-Authenticator does not verify', async () => {
    const before = collector.drops.counts.get('bad_message_authenticator') ?? 0
    const result = await radclientStatus(collector.port, 'wrong-secret')
    expect(result.output).not.toMatch(/Received Accounting-Response/)
    expect(collector.drops.counts.get('bad_message_authenticator')).toBe(before + 1)
  })

  it('should serve Prometheus metrics, liveness and readiness over HTTP', async () => {
    const base = `http://127.0.0.1:${collector.metricsPort}`
    const metrics = await (await fetch(`${base}/metrics`)).text()
    expect(metrics).toMatch(/^radstream_collector_datagrams_received_total \d+/m)
    expect(metrics).toMatch(/^radstream_collector_records_published_total [1-9]/m)
    expect(metrics).toMatch(/radstream_collector_publish_seconds_bucket/)
    expect(metrics).toMatch(/^radstream_collector_kafka_writable 1/m)
    expect((await fetch(`${base}/healthz`)).status).toBe(200)
    expect((await fetch(`${base}/readyz`)).status).toBe(200)
  })

  it('should pick up NAS registry changes without a restart, CIDR blocks included', async () => {
    const fromOther = await UdpNas.open('127.0.0.3')
    try {
      const packet = (secret: string, identifier: number) =>
        buildAccountingRequest({
          identifier,
          secret: Buffer.from(secret),
          attributes: [
            ['User-Name', 'cidr'],
            ['Acct-Session-Id', `cidr-${identifier}`],
            ['Acct-Status-Type', 1],
          ],
        })
      expect(await fromOther.request(packet('block-secret', 1), collector.port, { timeoutMs: 1000 })).toBeUndefined()
      expect(collector.drops.counts.get('unknown_nas')).toBeGreaterThan(0)

      await upsertNasClient(db, { network: '127.0.0.0/24', secret: 'block-secret' })
      // NAS_REFRESH_MS is 200 in tests: the NAS retransmits until the registry has it.
      const answer = await fromOther.request(packet('block-secret', 2), collector.port, {
        timeoutMs: 5000,
        retransmitMs: 250,
      })
      expect(answer?.[0]).toBe(5)
      // The exact entry for 127.0.0.1 still wins over the block for its own address.
      expect(await nas.request(packet(SECRET, 3), collector.port, { timeoutMs: 3000 })).toBeDefined()
    } finally {
      fromOther.close()
      await db.deleteFrom('nas_clients').where('network', '=', '127.0.0.0/24').execute()
    }
  })
})
