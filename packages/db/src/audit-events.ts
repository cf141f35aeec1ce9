import { sql } from 'kysely'
import { AUDIT_CHAIN_LOCK } from '../../../migrations/0004_audit_chain'
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
  readonly operation: AuditOperation
  readonly entityType: AuditEntityType
  readonly entityId: string
  readonly entityName: string
  readonly description: string
  readonly fields: readonly AuditFieldChange[]
  readonly requestId?: string
}

type Executor = Pick<Db, 'executeQuery'>

/**
 * Appends audit events in one statement, skipping any whose key was written before (a replayed
 * batch). Runs inside the caller's transaction, so an event commits with the change it describes.
 */
export async function insertAuditEvents(db: Executor, events: readonly NewAuditEvent[]): Promise<void> {
  if (events.length === 0) return
  const column = (pick: (e: NewAuditEvent) => ArrayElement) => pgArray(events.map(pick))
  // One chain step for the batch (migration 0013): events already in the chain are left out.
  await sql`
    select append_audit_events(
      ${column((e) => e.eventKey)}::text[], ${column((e) => e.initiatorType)}::text[],
      ${column((e) => e.initiatorId)}::text[], ${column((e) => e.operation)}::text[],
      ${column((e) => e.entityType)}::text[], ${column((e) => e.entityId)}::text[],
      ${column((e) => e.entityName)}::text[], ${column((e) => e.description)}::text[],
      ${column((e) => JSON.stringify(e.fields))}::jsonb[], ${column((e) => e.requestId ?? '')}::text[])`.execute(
    db as Db,
  )
}

/**
 * Takes the audit chain's lock (append_audit_events takes it too) for the rest of the caller's
 * transaction. Transactions that take it run the rest one after another, each after the one before
 * has committed: so, under READ COMMITTED, each of their statements sees every row the earlier ones
 * wrote.
 */
export async function lockAuditChain(db: Executor): Promise<void> {
  await sql`select pg_advisory_xact_lock(${sql.raw(String(AUDIT_CHAIN_LOCK))})`.execute(db as Db)
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
