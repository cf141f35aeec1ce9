import '@fastify/jwt'
import type { FastifyInstance, FastifyReply } from 'fastify'
import { authenticateApiClient, type Db } from '@radstream/db'
import type { ApiMetrics } from '../metrics'
import { FailureThrottle, type FailureLimits } from './failure-throttle'

export interface TokenRouteOptions {
  readonly db: Db
  readonly tokenTtlSeconds: number
  readonly failureLimits: FailureLimits
  readonly metrics: ApiMetrics
}

interface TokenRequestBody {
  grant_type?: unknown
  client_id?: unknown
  client_secret?: unknown
  scope?: unknown
}

/** RFC 6749 section 5.2 error response. */
function oauthError(reply: FastifyReply, status: number, error: string, description: string) {
  return reply.code(status).header('cache-control', 'no-store').send({ error, error_description: description })
}

/** Longer client ids and secrets are refused before anything is counted or hashed (ours are far shorter). */
const MAX_CREDENTIAL_CHARS = 256

/** A form-urlencoded component of HTTP Basic (RFC 6749 2.3.1); undefined for a malformed %-escape. */
function formDecoded(text: string): string | undefined {
  try {
    return decodeURIComponent(text.replaceAll('+', ' '))
  } catch {
    return undefined
  }
}

/** Client id and secret from HTTP Basic (RFC 6749 2.3.1), else from the body; a string saying what is wrong otherwise. */
function clientCredentials(
  authorization: string | undefined,
  body: TokenRequestBody,
): { id: string; secret: string } | string {
  let credentials: { id: string | undefined; secret: string | undefined }
  if (authorization?.toLowerCase().startsWith('basic ')) {
    const decoded = Buffer.from(authorization.slice(6).trim(), 'base64').toString('utf8')
    const colon = decoded.indexOf(':')
    if (colon < 0) return 'HTTP Basic credentials must be client_id:client_secret'
    credentials = { id: formDecoded(decoded.slice(0, colon)), secret: formDecoded(decoded.slice(colon + 1)) }
    if (credentials.id === undefined || credentials.secret === undefined)
      return 'HTTP Basic credentials hold a malformed %-escape'
  } else if (typeof body.client_id === 'string' && typeof body.client_secret === 'string') {
    credentials = { id: body.client_id, secret: body.client_secret }
  } else {
    return 'client_id and client_secret are required'
  }
  if (credentials.id!.length > MAX_CREDENTIAL_CHARS || credentials.secret!.length > MAX_CREDENTIAL_CHARS)
    return `client_id and client_secret are at most ${MAX_CREDENTIAL_CHARS} characters`
  return { id: credentials.id!, secret: credentials.secret! }
}

/**
 * POST /api/v1/oauth/token: OAuth 2.0 client credentials. The body may be a form or JSON; the
 * credentials may come in it or as HTTP Basic. Answers a signed, expiring bearer token.
 */
export async function tokenRoute(app: FastifyInstance, options: TokenRouteOptions): Promise<void> {
  const throttle = new FailureThrottle(options.failureLimits)
  const { metrics } = options
  app.post('/api/v1/oauth/token', { config: { public: true } }, async (request, reply) => {
    const body = (request.body ?? {}) as TokenRequestBody
    if (body.grant_type !== 'client_credentials') {
      metrics.token('invalid_request')
      return oauthError(reply, 400, 'unsupported_grant_type', 'grant_type must be client_credentials')
    }
    const credentials = clientCredentials(request.headers.authorization, body)
    if (typeof credentials === 'string') {
      metrics.token('invalid_request')
      return oauthError(reply, 400, 'invalid_request', credentials)
    }
    // Checked before the secret's scrypt: a throttled guess costs no CPU.
    const retryAfter = throttle.retryAfterSeconds(credentials.id, request.ip)
    if (retryAfter > 0) {
      metrics.token('throttled')
      reply.header('retry-after', String(retryAfter))
      return oauthError(reply, 429, 'too_many_attempts', `too many failed attempts: retry after ${retryAfter} s`)
    }
    const attempt = throttle.begin(credentials.id, request.ip)
    const client = await authenticateApiClient(options.db, credentials.id, credentials.secret).catch(
      (error: unknown) => {
        // Not a failed guess (the database is down, say): it must not lock the client out.
        throttle.withdraw(credentials.id, request.ip, attempt)
        throw error
      },
    )
    if (!client) {
      metrics.token('invalid_client')
      // RFC 6749 5.2: a client that authenticated with HTTP Basic is challenged again. One that sent
      // its credentials in the body is not: a Basic challenge makes a browser open its own password
      // dialog over the console's sign-in form.
      if (/^basic /i.test(request.headers.authorization ?? ''))
        reply.header('www-authenticate', 'Basic realm="radstream"')
      return oauthError(reply, 401, 'invalid_client', 'unknown client or wrong secret')
    }
    throttle.succeeded(credentials.id, request.ip, attempt)

    const asked = typeof body.scope === 'string' && body.scope.trim() ? body.scope.trim().split(/\s+/) : client.scopes
    const granted = asked.filter((s) => (client.scopes as string[]).includes(s))
    if (granted.length !== asked.length) {
      metrics.token('invalid_scope')
      return oauthError(reply, 400, 'invalid_scope', `this client may have: ${client.scopes.join(' ')}`)
    }
    metrics.token('issued')
    const scope = granted.join(' ')
    // Seconds: @fastify/jwt reads a number as jsonwebtoken did (it was given milliseconds, and tokens
    // lived a thousand times their TTL).
    const token = app.jwt.sign({ scope }, { sub: client.id, expiresIn: options.tokenTtlSeconds })
    return reply.header('cache-control', 'no-store').send({
      access_token: token,
      token_type: 'bearer',
      expires_in: options.tokenTtlSeconds,
      scope,
    })
  })
}
