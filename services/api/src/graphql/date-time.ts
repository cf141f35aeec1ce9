import { GraphQLError, GraphQLScalarType, Kind } from 'graphql'
import { parseInstant } from '../instant'

/**
 * ISO-8601 UTC with Z, as the contract shows ("2024-01-15T10:30:00Z"): whole seconds, which is
 * what RADIUS carries, and milliseconds only when the instant has them.
 */
export function formatDateTime(date: Date): string {
  return date.toISOString().replace('.000Z', 'Z')
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
