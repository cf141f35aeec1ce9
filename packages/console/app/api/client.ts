import { grant, signOut } from './auth'

/** A refusal or failure of the API, with its error code (BAD_USER_INPUT, USER_NOT_FOUND, ...). */
export class ApiFailure extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly status: number,
  ) {
    super(message)
  }
}

function bearer(): string {
  const current = grant.value
  if (!current) throw new ApiFailure('Not signed in.', 'UNAUTHENTICATED', 401)
  return `Bearer ${current.token}`
}

/** A 401 means the token expired or the client was revoked: back to the sign-in form. */
function refuseUnauthenticated(status: number): void {
  if (status === 401) signOut('The API no longer accepts this sign-in: sign in again.')
}

interface GraphqlBody<T> {
  data?: T | null
  errors?: { message: string; extensions?: { code?: string } }[]
}

export async function graphql<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const response = await fetch('/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: bearer() },
    body: JSON.stringify({ query, variables }),
  })
  refuseUnauthenticated(response.status)
  const body = (await response.json().catch(() => ({}))) as GraphqlBody<T>
  const error = body.errors?.[0]
  if (error) throw new ApiFailure(error.message, error.extensions?.code ?? 'ERROR', response.status)
  if (!response.ok || !body.data) throw new ApiFailure(`The API answered ${response.status}.`, 'ERROR', response.status)
  return body.data
}

/** A GET of the REST API with query parameters (those undefined or empty left out). */
export async function rest<T>(path: string, parameters: Record<string, string | number | undefined>): Promise<T> {
  const query = new URLSearchParams()
  for (const [name, value] of Object.entries(parameters))
    if (value !== undefined && value !== '') query.set(name, String(value))
  const response = await fetch(`${path}?${query}`, { headers: { authorization: bearer() } })
  refuseUnauthenticated(response.status)
  const body = (await response.json().catch(() => ({}))) as T & { error?: string; message?: string }
  if (!response.ok)
    throw new ApiFailure(body.message ?? `The API answered ${response.status}.`, body.error ?? 'ERROR', response.status)
  return body
}
