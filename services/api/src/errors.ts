/**
 * The API's error catalogue: one stable code per failure, with its HTTP status. GraphQL puts the
 * code in `extensions.code`; REST in `error`.
 */
export const apiErrors = {
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  USER_NOT_FOUND: 404,
  SESSION_NOT_FOUND: 404,
  CLIENT_NOT_FOUND: 404,
  SESSION_ALREADY_STOPPED: 409,
  NAS_WITHOUT_DAE: 409,
  BAD_USER_INPUT: 400,
  QUERY_TOO_COMPLEX: 400,
  HISTORY_TOO_LARGE: 400,
  RATE_LIMITED: 429,
  SERVICE_UNAVAILABLE: 503,
} as const

export type ApiErrorCode = keyof typeof apiErrors

/** A REST parameter that is wrong: 400, naming the parameter and the reason. */
export function badParameter(parameter: string, message: string): ApiError {
  return new ApiError('BAD_USER_INPUT', `${parameter}: ${message}`, {}, { parameter })
}

export class ApiError extends Error {
  override readonly name = 'ApiError'
  readonly statusCode: number
  constructor(
    readonly code: ApiErrorCode,
    message: string,
    /** Extra response headers, such as WWW-Authenticate. */
    readonly headers: Readonly<Record<string, string>> = {},
    /** Extra fields of a REST error body, such as the parameter at fault. */
    readonly details: Readonly<Record<string, string>> = {},
  ) {
    super(message)
    this.statusCode = apiErrors[code]
  }
}
