import { createRequire } from 'node:module'

export type LogLevelName = 'error' | 'warn' | 'info' | 'debug'

/** One kafkajs log entry, as its logCreator gets it. */
export interface KafkaLogEntry {
  readonly level: LogLevelName
  readonly message: string
  readonly extra: Readonly<Record<string, unknown>>
}

// kafkajs's own table of protocol errors (pinned 2.2.4): which ones it retries.
const { errorCodes } = createRequire(import.meta.url)('kafkajs/src/protocol/error.js') as {
  errorCodes: readonly { message: string; retriable: boolean }[]
}
const RETRIABLE_PROTOCOL_ERRORS = new Set(errorCodes.filter((e) => e.retriable).map((e) => e.message))

/**
 * Messages that say what radstream chose on purpose: the collector bounds its idempotent
 * producer's retries so that a dead broker becomes "no answer" (the NAS retransmits) within
 * seconds, and a record written twice is harmless to the sessionizer.
 */
const DELIBERATE = new Set(['Limiting retries for the idempotent producer may invalidate EoS guarantees'])

/**
 * The level a kafkajs entry deserves in radstream's log. kafkajs logs at error every failed
 * request it is about to retry (a broker's group coordinator still loading, a leader moving), so
 * a normal start would log errors; those become debug, and retries kafkajs announces become warn.
 * What it gives up on still reaches radstream as an exception, logged where it is handled.
 */
export function kafkaLogLevel(entry: KafkaLogEntry): LogLevelName {
  if (DELIBERATE.has(entry.message)) return 'debug'
  if (entry.level !== 'error') return entry.level
  const error = entry.extra.error
  if (typeof error === 'string' && RETRIABLE_PROTOCOL_ERRORS.has(error)) return 'debug'
  if (entry.extra.retryCount !== undefined) return 'warn'
  return 'error'
}
