import { Compile } from 'typebox/compile'
import { AccountingRecordSchema, type AccountingRecord } from './accounting-record'
import { UNDECODABLE_SCHEMA, type UndecodableRecord } from './undecodable-record'

const validator = Compile(AccountingRecordSchema)

export class RecordSchemaError extends Error {
  override readonly name = 'RecordSchemaError'
  readonly code = 'RADSTREAM_RECORD_SCHEMA'
}

export function encodeRecord(record: AccountingRecord | UndecodableRecord): Buffer {
  return Buffer.from(JSON.stringify(record))
}

/** Parses and validates a Kafka record value; the sessionizer trusts nothing it did not check. */
export function decodeRecord(value: Buffer | null): AccountingRecord {
  if (value === null) throw new RecordSchemaError('record has no value')
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
