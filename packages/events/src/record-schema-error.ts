/** A Kafka record value that is no accounting record: the sessionizer dead-letters it. */
export class RecordSchemaError extends Error {
  override readonly name = 'RecordSchemaError'
  readonly code = 'RADSTREAM_RECORD_SCHEMA'
}
