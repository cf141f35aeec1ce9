import { describe, expect, it } from 'vitest'
import {
  createKafka,
  ensureTopic,
  keyPartition,
  readTopic,
  RecordProducer,
  SendError,
  type AcknowledgedPartition,
  type RecordToSend,
} from '@radstream/kafka'
import { testSettings } from '../../../test/support/settings'
import { testTopic } from '../../../test/support/topics'
import { CollectorMetrics } from '../src/metrics'
import { KafkaWritability } from '../src/kafka-writability'
import { KafkaRecordSink, type RecordSender } from '../src/record-sink'

/**
 * A sender that answers each send as `answer` says: how the sink reads answers a real broker
 * gives only in a leader change, which cannot be had on demand (the cluster test and the chaos
 * suite kill real brokers for that).
 */
function answeringSender(answer: (records: readonly RecordToSend[]) => AcknowledgedPartition[]) {
  const sends: (readonly RecordToSend[])[] = []
  const sender: RecordSender = {
    send: async (records) => {
      sends.push(records)
      return answer(records)
    },
    close: async () => undefined,
  }
  return { sender, sends }
}

/** Every partition of a send, acknowledged. */
const acknowledgeAll = (records: readonly RecordToSend[]): AcknowledgedPartition[] =>
  [...new Set(records.map((r) => r.partition))].map((partition) => ({ topic: 'accounting', partition, offset: 0n }))

/** A sink on `topic` (partitions 6) sending through `sender`. */
async function startedSink(sender: RecordSender, topic = 'accounting') {
  const writability = new KafkaWritability(async () => true, new CollectorMetrics())
  await writability.start(60_000)
  const sink = new KafkaRecordSink(sender, writability, { topic, partitions: 6, lingerMs: 5, maxBatch: 500 })
  const stop = async () => {
    writability.stop()
    await sink.close()
  }
  return { sink, writability, stop }
}

const keys = Array.from({ length: 60 }, (_, i) => `10.0.0.1/session-${i}`)
const publishAll = (sink: KafkaRecordSink) =>
  Promise.allSettled(keys.map((key) => sink.publish({ key, value: Buffer.from(key) })))

describe('Kafka record sink', () => {
  it('should write a batch to a real broker, each record in its key partition, and resolve them all', async () => {
    const settings = testSettings()
    const topic = testTopic('record-sink')
    const kafka = createKafka({ brokers: settings.kafka.brokers, clientId: 'radstream-test-sink' })
    await ensureTopic(kafka, topic, 6, { warn: () => undefined })
    const producer = new RecordProducer(kafka, 'sink', { idempotent: true, retries: 8 })
    const { sink, writability, stop } = await startedSink(producer, topic)
    const outcomes = await publishAll(sink)
    expect(outcomes.every((o) => o.status === 'fulfilled')).toBe(true)
    expect(writability.writable).toBe(true)
    await stop()

    // Read back: every record once, in the partition Kafka's clients give its key.
    const found = new Map((await readTopic(kafka, topic)).map((r) => [r.value!.toString(), r.partition]))
    expect(found).toEqual(new Map(keys.map((key) => [key, keyPartition(key, 6)])))
    expect(new Set(found.values()).size).toBeGreaterThan(1)
  })

  it('should send a batch as one send, each record to its key partition, and resolve every acknowledged record', async () => {
    const { sender, sends } = answeringSender(acknowledgeAll)
    const { sink, writability, stop } = await startedSink(sender)
    const outcomes = await publishAll(sink)
    expect(outcomes.every((o) => o.status === 'fulfilled')).toBe(true)
    expect(sends).toHaveLength(1)
    expect(new Set(sends[0]!.map((r) => r.partition)).size).toBeGreaterThan(1)
    expect(sends[0]!.every((r) => r.partition === keyPartition(String(r.key), 6))).toBe(true)
    expect(writability.writable).toBe(true)
    await stop()
  })

  it('should answer the records of the partitions a failed send acknowledged, and refuse the rest', async () => {
    let first = true
    const { sender, sends } = answeringSender((records) => {
      if (!first) return acknowledgeAll(records)
      first = false
      const lost = records[0]!.partition
      const acknowledged = acknowledgeAll(records).filter((p) => p.partition !== lost)
      throw new SendError('a leader died', acknowledged, { cause: new Error('NOT_LEADER_OR_FOLLOWER') })
    })
    const { sink, writability, stop } = await startedSink(sender)
    const outcomes = await publishAll(sink)
    const lost = sends[0]![0]!.partition
    const refused = sends[0]!.filter((_, i) => outcomes[i]!.status === 'rejected')
    expect(refused.length).toBeGreaterThan(0)
    expect(refused.every((r) => r.partition === lost)).toBe(true)
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(keys.length - refused.length)
    expect(writability.writable).toBe(false)

    // What the NAS sends again is acknowledged.
    const again = await Promise.allSettled(
      refused.map((r) => sink.publish({ key: String(r.key), value: Buffer.from('x') })),
    )
    expect(again.every((o) => o.status === 'fulfilled')).toBe(true)
    await stop()
  })

  it('should refuse the whole batch when the send fails without an answer', async () => {
    const { sender } = answeringSender(() => {
      throw new Error('broker gone')
    })
    const { sink, writability, stop } = await startedSink(sender)
    const outcomes = await publishAll(sink)
    expect(outcomes.every((o) => o.status === 'rejected')).toBe(true)
    expect(writability.writable).toBe(false)
    await stop()
  })
})
