import type { Kafka } from 'kafkajs'

/**
 * Every record value a topic holds now, partition by partition in offset order: read from the
 * beginning to the high watermark seen at the start, by a consumer group of its own that commits
 * nothing. For small topics read whole (the audit seals); `timeoutMs` bounds the wait.
 */
export async function readTopic(kafka: Kafka, topic: string, timeoutMs = 30_000): Promise<Buffer[]> {
  const admin = kafka.admin()
  await admin.connect()
  const ends = await admin.fetchTopicOffsets(topic).finally(() => admin.disconnect())
  const wanted = new Map(ends.filter((p) => Number(p.high) > Number(p.low)).map((p) => [p.partition, Number(p.high)]))
  if (wanted.size === 0) return []
  const read = new Map<number, Buffer[]>()
  const consumer = kafka.consumer({ groupId: `radstream-reader-${process.pid}-${Date.now()}` })
  await consumer.connect()
  try {
    await consumer.subscribe({ topic, fromBeginning: true })
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${topic}: not read whole within ${timeoutMs} ms`)), timeoutMs)
      void consumer.run({
        autoCommit: false,
        eachMessage: async ({ partition, message }) => {
          const values = read.get(partition) ?? []
          if (message.value) values.push(message.value)
          read.set(partition, values)
          if (Number(message.offset) + 1 >= (wanted.get(partition) ?? 0)) wanted.delete(partition)
          if (wanted.size === 0) {
            clearTimeout(timer)
            resolve()
          }
        },
      })
    })
  } finally {
    await consumer.disconnect()
  }
  return [...read.entries()].sort(([a], [b]) => a - b).flatMap(([, values]) => values)
}
