import { sql, type Kysely } from 'kysely'
import {
  ensurePartitionsForRows,
  monthPartitionFunctions,
  USAGE_TABLES,
  type MonthPartitioned,
} from './0020_monthly_partitions'
import { AUDIT_EVENTS } from './0021_audit_partitions'
import { MONTHLY_TOTALS } from './0022_monthly_totals_partitions'
import { grantToServices } from './grant-to-services'

// Closed sessions apart from live ones. `sessions` keeps the sessions a packet can still change:
// open, or not yet sealed (usage.md: a session is sealed once its counter reports' bucket is
// dropped, closed beyond the reports' retention). The retention sweep moves sealed sessions into
// session_history, partitioned by the UTC month of their start (final once sealed), and the
// sessions' retention drops a month's partition whole: `sessions` stays the size of what is live
// and recent, whatever the retention, and no session is deleted row by row for retention.
//
// session_records is what the API reads: both, as one relation (UNION ALL; PostgreSQL plans each
// side with its own indexes, and prunes the history's months a start-time condition excludes).
//
// A move is not a deletion: the console's rollups (0019) keep what moved, so the delete trigger
// skips a statement that runs with radstream.archiving set. The counter reports' and daily rows'
// foreign keys to sessions go: a sealed session has no reports (its bucket is gone), its daily rows
// stay under their own retention, and checking the keys on a move would probe every day partition
// of the reports a row. The session key stays unique among live sessions only (the upsert's
// arbiter); the sessionizer looks up the history for a key it does not know (session-archive.ts).

export const HISTORY: Record<string, MonthPartitioned> = {
  session_history: { column: 'start_time', type: 'timestamptz' },
}

const HISTORY_INDEXES = [
  'create index session_history_by_key on session_history (session_key)',
  'create index session_history_by_id on session_history (id)',
  'create index session_history_by_start on session_history (start_time)',
  'create index session_history_user_history on session_history (user_id, start_time desc, id desc)',
  // The address holds of 0018, for whoHadIp.
  ...[
    ['ipv4', 'framed_ip_address', 'gist_inet_ops'],
    ['ipv6', 'framed_ipv6_address', 'gist_inet_ops'],
    ['ipv6_prefix', 'framed_ipv6_prefix', 'inet_ops'],
    ['delegated_prefix', 'delegated_ipv6_prefix', 'inet_ops'],
  ].map(
    ([name, column, opclass]) =>
      `create index session_history_${name}_holds on session_history using gist (${column} ${opclass},
        address_hold(start_time, stop_time, stop_time_latest, closed_by)) where ${column} is not null`,
  ),
]

const DELETE_TRIGGER = (when: string) =>
  sql.raw(`create trigger sessions_activity_delete after delete on sessions referencing old table as old_rows
    for each statement ${when} execute function session_activity_apply()`)

/** The foreign keys to sessions that go, by the table that holds them. */
const DROPPED_KEYS = ['session_usage_points', 'session_usage_days']

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const definition of monthPartitionFunctions({ ...USAGE_TABLES, ...AUDIT_EVENTS, ...MONTHLY_TOTALS, ...HISTORY }))
    await sql.raw(definition).execute(db)
  // No identity: a row keeps the id it had in sessions.
  await sql`create table session_history (like sessions including defaults including constraints)
    partition by range (start_time)`.execute(db)
  for (const index of HISTORY_INDEXES) await sql.raw(index).execute(db)
  await sql`create table session_history_default partition of session_history default`.execute(db)
  await sql`create view session_records as select * from sessions union all select * from session_history`.execute(db)

  await sql`drop trigger sessions_activity_delete on sessions`.execute(db)
  await DELETE_TRIGGER(`when (current_setting('radstream.archiving', true) is distinct from 'on')`).execute(db)
  for (const table of DROPPED_KEYS) {
    const { rows } = await sql<{ name: string }>`
      select conname as name from pg_constraint
      where conrelid = ${table}::regclass and contype = 'f' and confrelid = 'sessions'::regclass`.execute(db)
    for (const { name } of rows) await sql`alter table ${sql.table(table)} drop constraint ${sql.id(name)}`.execute(db)
  }

  // The sessions already sealed move now, as the sweep would move them.
  await ensurePartitionsForRows(db, 'session_history', HISTORY.session_history!, 'sessions')
  await sql`select set_config('radstream.archiving', 'on', true)`.execute(db)
  await sql`
    with moved as (
      delete from sessions where stop_time is not null
        and usage_bucket <= (select dropped_through from usage_report_horizon)
      returning *
    )
    insert into session_history select * from moved`.execute(db)
  await sql`select set_config('radstream.archiving', 'off', true)`.execute(db)

  await grantToServices(db, 'the session history', [
    'grant select, insert on session_history to %I',
    'grant select on session_records to %I',
  ])
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop view session_records`.execute(db)
  await sql`insert into sessions overriding system value select * from session_history`.execute(db)
  await sql`drop table session_history`.execute(db)
  // Rows of sessions that left by dropping history months, which the key's cascade would have removed.
  await sql`delete from session_usage_days d where not exists (select 1 from sessions s where s.id = d.session_id)`.execute(
    db,
  )
  await sql`alter table session_usage_points add foreign key (session_id) references sessions (id) on delete cascade`.execute(
    db,
  )
  await sql`alter table session_usage_days add foreign key (session_id) references sessions (id) on delete cascade`.execute(
    db,
  )
  await sql`drop trigger sessions_activity_delete on sessions`.execute(db)
  await DELETE_TRIGGER('').execute(db)
  for (const definition of monthPartitionFunctions({ ...USAGE_TABLES, ...AUDIT_EVENTS, ...MONTHLY_TOTALS }))
    await sql.raw(definition).execute(db)
}
