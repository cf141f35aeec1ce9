import type { ExecutionResult } from 'graphql'
import mercurius, { type MercuriusContext } from 'mercurius'
import { isDatabaseDown } from '../database-errors'

/**
 * Mercurius's formatter (HTTP status from ErrorWithProps), minus `locations` on errors that carry
 * our own code: the contract's USER_NOT_FOUND body is exactly message, path and extensions.
 * Syntax and validation errors keep their locations, which help a client find the mistake.
 */
export function formatErrors(
  execution: ExecutionResult & Required<Pick<ExecutionResult, 'errors'>>,
  context: MercuriusContext,
) {
  // The database gone, wherever it was noticed (a resolver, or the authentication that runs before
  // one): 503 with a clear message, never an internal error.
  if (execution.errors.some((error) => isDatabaseDown(error.originalError ?? error))) {
    return {
      statusCode: 503,
      response: {
        data: null,
        errors: [
          { message: 'the database is unavailable; retry shortly', extensions: { code: 'SERVICE_UNAVAILABLE' } },
        ],
      },
    }
  }
  const formatted = mercurius.defaultErrorFormatter(execution, context)
  const noData = formatted.response.data === null || formatted.response.data === undefined
  let requestErrors = 0
  const errors = formatted.response.errors?.map((error) => {
    const code = error.extensions?.code ?? requestErrorCode(error, noData)
    if (code === undefined) return error
    if (REQUEST_ERROR_CODES.has(code as string)) requestErrors++
    if (error.extensions?.code) {
      const { locations: _locations, ...rest } = error
      return rest
    }
    return { ...error, extensions: { ...error.extensions, code } }
  })
  // A request the server could not run as sent (it does not parse, validate or coerce): 400, with
  // or without graphql-jit, never graphql-over-http's 200 for a request error.
  const statusCode = noData && errors?.length && requestErrors === errors.length ? 400 : formatted.statusCode
  return { statusCode, response: { ...formatted.response, ...(errors && { errors }) } }
}

/** Codes of errors in the request itself, before any resolver ran. */
const REQUEST_ERROR_CODES = new Set([
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_USER_INPUT',
  'QUERY_TOO_COMPLEX',
])

/**
 * The code of an error graphql-js or graphql-jit made without one: a syntax error, a variable that
 * does not coerce to its type (an out-of-range or string Int), or, with no data and no path, a
 * validation error. A resolver's error always has a path.
 */
function requestErrorCode(error: { message: string; path?: unknown }, noData: boolean): string | undefined {
  if (error.message.startsWith('Syntax Error')) return 'GRAPHQL_PARSE_FAILED'
  if (/^Variable "\$[^"]+" /.test(error.message)) return 'BAD_USER_INPUT'
  if (noData && error.path === undefined) return 'GRAPHQL_VALIDATION_FAILED'
  return undefined
}
