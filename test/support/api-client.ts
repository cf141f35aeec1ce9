import { createApiClient, type ApiScope, type Db } from '@radstream/db'

export interface ApiCredentials {
  readonly clientId: string
  readonly clientSecret: string
}

/** A new API client in the database, as `radstream client create` makes one. */
export function newApiClient(
  db: Db,
  scopes: ApiScope[],
  reseller?: string,
  limits: { auditHistoryDays?: number; rateLimitPerMinute?: number } = {},
) {
  return createApiClient(db, {
    name: `test-${scopes.join('-')}-${Math.random().toString(36).slice(2)}`,
    scopes,
    resellerName: reseller,
    auditHistoryDays: limits.auditHistoryDays,
    rateLimitPerMinute: limits.rateLimitPerMinute,
  })
}

/** A request to the real token endpoint (client credentials, form body), answered as it is. */
export function requestToken(baseUrl: string, credentials: ApiCredentials): Promise<Response> {
  return fetch(`${baseUrl}/api/v1/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: credentials.clientId,
      client_secret: credentials.clientSecret,
    }),
  })
}

/** An access token from the real token endpoint. */
export async function accessToken(baseUrl: string, credentials: ApiCredentials): Promise<string> {
  const response = await requestToken(baseUrl, credentials)
  const body = (await response.json()) as { access_token?: string }
  if (response.status !== 200 || !body.access_token)
    throw new Error(`token endpoint answered ${response.status}: ${JSON.stringify(body)}`)
  return body.access_token
}

/** A GraphQL request over HTTP as `token`; the status and the parsed body. */
export async function graphqlAs(
  baseUrl: string,
  token: string,
  query: string,
  variables: Record<string, unknown> = {},
): Promise<{ status: number; body: Record<string, any> }> {
  const response = await fetch(`${baseUrl}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  })
  return { status: response.status, body: (await response.json()) as Record<string, any> }
}
