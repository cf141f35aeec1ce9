import { sql, type Kysely } from 'kysely'
import { appendAuditEventsFunction, PURGE_EXPIRED_AUDIT_EVENTS } from './0017_audit_lanes'
import {
  ensurePartitionsForRows,
  monthPartitionFunctions,
  USAGE_TABLES,
  type MonthPartitioned,
} from './0020_monthly_partitions'
import { copyTableGrants, grantToServices } from './grant-to-services'

// Audit events partitioned by the UTC month of occurred_at, managed as 0020's usage tables are.
// Retention drops a month whose every event is past the retention the database holds for audit
// events (audit_settings, which only its owner changes; the partition functions refuse a younger
// month): no row-by-row delete through the guard, no dead tuples, and the audit log's horizon is
// never held back by a long delete. A default partition takes events when no month partition is
// ready (the sweep did not run for two months); its rows never move out (the guard refuses their
// delete), so such a month stays in the default until its events expire.
//
// A partitioned table's unique indexes must hold its partition key: the key (occurred_at, id)
// serves the audit log's order. event_key and (lane, chain_seq) are unique by how events are
// appended (one lane's appends one after another under its lock, each key probed first); their
// indexes stay, per partition. The probe for a replayed event reads, for a session's events, only
// the partitions since its session's row was made (its first event is written in that
// transaction or later), so its cost does not grow with the retention; other keys (users, NAS,
// API and CLI requests: few) read every partition.
//
// The rows move into the new layout in the migration (the same ids, hashes and chain); the
// functions whose argument is an audit event, the triggers and the grants move with them.

export const AUDIT_EVENTS: Record<string, MonthPartitioned> = {
  audit_events: {
    column: 'occurred_at',
    type: 'timestamptz',
    heldRetentionDays: '(select retention_days from audit_settings)',
  },
}

const SESSION_EVENT_SINCE = `coalesce((select s.created_at from sessions s
  where u.key like 'session.%' and s.session_key = substr(u.key, strpos(u.key, ':') + 1)), '-infinity')`

const INDEXES = ['audit_events_event_key', 'audit_events_lane_seq', 'audit_events_by_initiator_id']

export async function up(db: Kysely<unknown>): Promise<void> {
  await setAside(db, 'audit_events_unpartitioned', [
    'audit_events_pkey',
    'audit_events_event_key_key',
    'audit_events_lane_seq',
    'audit_events_by_time_id',
    'audit_events_by_initiator_id',
  ])
  await sql`
    create table audit_events (like audit_events_unpartitioned including defaults including constraints including identity)
    partition by range (occurred_at)`.execute(db)
  await sql`alter table audit_events add primary key (occurred_at, id)`.execute(db)
  await sql`create index audit_events_event_key on audit_events (event_key)`.execute(db)
  await sql`create index audit_events_lane_seq on audit_events (lane, chain_seq)`.execute(db)
  await sql`create index audit_events_by_initiator_id on audit_events (initiator_id, occurred_at, id)`.execute(db)
  await sql`create table audit_events_default partition of audit_events default`.execute(db)
  for (const definition of monthPartitionFunctions({ ...USAGE_TABLES, ...AUDIT_EVENTS }))
    await sql.raw(definition).execute(db)
  await ensurePartitionsForRows(db, 'audit_events', AUDIT_EVENTS.audit_events!, 'audit_events_unpartitioned')
  await moveAuditEvents(db, 'audit_events_unpartitioned')
  await sql.raw(appendAuditEventsFunction(SESSION_EVENT_SINCE)).execute(db)
  await sql`drop function purge_expired_audit_events(integer)`.execute(db)
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await setAside(db, 'audit_events_partitioned', ['audit_events_pkey', ...INDEXES])
  await sql`
    create table audit_events (like audit_events_partitioned including defaults including constraints including identity)`.execute(
    db,
  )
  await sql`alter table audit_events add primary key (id), add unique (event_key)`.execute(db)
  await sql`create unique index audit_events_lane_seq on audit_events (lane, chain_seq)`.execute(db)
  await sql`create index audit_events_by_time_id on audit_events (occurred_at, id)`.execute(db)
  await sql`create index audit_events_by_initiator_id on audit_events (initiator_id, occurred_at, id)`.execute(db)
  await moveAuditEvents(db, 'audit_events_partitioned')
  await sql.raw(appendAuditEventsFunction()).execute(db)
  await sql.raw(PURGE_EXPIRED_AUDIT_EVENTS).execute(db)
  await sql`revoke all on function purge_expired_audit_events(integer) from public`.execute(db)
  await grantToServices(db, 'the audit purge', ['grant execute on function purge_expired_audit_events(integer) to %I'])
  for (const definition of monthPartitionFunctions(USAGE_TABLES)) await sql.raw(definition).execute(db)
}

/** Renames audit_events and what is named after it, so that the new table can take the names. */
async function setAside(db: Kysely<unknown>, name: string, indexes: readonly string[]): Promise<void> {
  await sql`alter table audit_events rename to ${sql.id(name)}`.execute(db)
  for (const index of indexes)
    await sql`alter index if exists ${sql.id(index)} rename to ${sql.id(index.replace('audit_events', name))}`.execute(
      db,
    )
  await sql`alter sequence audit_events_id_seq rename to ${sql.id(`${name}_id_seq`)}`.execute(db)
}

/**
 * Moves every event of `from` into the new audit_events with its id, and what belongs to the
 * table: the functions whose argument is an event, the triggers, the grants; then drops `from`.
 */
async function moveAuditEvents(db: Kysely<unknown>, from: string): Promise<void> {
  await sql`insert into audit_events overriding system value select * from ${sql.table(from)}`.execute(db)
  await sql`
    select setval(pg_get_serial_sequence('audit_events', 'id'), max(id)) from ${sql.table(from)}
    having max(id) is not null`.execute(db)
  // The hash calls the canonical form: made in that order, dropped in the other.
  const functions = ['audit_event_canonical', 'audit_event_hash']
  for (const name of functions) {
    const { rows } = await sql<{ definition: string }>`
      select pg_get_functiondef(${`${name}(${from})`}::regprocedure) as definition`.execute(db)
    await sql
      .raw(rows[0]!.definition.replace(new RegExp(`\\(e (public\\.)?${from}\\)`), '(e audit_events)'))
      .execute(db)
  }
  for (const name of functions.reverse()) await sql`drop function ${sql.id(name)}(${sql.id(from)})`.execute(db)
  const { rows: triggers } = await sql<{ definition: string }>`
    select pg_get_triggerdef(oid) as definition from pg_trigger
    where tgrelid = ${from}::regclass and not tgisinternal and tgparentid = 0`.execute(db)
  for (const { definition } of triggers)
    await sql.raw(definition.replace(` ON public.${from} `, ' ON public.audit_events ')).execute(db)
  await copyTableGrants(db, from, 'audit_events')
  await sql`drop table ${sql.table(from)}`.execute(db)
}
