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
  const errors = formatted.response.errors?.map((error) => {
    if (!error.extensions?.code) return error
    const { locations: _locations, ...rest } = error
    return rest
  })
  return { ...formatted, response: { ...formatted.response, ...(errors && { errors }) } }
}
