import { sql } from 'kysely'
import { AUDIT_TIMESTAMP_FORMAT as MICROS, auditFinalHorizon, type AuditFieldChange, type Db } from '@radstream/db'
import type { AuditCursor } from './cursor'
import type { AuditLogRequest } from './params'

/** One item of the contract's auditLogs array. */
export interface AuditLogItem {
  readonly id: string
  /** ISO-8601 UTC with microseconds, e.g. 2024-01-15T10:30:00.123456Z. */
  readonly timestamp: string
  readonly initiatorType: string
  readonly initiatorId: string
  readonly operation: string
  readonly entityType: string
  readonly entityId: string
  readonly entityName: string
  readonly description: string
  readonly fields: readonly AuditFieldChange[]
  readonly requestId: string
}

export interface AuditLogPage {
  readonly items: AuditLogItem[]
  /** Where the next page starts, when there may be more; undefined when the window is exhausted. */
  readonly next: AuditCursor | undefined
}

/**
 * One page of the audit log in (occurred_at, chain_seq) order. chain_seq follows commit order (the
 * chain's lock is held to commit) and only events below the final horizon are served, so paging
 * gives every event exactly once and a poller never misses one that committed late. When the
 * window reaches past the horizon, the page carries a cursor even if it is short: more may come.
 */
export async function auditLogPage(db: Db, request: AuditLogRequest): Promise<AuditLogPage> {
  if (Date.parse(request.startDate) >= Date.parse(request.endDate)) return { items: [], next: undefined }
  const horizon = await auditFinalHorizon(db)
  const after = request.after
  const rows = await sql<AuditLogItem & { at: string; seq: string }>`
    select id::text as id,
      to_char(occurred_at at time zone 'UTC', ${sql.raw(MICROS)}) as timestamp,
      initiator_type as "initiatorType", initiator_id as "initiatorId", operation,
      entity_type as "entityType", entity_id as "entityId", entity_name as "entityName",
      description, fields, request_id as "requestId",
      to_char(occurred_at at time zone 'UTC', ${sql.raw(MICROS)}) as at, chain_seq::text as seq
    from audit_events
    where occurred_at >= ${request.startDate}::timestamptz
      and occurred_at < least(${request.endDate}::timestamptz, ${horizon}::timestamptz)
      ${request.initiatorId === null ? sql`` : sql`and initiator_id = ${request.initiatorId}`}
      ${after ? sql`and (occurred_at, chain_seq) > (${after.at}::timestamptz, ${after.seq}::bigint)` : sql``}
    order by occurred_at, chain_seq
    limit ${request.size + 1}`.execute(db)

  const more = rows.rows.length > request.size
  const served = rows.rows.slice(0, request.size)
  const items = served.map(({ at: _at, seq: _seq, ...item }) => item)
  const last = served.at(-1)
  const windowOpen = Date.parse(request.endDate) > Date.parse(horizon)
  if (!more && !windowOpen) return { items, next: undefined }
  const bound = {
    clientId: request.clientId,
    startDate: request.startDate,
    endDate: request.endDate,
    initiatorId: request.initiatorId,
  }
  // With nothing served, the next page starts where this one did.
  const position = last ? { at: last.at, seq: last.seq } : (after ?? { at: '-infinity', seq: '0' })
  return { items, next: { ...bound, ...position } }
}
