import { Compile } from 'typebox/compile'
import { AccountingRecordSchema, type AccountingRecord } from './accounting-record'
import { decodeBinaryRecord, isBinaryRecord } from './binary-record'
import { RecordSchemaError } from './record-schema-error'
import { UNDECODABLE_SCHEMA, type UndecodableRecord } from './undecodable-record'

export { RecordSchemaError }

const validator = Compile(AccountingRecordSchema)

/** A record as JSON: schema v1 (the collector with KAFKA_RECORD_FORMAT=json) and undecodable packets. */
export function encodeRecord(record: AccountingRecord | UndecodableRecord): Buffer {
  return Buffer.from(JSON.stringify(record))
}

/**
 * Parses and validates a Kafka record value, v2 (binary) or v1 (JSON), into the same record; the
 * sessionizer trusts nothing it did not check.
 */
export function decodeRecord(value: Buffer | null): AccountingRecord {
  if (value === null) throw new RecordSchemaError('record has no value')
  if (isBinaryRecord(value)) return decodeBinaryRecord(value)
  let parsed: unknown
  try {
    parsed = JSON.parse(value.toString('utf8'))
  } catch (error) {
    throw new RecordSchemaError(`record is not JSON: ${(error as Error).message}`)
  }
  // Published by the collector for a signed packet it could not decode: never a session, always a dead letter.
  const undecodable = parsed as { schema?: unknown; reason?: unknown; source?: { address?: unknown } }
  if (undecodable?.schema === UNDECODABLE_SCHEMA) {
    throw new RecordSchemaError(
      `undecodable Accounting-Request from ${String(undecodable.source?.address)}: ${String(undecodable.reason)}`,
    )
  }
  if (!validator.Check(parsed)) {
    const problems = [...validator.Errors(parsed)].slice(0, 3).map((e) => `${e.instancePath || '/'} ${e.message}`)
    throw new RecordSchemaError(
      `record violates ${AccountingRecordSchema.properties.schema.const}: ${problems.join('; ')}`,
    )
  }
  return parsed
}
