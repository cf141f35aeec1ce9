import { GraphQLError, GraphQLScalarType, Kind } from 'graphql'
import { dateOfDay } from '@radstream/db'
import { parseInstant } from '../instant'

const DAY_MS = 86_400_000
/** 10000-01-01T00:00:00Z: the instants before it, from 1970 on, have four-digit years. */
const YEAR_10000_MS = 253_402_300_800_000

const twoDigits = (n: number) => (n < 10 ? `0${n}` : `${n}`)

/**
 * ISO-8601 UTC with Z, as the contract shows ("2024-01-15T10:30:00Z"): whole seconds, which is
 * what RADIUS carries, and milliseconds only when the instant has them. Written from the day
 * number (@radstream/db's calendar): toISOString costs twice as much, and a page of sessions
 * formats two or three instants a row. Instants before 1970 or from 10000 on go through
 * toISOString.
 */
export function formatDateTime(date: Date): string {
  const time = date.getTime()
  if (!(time >= 0 && time < YEAR_10000_MS)) return date.toISOString().replace('.000Z', 'Z')
  const days = Math.floor(time / DAY_MS)
  const ofDay = time - days * DAY_MS
  const { year, month, day } = dateOfDay(days)
  const ms = ofDay % 1000
  const seconds = (ofDay - ms) / 1000
  const text = `${year}-${twoDigits(month)}-${twoDigits(day)}T${twoDigits(Math.floor(seconds / 3600))}:${twoDigits(
    Math.floor(seconds / 60) % 60,
  )}:${twoDigits(seconds % 60)}`
  return ms === 0 ? `${text}Z` : `${text}.${String(ms).padStart(3, '0')}Z`
}

function parseDateTime(text: string): Date {
  const ms = parseInstant(text)
  if (ms === undefined) {
    throw new GraphQLError(
      `DateTime must be an ISO-8601 instant such as 2024-01-15T10:30:00Z, got ${JSON.stringify(text)}`,
      {
        extensions: { code: 'BAD_USER_INPUT' },
      },
    )
  }
  return new Date(ms)
}

export const DateTimeScalar = new GraphQLScalarType<Date, string>({
  name: 'DateTime',
  description: 'An instant in ISO-8601 UTC, e.g. 2024-01-15T10:30:00Z',
  serialize(value) {
    if (!(value instanceof Date)) throw new TypeError('DateTime must be serialized from a Date')
    return formatDateTime(value)
  },
  parseValue(value) {
    if (typeof value !== 'string')
      throw new GraphQLError('DateTime must be a string', { extensions: { code: 'BAD_USER_INPUT' } })
    return parseDateTime(value)
  },
  parseLiteral(ast) {
    if (ast.kind !== Kind.STRING)
      throw new GraphQLError('DateTime must be a string', { extensions: { code: 'BAD_USER_INPUT' } })
    return parseDateTime(ast.value)
  },
})
