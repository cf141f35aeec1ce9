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
