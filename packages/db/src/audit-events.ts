import { sql } from 'kysely'
import type { Db } from './connection'
import { pgArray, type ArrayElement } from './pg-array'
import type { AuditFieldChange } from './schema'

/** CLI: an operator at a shell; its id is the OS user and host (user@host). */
export type InitiatorType = 'USER' | 'SYSTEM' | 'API_CLIENT' | 'CLI'
/** DISCONNECT and CHANGE: a Disconnect- or CoA-Request sent to a NAS (RFC 5176), and its outcome. */
export type AuditOperation = 'CREATE' | 'UPDATE' | 'DELETE' | 'REJECT' | 'DISCONNECT' | 'CHANGE'
export type AuditEntityType = 'SESSION' | 'USER' | 'NAS' | 'RECORD' | 'RESELLER' | 'API_CLIENT'

/** One audit event to write; `eventKey` names its cause so that writing it twice writes it once. */
export interface NewAuditEvent {
  readonly eventKey: string
  readonly initiatorType: InitiatorType
  /** Empty for events radstream itself initiates; they cannot be found by initiator. */
  readonly initiatorId: string
  /** The initiator as a person reads it: an API client's name, a user's name, an operator's login. */
  readonly initiatorName?: string | null
  /** Where the change came from: the caller's address for API and CLI changes. */
  readonly initiatorPublicIp?: string | null
  readonly operation: AuditOperation
  readonly entityType: AuditEntityType
  readonly entityId: string
  readonly entityName: string
  /** What the entity belongs to: a session's user, a user's reseller. */
  readonly entityParent?: { readonly type: 'USER' | 'RESELLER'; readonly id: string; readonly name: string } | null
  readonly description: string
  readonly fields: readonly AuditFieldChange[]
  readonly requestId?: string
}

type Executor = Pick<Db, 'executeQuery'>

/**
 * The lanes of the audit chain (migration 0017): each a hash-linked sequence of its own, so that
 * writers of different lanes never wait for each other. A Kafka partition's sessionizer batches
 * append to its partition's lane; the API, the CLI and the maintenance sweeps each to their own.
 */
export const auditLanes = {
  partition: (partition: number) => `partition-${partition}`,
  api: 'api',
  cli: 'cli',
  maintenance: 'maintenance',
} as const

/** The lane of events made by a person through the API or the CLI. */
function laneOf(events: readonly NewAuditEvent[]): string {
  const kinds = new Set(events.map((e) => e.initiatorType))
  if (kinds.size === 1 && kinds.has('API_CLIENT')) return auditLanes.api
  if (kinds.size === 1 && kinds.has('CLI')) return auditLanes.cli
  throw new Error(`audit events of ${[...kinds].join(', ')}: say which lane they go to`)
}

/** append_audit_events as has_function_privilege names it. */
export const APPEND_AUDIT_EVENTS =
  'append_audit_events(text, text[], text[], text[], text[], inet[], text[], text[], text[], text[], text[], text[], text[], text[], jsonb[], text[])'

/**
 * Appends audit events to a lane in one statement, skipping any whose key was written before (a
 * replayed batch). Runs inside the caller's transaction, so an event commits with the change it
 * describes; the lane's lock is held to commit. Without a lane, events of the API or of the CLI
 * go to theirs. Returns how many were appended and how long the lane's lock was waited for.
 */
export async function insertAuditEvents(
  db: Executor,
  events: readonly NewAuditEvent[],
  lane: string = laneOf(events),
): Promise<{ appended: number; lockWaitMs: number }> {
  if (events.length === 0) return { appended: 0, lockWaitMs: 0 }
  const column = (pick: (e: NewAuditEvent) => ArrayElement) => pgArray(events.map(pick))
  const { rows } = await sql<{ appended: number; lock_wait_us: string }>`
    select * from append_audit_events(${lane}::text,
      ${column((e) => e.eventKey)}::text[], ${column((e) => e.initiatorType)}::text[],
      ${column((e) => e.initiatorId)}::text[], ${column((e) => e.initiatorName ?? null)}::text[],
      ${column((e) => e.initiatorPublicIp ?? null)}::inet[], ${column((e) => e.operation)}::text[],
      ${column((e) => e.entityType)}::text[], ${column((e) => e.entityId)}::text[],
      ${column((e) => e.entityName)}::text[], ${column((e) => e.entityParent?.type ?? null)}::text[],
      ${column((e) => e.entityParent?.id ?? null)}::text[], ${column((e) => e.entityParent?.name ?? null)}::text[],
      ${column((e) => e.description)}::text[], ${column((e) => JSON.stringify(e.fields))}::jsonb[],
      ${column((e) => e.requestId ?? '')}::text[])`.execute(db as Db)
  return { appended: rows[0]!.appended, lockWaitMs: Number(rows[0]!.lock_wait_us) / 1000 }
}

/** to_char's format for audit timestamps: ISO-8601 UTC with microseconds. */
export const AUDIT_TIMESTAMP_FORMAT = `'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'`

/**
 * The instant before which every audit event that will ever exist is already committed: the
 * earliest start of any transaction now writing in this database (an event's timestamp is taken
 * inside its transaction, so it cannot be earlier; another database's writers write none here),
 * capped by the clock read before looking. Read in its own
 * statements, before the page's, so that the page's snapshot sees everything below it.
 */
export async function auditFinalHorizon(db: Db): Promise<string> {
  const clock = await sql<{
    t: string
  }>`select to_char(clock_timestamp() at time zone 'UTC', ${sql.raw(AUDIT_TIMESTAMP_FORMAT)}) as t`.execute(db)
  const writers = await sql<{ t: string | null }>`
    select to_char(min(xact_start) at time zone 'UTC', ${sql.raw(AUDIT_TIMESTAMP_FORMAT)}) as t
    from pg_stat_activity
    where backend_xid is not null and pid <> pg_backend_pid() and datname = current_database()`.execute(db)
  const now = clock.rows[0]!.t
  const oldestWriter = writers.rows[0]?.t
  return oldestWriter && oldestWriter < now ? oldestWriter : now
}

/** How many days audit events are kept: the database's own setting, which only its owner changes. */
export async function auditRetentionDays(db: Db): Promise<number> {
  const { rows } = await sql<{ days: number }>`select retention_days as days from audit_settings`.execute(db)
  return rows[0]?.days ?? 0
}
