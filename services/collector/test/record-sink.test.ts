import { describe, expect, it } from 'vitest'
import { createKafka, ensureTopic, keyPartition, namedPartition, type Producer } from '@radstream/kafka'
import { testSettings } from '../../../test/support/settings'
import { testTopic } from '../../../test/support/topics'
import { CollectorMetrics } from '../src/metrics'
import { KafkaWritability } from '../src/kafka-writability'
import { KafkaRecordSink } from '../src/record-sink'

type SendArgs = Parameters<Producer['send']>[0]
type Answer = Awaited<ReturnType<Producer['send']>>

/**
 * A producer that answers each send as `answer` says: how the sink reads answers a real broker
 * gives only in a leader change, which cannot be had on demand (the cluster test and the chaos
 * suite kill real brokers for that).
 */
function answeringProducers(answer: (args: SendArgs) => Answer) {
  const sends: SendArgs[] = []
  let made = 0
  const newProducer = () => {
    made++
    return {
      connect: async () => undefined,
      disconnect: async () => undefined,
      send: async (args: SendArgs) => {
        sends.push(args)
        return answer(args)
      },
    } as unknown as Producer
  }
  return { newProducer, sends, made: () => made }
}

/** kafkajs's answer for every partition of a send, less those in `missing`. */
function answerFor(args: SendArgs, missing: ReadonlySet<number> = new Set()): Answer {
  const partitions = new Set(args.messages.map((m) => m.partition!))
  return [...partitions]
    .filter((p) => !missing.has(p))
    .map((partition) => ({ topicName: args.topic, partition, errorCode: 0, baseOffset: '0' }))
}

/** A started sink on `topic` (partitions 6) with producers from `newProducer`. */
async function startedSink(newProducer: () => Producer, topic = 'accounting') {
  const writability = new KafkaWritability(async () => true, new CollectorMetrics())
  await writability.start(60_000)
  const sink = new KafkaRecordSink(newProducer, writability, { topic, partitions: 6, lingerMs: 5, maxBatch: 500 })
  await sink.start()
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
    const { sink, writability, stop } = await startedSink(
      () => kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: namedPartition }),
      topic,
    )
    const outcomes = await publishAll(sink)
    expect(outcomes.every((o) => o.status === 'fulfilled')).toBe(true)
    expect(writability.writable).toBe(true)
    await stop()

    // Read back: every record once, in the partition Kafka's clients give its key.
    const consumer = kafka.consumer({ groupId: `radstream-test-sink-${Date.now()}` })
    await consumer.connect()
    await consumer.subscribe({ topic, fromBeginning: true })
    const found = new Map<string, number>()
    await new Promise<void>((resolve) => {
      void consumer.run({
        eachMessage: async ({ partition, message }) => {
          found.set(message.value!.toString(), partition)
          if (found.size === keys.length) resolve()
        },
      })
    })
    await consumer.disconnect()
    expect(found).toEqual(new Map(keys.map((key) => [key, keyPartition(key, 6)])))
    expect(new Set(found.values()).size).toBeGreaterThan(1)
  })

  it('should send a batch as one send, each record to its key partition, and resolve every acknowledged record', async () => {
    const producers = answeringProducers((args) => answerFor(args))
    const { sink, writability, stop } = await startedSink(producers.newProducer)
    const outcomes = await publishAll(sink)
    expect(outcomes.every((o) => o.status === 'fulfilled')).toBe(true)
    expect(producers.sends).toHaveLength(1)
    const partitions = new Set(producers.sends[0]!.messages.map((m) => m.partition))
    expect(partitions.size).toBeGreaterThan(1)
    expect(writability.writable).toBe(true)
    await stop()
  })

  it('should refuse the records of a partition the answer left out, and send the next batch on a new producer', async () => {
    let first = true
    const producers = answeringProducers((args) => {
      const missing = first ? new Set([args.messages[0]!.partition!]) : new Set<number>()
      first = false
      return answerFor(args, missing)
    })
    const { sink, writability, stop } = await startedSink(producers.newProducer)
    const outcomes = await publishAll(sink)
    const dropped = producers.sends[0]!.messages[0]!.partition
    const refused = producers.sends[0]!.messages.filter((_, i) => outcomes[i]!.status === 'rejected')
    expect(refused.length).toBeGreaterThan(0)
    expect(refused.every((m) => m.partition === dropped)).toBe(true)
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(keys.length - refused.length)
    expect(writability.writable).toBe(false)

    // What the NAS sends again goes out on a new producer, and is acknowledged.
    const again = await Promise.allSettled(
      refused.map((m) => sink.publish({ key: String(m.key), value: Buffer.from('x') })),
    )
    expect(again.every((o) => o.status === 'fulfilled')).toBe(true)
    expect(producers.made()).toBe(2)
    await stop()
  })

  it('should refuse the whole batch when the send fails', async () => {
    const producers = answeringProducers(() => {
      throw new Error('broker gone')
    })
    const { sink, writability, stop } = await startedSink(producers.newProducer)
    const outcomes = await publishAll(sink)
    expect(outcomes.every((o) => o.status === 'rejected')).toBe(true)
    expect(writability.writable).toBe(false)
    await stop()
  })
})
