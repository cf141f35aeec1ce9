import { listApiClients, revokeAuditedApiClient, rotateAuditedApiClientSecret, type Db } from '@radstream/db'
import { apiInitiator, type Principal } from '../auth/principal'
import { ApiError } from '../errors'

/** The grace a rotated secret gets unless told: a day to roll the new one out. */
const DEFAULT_GRACE_SECONDS = 86_400

interface Context {
  readonly principal: Principal
  readonly requestId: string
}

const clientNotFound = (clientId: string) => new ApiError('CLIENT_NOT_FOUND', `no active API client ${clientId}`)

type ListedClient = Awaited<ReturnType<typeof listApiClients>>[number]

function apiClientView(client: ListedClient) {
  return {
    id: client.id,
    name: client.name,
    scopes: client.scopes,
    reseller: client.reseller,
    auditHistoryDays: client.audit_history_days,
    rateLimitPerMinute: client.rate_limit_per_minute,
    createdAt: client.created_at,
    secretRotatedAt: client.secret_rotated_at,
    previousSecretValidUntil: client.previous_secret_expires_at,
    revokedAt: client.revoked_at,
  }
}

/** Listing, rotating and revoking API clients: admins only (the caller checks), every change audited. */
export function apiClientOperations(db: Db) {
  return {
    async list(includeRevoked: boolean) {
      const clients = await listApiClients(db)
      return clients.filter((c) => includeRevoked || c.revoked_at === null).map(apiClientView)
    },

    async rotate(ctx: Context, clientId: string, graceSeconds: number | null | undefined) {
      const grace = graceSeconds ?? DEFAULT_GRACE_SECONDS
      if (!Number.isInteger(grace) || grace < 0)
        throw new ApiError('BAD_USER_INPUT', 'graceSeconds: must be 0 or more seconds')
      const rotated = await rotateAuditedApiClientSecret(db, apiInitiator(ctx), clientId, grace)
      if (!rotated) throw clientNotFound(clientId)
      return { clientId, ...rotated }
    },

    async revoke(ctx: Context, clientId: string) {
      if (!(await revokeAuditedApiClient(db, apiInitiator(ctx), clientId))) throw clientNotFound(clientId)
      const [revoked] = await listApiClients(db, { id: clientId })
      return apiClientView(revoked!)
    },
  }
}
