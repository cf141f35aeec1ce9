import type { ApiScope, Initiator } from '@radstream/db'

/** Who is calling: an API client, as its token and its current database row say. */
export interface Principal {
  readonly clientId: string
  /** The client's name, as audit events show who did what. */
  readonly clientName: string
  readonly scopes: readonly ApiScope[]
  /** Set for reseller clients: they see only this reseller's users. */
  readonly resellerId: number | null
  readonly auditHistoryDays: number
  readonly rateLimitPerMinute: number
  /** When the token it came with expires (ms since the epoch): what outlives a request must end then. */
  readonly tokenExpiresAt: number
}

export function isAdmin(principal: Principal): boolean {
  return principal.scopes.includes('admin')
}

/** The reseller a principal is confined to, or undefined for an admin who sees everything. */
export function resellerScope(principal: Principal): number | undefined {
  return isAdmin(principal) ? undefined : (principal.resellerId ?? -1)
}

/** The principal as the initiator of what its request changes, for audit events, from where it called. */
export function apiInitiator(ctx: { principal: Principal; requestId: string; ip?: string | undefined }): Initiator {
  return {
    type: 'API_CLIENT',
    id: ctx.principal.clientId,
    requestId: ctx.requestId,
    name: ctx.principal.clientName,
    publicIp: ctx.ip ?? null,
  }
}
