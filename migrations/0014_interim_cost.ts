import { sql, type Kysely } from 'kysely'
import { createOneRowTable } from './one-row-table'

// What an Interim-Update costs, kept flat as sessions age and tables grow.
//
// - A counter report may carry one octet counter without the other: each counts on its own.
// - session_liveness: when each open session was last heard of, with its cadence (0 when none is
//   known yet). The stale sweep reads it by an index range, (cadence, heard_at) for each distinct
//   cadence, instead of computing a deadline for every open session. It moves sessions' only index
//   on a column that changes every interim (update_time) to a narrow table: with fillfactor room
//   on each page, an Interim-Update rewrites its session row as a HOT update, adding no entry to the
//   sessions' twelve other indexes.
// - session_usage_sealed: sessions whose counter reports were removed once the split could no
//   longer need them (usage.md); a report that comes later changes no split.

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table session_usage_points alter column input_octets drop not null,
    alter column output_octets drop not null,
    add constraint session_usage_points_some_counter check (input_octets is not null or output_octets is not null)`.execute(
    db,
  )
  await sql`
    create table session_liveness (
      session_id bigint primary key references sessions (id) on delete cascade,
      cadence integer not null check (cadence >= 0),
      heard_at timestamptz not null
    )`.execute(db)
  await sql`create index session_liveness_due on session_liveness (cadence, heard_at)`.execute(db)
  await sql`
    insert into session_liveness (session_id, cadence, heard_at)
    select s.id, coalesce(
        case when s.next_interim_session_time > s.least_interim_session_time
          then s.next_interim_session_time - s.least_interim_session_time end,
        s.interim_interval,
        (select n.interim_interval from nas_clients n
          where n.interim_interval is not null and n.network >>= coalesce(s.nas_source_address, s.nas_ip_address)
          order by masklen(n.network) desc limit 1),
        0),
      s.update_time
    from sessions s where s.stop_time is null`.execute(db)
  await sql`drop index sessions_open_by_update`.execute(db)
  // Room on each page for the next version of its rows (PostgreSQL applies it to pages it fills from now on).
  await sql`alter table sessions set (fillfactor = 80)`.execute(db)
  await sql`alter table session_usage_days set (fillfactor = 80)`.execute(db)
  await sql`
    create table session_usage_sealed (
      session_id bigint primary key references sessions (id) on delete cascade
    )`.execute(db)
  await createOneRowTable(
    db,
    'usage_report_pruning',
    'pruned_through timestamptz not null',
    `(pruned_through) values ('-infinity')`,
  )
  await sql`
    do $$
    begin
      grant select, insert, update, delete on session_liveness, session_usage_sealed, usage_report_pruning to radstream_app;
    exception when insufficient_privilege then
      raise notice 'radstream_app not granted the liveness tables: the migrating role may not grant this';
    end
    $$`.execute(db)
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop table usage_report_pruning, session_usage_sealed, session_liveness`.execute(db)
  await sql`create index sessions_open_by_update on sessions (update_time) where stop_time is null`.execute(db)
  await sql`alter table sessions reset (fillfactor)`.execute(db)
  await sql`alter table session_usage_days reset (fillfactor)`.execute(db)
  await sql`delete from session_usage_points where input_octets is null or output_octets is null`.execute(db)
  await sql`alter table session_usage_points drop constraint session_usage_points_some_counter,
    alter column input_octets set not null, alter column output_octets set not null`.execute(db)
}
