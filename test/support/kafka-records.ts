import { createKafka } from '@radstream/kafka'

/** How many records the topic holds in all, from Kafka's own offsets. */
export async function recordCount(brokers: string, topic: string): Promise<number> {
  const admin = createKafka({ brokers: brokers.split(','), clientId: 'radstream-test' }).admin()
  await admin.connect()
  try {
    const offsets = await admin.fetchTopicOffsets(topic)
    return offsets.reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0)
  } finally {
    await admin.disconnect()
  }
}

/** The first record of the topic (read from the beginning, every partition) whose value `wanted` accepts. */
export async function findRecord<T>(
  brokers: string,
  topic: string,
  wanted: (value: T) => boolean,
  timeoutMs = 15_000,
): Promise<T> {
  const consumer = createKafka({ brokers: brokers.split(','), clientId: 'radstream-test' }).consumer({
    groupId: `radstream-test-reader-${Date.now()}-${Math.random().toString(36).slice(2)}`,
  })
  await consumer.connect()
  try {
    await consumer.subscribe({ topic, fromBeginning: true })
    return await new Promise<T>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no record of ${topic} matched within ${timeoutMs} ms`)),
        timeoutMs,
      )
      void consumer.run({
        eachMessage: async ({ message }) => {
          const value = JSON.parse(message.value!.toString()) as T
          if (wanted(value)) {
            clearTimeout(timer)
            resolve(value)
          }
        },
      })
    })
  } finally {
    await consumer.disconnect()
  }
}
