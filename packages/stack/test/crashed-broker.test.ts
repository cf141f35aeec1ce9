import { afterAll, describe, expect, it } from 'vitest'
import { createKafka, ensureTopic, RecordProducer, withAdmin } from '@radstream/kafka'
import { ensureLocalKafka, stopLocalKafka } from '@radstream/stack'

// A broker of this test's own: it is killed, and its many partitions would slow every other start.
const PORT = 29092
const BROKER = { port: PORT, controllerPort: PORT + 1, partitions: 1, log: () => undefined }
const LOAD_TOPICS = 150
const LOAD_PARTITIONS = 8

describe('starting on a crashed broker', () => {
  const kafka = createKafka({ brokers: [`127.0.0.1:${PORT}`], clientId: 'crashed-broker-test' })

  afterAll(async () => {
    await stopLocalKafka(PORT, () => undefined)
  }, 60_000)

  // What broke a CI run: a broker killed with many partitions answers metadata requests before it
  // knows a topic it has just created, and the client's own wait for leaders gave up at once.
  it('ensureTopic should wait for the leaders of a new topic while the broker recovers its partitions', async () => {
    await ensureLocalKafka(BROKER)
    await withAdmin(kafka, async (admin) => {
      const wanted = Array.from({ length: LOAD_TOPICS }, (_, i) => `load-${i}`)
      const existing = new Set(await admin.topics())
      for (const topic of wanted.filter((t) => !existing.has(t)))
        await admin.createTopic({ topic, partitions: LOAD_PARTITIONS, replicationFactor: 1 })
    })

    await stopLocalKafka(PORT, () => undefined, { crash: true })
    await ensureLocalKafka(BROKER)
    const topic = `fresh-${Date.now()}`
    await ensureTopic(kafka, topic, 4)

    const producer = new RecordProducer(kafka, 'test', { idempotent: true })
    const acks = await producer.send(
      [0, 1, 2, 3].map((partition) => ({ topic, partition, key: undefined, value: 'x' })),
    )
    await producer.close()
    expect(acks.map((ack) => ack.partition).sort()).toEqual([0, 1, 2, 3])

    await withAdmin(kafka, (admin) => admin.deleteTopics([topic]))
  }, 240_000)
})
