import { afterAll, describe, expect, it } from 'vitest'
import { createKafka, ensureTopic } from '@radstream/kafka'
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
  // knows a topic it has just created, and kafkajs's createTopics gave up at once.
  it('ensureTopic should wait for the leaders of a new topic while the broker recovers its partitions', async () => {
    await ensureLocalKafka(BROKER)
    const admin = kafka.admin()
    await admin.connect()
    const wanted = Array.from({ length: LOAD_TOPICS }, (_, i) => `load-${i}`)
    const existing = new Set(await admin.listTopics())
    const missing = wanted.filter((topic) => !existing.has(topic))
    await admin.createTopics({
      topics: missing.map((topic) => ({ topic, numPartitions: LOAD_PARTITIONS, replicationFactor: 1 })),
    })
    await admin.disconnect()

    await stopLocalKafka(PORT, () => undefined, { crash: true })
    await ensureLocalKafka(BROKER)
    const topic = `fresh-${Date.now()}`
    await ensureTopic(kafka, topic, 4)

    const producer = kafka.producer({ allowAutoTopicCreation: false })
    await producer.connect()
    const acks = await producer.send({
      topic,
      acks: -1,
      messages: [0, 1, 2, 3].map((p) => ({ partition: p, value: 'x' })),
    })
    await producer.disconnect()
    expect(acks.map((ack) => ack.partition).sort()).toEqual([0, 1, 2, 3])

    const cleanup = kafka.admin()
    await cleanup.connect()
    await cleanup.deleteTopics({ topics: [topic] })
    await cleanup.disconnect()
  }, 240_000)
})
