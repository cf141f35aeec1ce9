import '@fastify/jwt'
import type { FastifyInstance } from 'fastify'
import { findApiClient, type ApiScope, type Db } from '@radstream/db'
import { ApiError } from '../errors'
import type { Principal } from './principal'

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal
  }
}

const CLIENT_CACHE_MS = 5000

function unauthenticated(description: string): ApiError {
  return new ApiError('UNAUTHENTICATED', description, {
    'www-authenticate': `Bearer realm="radstream", error="invalid_token", error_description="${description}"`,
  })
}

/**
 * Verifies bearer tokens: the signature and expiry (HS256 only: `alg: none` and every other
 * algorithm are refused), then that the client still exists and is not revoked (cached for 5 s,
 * so a revocation takes effect within seconds).
 */
export function createAuthenticator(app: FastifyInstance, db: Db) {
  const clients = new Map<
    string,
    { at: number; client: (Omit<Principal, 'scopes' | 'tokenExpiresAt'> & { scopes: readonly ApiScope[] }) | undefined }
  >()

  async function principalOf(
    clientId: string,
    tokenScopes: readonly string[],
    tokenExpiresAt: number,
  ): Promise<Principal | undefined> {
    let cached = clients.get(clientId)
    if (!cached || Date.now() - cached.at > CLIENT_CACHE_MS) {
      const row = await findApiClient(db, clientId)
      cached = {
        at: Date.now(),
        client: row && {
          clientId: row.id,
          clientName: row.name,
          scopes: row.scopes,
          resellerId: row.reseller_id,
          auditHistoryDays: row.audit_history_days,
          rateLimitPerMinute: row.rate_limit_per_minute,
        },
      }
      clients.set(clientId, cached)
    }
    if (!cached.client) return undefined
    // The token's scopes, as granted, within what the client may still have.
    const scopes = cached.client.scopes.filter((s) => tokenScopes.includes(s))
    return { ...cached.client, scopes, tokenExpiresAt }
  }

  /** The principal of an Authorization header value, or an ApiError (401, or 403 without a needed scope). */
  return async function authenticate(header: string | undefined, required: readonly ApiScope[]): Promise<Principal> {
    if (!header) throw unauthenticated('a bearer token is required')
    const [kind, token] = header.split(' ')
    if (kind?.toLowerCase() !== 'bearer' || !token)
      throw unauthenticated('the Authorization header must be: Bearer <token>')
    let claims: { sub?: unknown; scope?: unknown; exp?: unknown }
    try {
      claims = app.jwt.verify(token)
    } catch (error) {
      const code = (error as { code?: string }).code ?? ''
      throw unauthenticated(code.includes('EXPIRED') ? 'the token has expired' : 'the token is not valid')
    }
    if (typeof claims.sub !== 'string' || typeof claims.scope !== 'string' || typeof claims.exp !== 'number')
      throw unauthenticated('the token is not valid')
    const principal = await principalOf(claims.sub, claims.scope.split(' '), claims.exp * 1000)
    if (!principal) throw unauthenticated('the client of this token is revoked or unknown')
    if (!required.some((scope) => principal.scopes.includes(scope))) {
      throw new ApiError('FORBIDDEN', `this operation needs one of the scopes: ${required.join(', ')}`, {
        'www-authenticate': `Bearer realm="radstream", error="insufficient_scope", scope="${required.join(' ')}"`,
      })
    }
    return principal
  }
}

export type Authenticate = ReturnType<typeof createAuthenticator>
