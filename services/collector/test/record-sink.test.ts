import { describe, expect, it } from 'vitest'
import type { Producer } from '@radstream/kafka'
import { CollectorMetrics } from '../src/metrics'
import { KafkaWritability } from '../src/kafka-writability'
import { KafkaRecordSink } from '../src/record-sink'

type SendArgs = Parameters<Producer['send']>[0]
type Answer = Awaited<ReturnType<Producer['send']>>

/**
 * A producer that answers each send as `answer` says: the sink's reading of kafkajs's answers,
 * which a real broker gives only in a leader change (the pipeline tests and the chaos suite kill
 * real brokers for that).
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

function sinkOn(newProducer: () => Producer) {
  const writability = new KafkaWritability(async () => true, new CollectorMetrics())
  const sink = new KafkaRecordSink(newProducer, writability, {
    topic: 'accounting',
    partitions: 6,
    lingerMs: 5,
    maxBatch: 500,
  })
  return { sink, writability }
}

const keys = Array.from({ length: 60 }, (_, i) => `10.0.0.1/session-${i}`)
const publishAll = (sink: KafkaRecordSink) =>
  Promise.allSettled(keys.map((key) => sink.publish({ key, value: Buffer.from(key) })))

describe('Kafka record sink', () => {
  it('should send a batch as one send, each record to its key partition, and resolve every acknowledged record', async () => {
    const producers = answeringProducers((args) => answerFor(args))
    const { sink, writability } = sinkOn(producers.newProducer)
    await writability.start(60_000)
    await sink.start()
    const outcomes = await publishAll(sink)
    expect(outcomes.every((o) => o.status === 'fulfilled')).toBe(true)
    expect(producers.sends).toHaveLength(1)
    const partitions = new Set(producers.sends[0]!.messages.map((m) => m.partition))
    expect(partitions.size).toBeGreaterThan(1)
    expect(writability.writable).toBe(true)
    writability.stop()
    await sink.close()
  })

  it('should refuse the records of a partition the answer left out, and send the next batch on a new producer', async () => {
    let first = true
    const producers = answeringProducers((args) => {
      const missing = first ? new Set([args.messages[0]!.partition!]) : new Set<number>()
      first = false
      return answerFor(args, missing)
    })
    const { sink, writability } = sinkOn(producers.newProducer)
    await writability.start(60_000)
    await sink.start()
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
    writability.stop()
    await sink.close()
  })

  it('should refuse the whole batch when the send fails', async () => {
    const producers = answeringProducers(() => {
      throw new Error('broker gone')
    })
    const { sink, writability } = sinkOn(producers.newProducer)
    await writability.start(60_000)
    await sink.start()
    const outcomes = await publishAll(sink)
    expect(outcomes.every((o) => o.status === 'rejected')).toBe(true)
    expect(writability.writable).toBe(false)
    writability.stop()
    await sink.close()
  })
})
