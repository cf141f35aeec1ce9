import { describe, expect, it } from 'vitest'
import { createKafka, ensureTopic, GroupConsumer, RecordProducer, type RecordBatch } from '@radstream/kafka'
import { testSettings } from '../../../test/support/settings'
import { testTopic } from '../../../test/support/topics'
import { waitFor } from '../../../test/support/wait-for'

const STALL_MS = 2000

describe('GroupConsumer on a real broker', () => {
  it('should open a new stream when the client stops delivering while records wait, and not while it is caught up', async () => {
    const settings = testSettings()
    const topic = testTopic('group-consumer-stall')
    const kafka = createKafka({ brokers: settings.kafka.brokers, clientId: 'radstream-test-group-consumer' })
    await ensureTopic(kafka, topic, 2, { warn: () => undefined })
    const producer = new RecordProducer(kafka, 'test', { idempotent: true, retries: 8 })
    const send = (from: number, count: number) =>
      producer.send(
        Array.from({ length: count }, (_, i) => ({
          topic,
          partition: (from + i) % 2,
          key: null,
          value: `r${from + i}`,
        })),
      )
    const handled = new Set<string>()
    const troubles: string[] = []
    const consumer = new GroupConsumer(kafka, {
      groupId: `${topic}-group`,
      topic,
      sessionTimeoutMs: 10_000,
      rebalanceTimeoutMs: 20_000,
      stallMs: STALL_MS,
      minBytes: 1,
      maxWaitMs: 100,
      concurrency: 2,
      maxBatch: 100,
      onBatch: async (batch: RecordBatch) => {
        for (const record of batch.records) handled.add(record.value!.toString())
      },
      onTrouble: (_details, message) => troubles.push(message),
    })
    try {
      await consumer.start()
      await send(0, 10)
      await waitFor('the first records handled', async () => (handled.size === 10 ? true : undefined), 20_000)
      // Caught up and idle for longer than STALL_MS: nothing to mend.
      await new Promise((resolve) => setTimeout(resolve, 2 * STALL_MS))
      expect(troubles).toEqual([])

      // The client's fetch loop ends without an error (paused behind the consumer's back).
      ;(consumer as unknown as { stream: { pause(): void } }).stream.pause()
      await send(10, 10)
      await waitFor('the records sent after the stall', async () => (handled.size === 20 ? true : undefined), 20_000)
      expect(troubles).toContain('Kafka consumer received nothing while records wait; opening a new stream')
    } finally {
      await consumer.stop()
      await producer.close()
    }
  })
})
