import { sql } from 'kysely'
import { pgArray, type Db } from '@radstream/db'
import type { Logger } from '@radstream/config'
import type { Principal } from '../auth/principal'

/** The part of a WebSocket the guard uses. */
export interface GuardedSocket {
  close(code: number, reason: string): void
  once(event: 'close', listener: () => void): unknown
}

/** graphql-transport-ws's close code for a client that is not (or no longer) authorised. */
export const UNAUTHORISED_CLOSE = 4403

/**
 * Ends subscription sockets whose principal has lapsed: at its token's expiry, and within a second
 * of its client's revocation (the schema promises 5 s). A socket's principal is fixed when it
 * connects; without this an expired or revoked client kept receiving events for as long as it kept
 * the socket open. One timer and one query a tick for all sockets, only while any is open.
 */
export class SubscriptionGuard {
  private readonly sockets = new Map<GuardedSocket, { clientId: string; expiresAt: number }>()
  private timer: NodeJS.Timeout | undefined
  private checking = false

  constructor(
    private readonly db: Db,
    private readonly logger: Logger,
    private readonly intervalMs = 1000,
  ) {}

  /** Watches a socket for its principal's lapse, until it closes. Watching twice is watching once. */
  watch(socket: GuardedSocket, principal: Principal): void {
    if (this.sockets.has(socket)) return
    this.sockets.set(socket, { clientId: principal.clientId, expiresAt: principal.tokenExpiresAt })
    socket.once('close', () => this.sockets.delete(socket))
    this.timer ??= setInterval(() => void this.check(), this.intervalMs).unref()
  }

  stop(): void {
    clearInterval(this.timer)
    this.timer = undefined
  }

  private async check(): Promise<void> {
    if (this.checking) return
    if (this.sockets.size === 0) return this.stop()
    this.checking = true
    try {
      const now = Date.now()
      for (const [socket, { expiresAt }] of this.sockets)
        if (expiresAt <= now) this.end(socket, 'the token has expired')
      const clientIds = [...new Set([...this.sockets.values()].map((s) => s.clientId))]
      if (clientIds.length === 0) return
      const { rows } = await sql<{ id: string }>`
        select id from api_clients where id = any(${pgArray(clientIds)}::text[]) and revoked_at is null`.execute(
        this.db,
      )
      const active = new Set(rows.map((r) => r.id))
      for (const [socket, { clientId }] of this.sockets)
        if (!active.has(clientId)) this.end(socket, 'the client of this token is revoked')
    } catch (error) {
      this.logger.warn({ err: error }, 'subscription guard could not check its clients; retrying')
    } finally {
      this.checking = false
    }
  }

  private end(socket: GuardedSocket, reason: string): void {
    this.sockets.delete(socket)
    socket.close(UNAUTHORISED_CLOSE, reason)
  }
}
