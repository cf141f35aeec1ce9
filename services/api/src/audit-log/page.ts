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
  readonly initiatorName: string | null
  readonly initiatorPublicIp: string | null
  readonly operation: string
  readonly entityType: string
  readonly entityId: string
  readonly entityName: string
  readonly entityParentType: string | null
  readonly entityParentId: string | null
  readonly entityParentName: string | null
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
 * One page of the audit log in (occurred_at, id) order. Only events below the final horizon are
 * served (every writer that could still add one before it has committed), so whatever the lanes
 * writing at once, paging gives every event exactly once and a poller never misses one that
 * committed late. When the window reaches past the horizon, the page carries a cursor even if it
 * is short: more may come.
 */
export async function auditLogPage(db: Db, request: AuditLogRequest): Promise<AuditLogPage> {
  if (Date.parse(request.startDate) >= Date.parse(request.endDate)) return { items: [], next: undefined }
  const horizon = await auditFinalHorizon(db)
  const after = request.after
  const rows = await sql<AuditLogItem>`
    select id::text as id,
      to_char(occurred_at at time zone 'UTC', ${sql.raw(MICROS)}) as timestamp,
      initiator_type as "initiatorType", initiator_id as "initiatorId", initiator_name as "initiatorName",
      host(initiator_public_ip) as "initiatorPublicIp", operation,
      entity_type as "entityType", entity_id as "entityId", entity_name as "entityName",
      entity_parent_type as "entityParentType", entity_parent_id as "entityParentId",
      entity_parent_name as "entityParentName", description, fields, request_id as "requestId"
    from audit_events
    where occurred_at >= ${request.startDate}::timestamptz
      and occurred_at < least(${request.endDate}::timestamptz, ${horizon}::timestamptz)
      ${request.initiatorId === null ? sql`` : sql`and initiator_id = ${request.initiatorId}`}
      ${after ? sql`and (occurred_at, id) > (${after.at}::timestamptz, ${after.seq}::bigint)` : sql``}
    -- Qualified: a bare id is the output column, text, which sorts 1001 before 101.
    order by audit_events.occurred_at, audit_events.id
    limit ${request.size + 1}`.execute(db)

  const more = rows.rows.length > request.size
  const items = rows.rows.slice(0, request.size)
  const last = items.at(-1)
  const windowOpen = Date.parse(request.endDate) > Date.parse(horizon)
  if (!more && !windowOpen) return { items, next: undefined }
  const bound = {
    clientId: request.clientId,
    startDate: request.startDate,
    endDate: request.endDate,
    initiatorId: request.initiatorId,
  }
  // The cursor is the last item's timestamp (to the microsecond) and id; with nothing served, the
  // next page starts where this one did.
  const position = last ? { at: last.timestamp, seq: last.id } : (after ?? { at: '-infinity', seq: '0' })
  return { items, next: { ...bound, ...position } }
}
