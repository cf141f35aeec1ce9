import { decodeRecord, RecordSchemaError, type AccountingRecord } from '@radstream/events'
import { createKafka, readTopic, withAdmin } from '@radstream/kafka'

/** How many records the topic holds in all, from Kafka's own offsets. */
export async function recordCount(brokers: string, topic: string): Promise<number> {
  const offsets = await withAdmin(createKafka({ brokers: brokers.split(','), clientId: 'radstream-test' }), (admin) =>
    admin.offsets(topic),
  )
  return offsets.reduce((sum, p) => sum + p.high - p.low, 0)
}

/**
 * The first accounting record of the topic (every partition, in offset order) that `wanted`
 * accepts, decoded as the sessionizer decodes it (binary v2 or JSON v1); read again until one is
 * there or `timeoutMs` has passed.
 */
export async function findRecord(
  brokers: string,
  topic: string,
  wanted: (value: AccountingRecord) => boolean,
  timeoutMs = 15_000,
): Promise<AccountingRecord> {
  const kafka = createKafka({ brokers: brokers.split(','), clientId: 'radstream-test' })
  const deadline = Date.now() + timeoutMs
  for (;;) {
    for (const { value } of await readTopic(kafka, topic, timeoutMs)) {
      let record: AccountingRecord
      try {
        record = decodeRecord(value ?? null)
      } catch (error) {
        // An undecodable packet's record, which the sessionizer dead-letters: not one of these.
        if (error instanceof RecordSchemaError) continue
        throw error
      }
      if (wanted(record)) return record
    }
    if (Date.now() > deadline) throw new Error(`no record of ${topic} matched within ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
}
