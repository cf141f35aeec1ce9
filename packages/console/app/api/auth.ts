import { signal } from '@preact/signals'

/** What the token endpoint granted: the token lives here, in memory only, never in storage. */
export interface Grant {
  readonly clientId: string
  readonly token: string
  readonly scopes: readonly string[]
  readonly expiresAt: number
}

export const grant = signal<Grant | null>(null)
/** Why the sign-in form is shown again (expired, revoked), for the form to say. */
export const signInReason = signal<string | null>(null)

let expiryTimer: ReturnType<typeof setTimeout> | undefined

interface TokenResponse {
  access_token?: string
  expires_in?: number
  scope?: string
  error?: string
  error_description?: string
}

/** Exchanges an API client's id and secret for a token at the API's own endpoint (client credentials). */
export async function signIn(clientId: string, clientSecret: string): Promise<void> {
  const response = await fetch('/api/v1/oauth/token', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret }),
  })
  const body = (await response.json().catch(() => ({}))) as TokenResponse
  if (!response.ok || !body.access_token) {
    if (response.status === 429) throw new Error('Too many failed sign-ins: wait a minute and try again.')
    if (body.error === 'invalid_client') throw new Error('Unknown client id or wrong secret.')
    throw new Error(body.error_description ?? `The token endpoint answered ${response.status}.`)
  }
  const expiresInMs = (body.expires_in ?? 3600) * 1000
  clearTimeout(expiryTimer)
  // Asked again a little before the API would start refusing the token.
  expiryTimer = setTimeout(() => signOut('Your session expired: sign in again.'), Math.max(expiresInMs - 5000, 1000))
  signInReason.value = null
  grant.value = {
    clientId,
    token: body.access_token,
    scopes: (body.scope ?? '').split(' ').filter(Boolean),
    expiresAt: Date.now() + expiresInMs,
  }
}

export function signOut(reason: string | null = null): void {
  clearTimeout(expiryTimer)
  signInReason.value = reason
  grant.value = null
}

export const hasScope = (scope: string) => grant.value?.scopes.includes(scope) ?? false
/** GraphQL serves admins and resellers; an auditor's token reads only the audit log. */
export const canQuery = () => hasScope('admin') || hasScope('reseller')
export const canReadAudit = () => hasScope('admin') || hasScope('auditor')
