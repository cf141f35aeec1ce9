import { decodeRecord, RecordSchemaError, type AccountingRecord } from '@radstream/events'
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

/**
 * The first accounting record of the topic (read from the beginning, every partition) that `wanted`
 * accepts, decoded as the sessionizer decodes it (binary v2 or JSON v1).
 */
export async function findRecord(
  brokers: string,
  topic: string,
  wanted: (value: AccountingRecord) => boolean,
  timeoutMs = 15_000,
): Promise<AccountingRecord> {
  const consumer = createKafka({ brokers: brokers.split(','), clientId: 'radstream-test' }).consumer({
    groupId: `radstream-test-reader-${Date.now()}-${Math.random().toString(36).slice(2)}`,
  })
  await consumer.connect()
  try {
    await consumer.subscribe({ topic, fromBeginning: true })
    return await new Promise<AccountingRecord>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no record of ${topic} matched within ${timeoutMs} ms`)),
        timeoutMs,
      )
      void consumer.run({
        eachMessage: async ({ message }) => {
          let value: AccountingRecord
          try {
            value = decodeRecord(message.value)
          } catch (error) {
            // An undecodable packet's record, which the sessionizer dead-letters: not one of these.
            if (error instanceof RecordSchemaError) return
            throw error
          }
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
