import { sql, type Kysely } from 'kysely'
import { grantToServices } from './grant-to-services'
import { createOneRowTable } from './one-row-table'

// Counter reports partitioned by day bucket, and removed by dropping a bucket's partition.
//
// A session's reports live in one bucket, sessions.usage_bucket: the UTC day its row was made. The
// incremental split probes a session's reports in its bucket only (one partition, whatever the
// retention). Once a bucket's every session has been closed for the reports' retention, its
// reports can never be needed again (usage.md); the sweep then carries the sessions of the bucket
// still open or closed more recently (a few: sessions that live for days) to a later bucket
// with their reports, and drops the bucket's partition. The horizon, usage_report_horizon, is the
// last bucket dropped: a session whose bucket is at or before it is sealed (its split is final, a
// report that comes later changes nothing), as session_usage_sealed said one by one before. So
// retention deletes no report row by row, and no row of a session is written but its own reports.
//
// Partitions are a day each (the reports' retention is a week, and they are the bulk of the data:
// a partition a month would keep four times as many) and are made and dropped through the
// functions below (security definer: the services may not run DDL). A default partition takes a
// bucket no partition covers yet (a sweep that did not run); making its partition moves its rows.
//
// A carried session takes only the reports a packet can still fall between: those of the last
// retention (by its own clock, start + Acct-Session-Time) and, for each counter, the one before.
// sessions.usage_reports_from is the least Acct-Session-Time it kept: its split before that is
// final, as a sealed session's is whole, and a report older than that changes nothing. So a carry
// copies at most a retention's reports, however old the session: the cost does not grow with age.
//
// The upgrade: sessions sealed before it go to a bucket before every other, '-infinity', which the
// horizon starts at; the others, and their reports, go to the current day's bucket.

const COLUMNS = `session_id bigint not null references sessions (id) on delete cascade,
  session_time bigint not null check (session_time >= 0),
  input_octets numeric(20) check (input_octets >= 0),
  output_octets numeric(20) check (output_octets >= 0),
  constraint session_usage_points_some_counter check (input_octets is not null or output_octets is not null)`

export const REPORT_BUCKET_FUNCTIONS = ['ensure_report_bucket(date)', 'drop_report_bucket(date)']

const FUNCTIONS = [
  `
  create or replace function ensure_report_bucket(bucket date) returns boolean
  language plpgsql security definer set search_path = public, pg_temp as $$
  declare
    name text := 'session_usage_points_p' || to_char(bucket, 'YYYYMMDD');
  begin
    if to_regclass(name) is not null then return false; end if;
    -- Made apart and attached: attaching checks the default partition once, under its lock.
    execute format('create table %I (like session_usage_points including defaults including constraints)', name);
    execute format('with moved as (delete from session_usage_points_default where bucket = %L returning *)
      insert into %I select * from moved', bucket, name);
    execute format('alter table session_usage_points attach partition %I for values from (%L) to (%L)', name,
      bucket, bucket + 1);
    return true;
  end $$`,
  `
  create or replace function drop_report_bucket(bucket date) returns boolean
  language plpgsql security definer set search_path = public, pg_temp as $$
  declare
    name text := 'session_usage_points_p' || to_char(bucket, 'YYYYMMDD');
  begin
    -- In the drop's transaction: a session of the bucket is sealed exactly when its reports are gone.
    update usage_report_horizon set dropped_through = greatest(dropped_through, bucket);
    delete from session_usage_points_default d where d.bucket <= drop_report_bucket.bucket;
    if not exists (select 1 from pg_inherits where inhparent = 'session_usage_points'::regclass
        and inhrelid = to_regclass(name)) then
      return false;
    end if;
    execute format('drop table %I', name);
    return true;
  end $$`,
]

export async function up(db: Kysely<unknown>): Promise<void> {
  // A constant default fills the existing rows without rewriting the table (most are sealed);
  // new rows get their day.
  await sql`alter table sessions add column usage_bucket date not null default '-infinity'`.execute(db)
  await sql`alter table sessions alter column usage_bucket set default (now() at time zone 'UTC')::date`.execute(db)
  await sql`update sessions s set usage_bucket = (now() at time zone 'UTC')::date
    where not exists (select 1 from session_usage_sealed x where x.session_id = s.id)`.execute(db)
  await sql`alter table sessions add column usage_reports_from bigint not null default 0`.execute(db)
  // Where the sweep looks for a bucket's sessions still open or closed recently.
  await sql`create index sessions_by_usage_bucket on sessions (usage_bucket, stop_time)`.execute(db)
  await createOneRowTable(
    db,
    'usage_report_horizon',
    'dropped_through date not null',
    `(dropped_through) values ('-infinity')`,
  )

  await sql`alter table session_usage_points rename to session_usage_points_unpartitioned`.execute(db)
  await sql`alter index session_usage_points_pkey rename to session_usage_points_unpartitioned_pkey`.execute(db)
  await sql
    .raw(
      `create table session_usage_points (${COLUMNS},
    bucket date not null,
    primary key (session_id, session_time, bucket)) partition by range (bucket)`,
    )
    .execute(db)
  await sql`create table session_usage_points_default partition of session_usage_points default`.execute(db)
  for (const definition of FUNCTIONS) await sql.raw(definition).execute(db)
  for (const fn of REPORT_BUCKET_FUNCTIONS) await sql.raw(`revoke execute on function ${fn} from public`).execute(db)
  await sql`select ensure_report_bucket(day::date)
    from generate_series((now() at time zone 'UTC')::date, (now() at time zone 'UTC')::date + 2, interval '1 day') day`.execute(
    db,
  )
  await sql`
    insert into session_usage_points (session_id, session_time, input_octets, output_octets, bucket)
    select p.session_id, p.session_time, p.input_octets, p.output_octets, s.usage_bucket
    from session_usage_points_unpartitioned p join sessions s on s.id = p.session_id
    where s.usage_bucket <> '-infinity'`.execute(db)
  await sql`drop table session_usage_points_unpartitioned, session_usage_sealed, usage_report_pruning`.execute(db)

  await grantToServices(db, 'the counter reports', [
    'grant select, insert, update, delete on session_usage_points, usage_report_horizon to %I',
    `grant execute on function ${REPORT_BUCKET_FUNCTIONS.join(', ')} to %I`,
  ])
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`create table session_usage_sealed (session_id bigint primary key references sessions (id) on delete cascade)`.execute(
    db,
  )
  await sql`insert into session_usage_sealed (session_id)
    select id from sessions where usage_bucket <= (select dropped_through from usage_report_horizon)`.execute(db)
  // The old pruning seals sessions closed after this: what the buckets sealed stays sealed.
  await createOneRowTable(
    db,
    'usage_report_pruning',
    'pruned_through timestamptz not null',
    `(pruned_through) select coalesce(max(s.stop_time), '-infinity')
      from session_usage_sealed x join sessions s on s.id = x.session_id`,
  )
  await sql`alter table session_usage_points rename to session_usage_points_partitioned`.execute(db)
  await sql`alter index session_usage_points_pkey rename to session_usage_points_partitioned_pkey`.execute(db)
  await sql.raw(`create table session_usage_points (${COLUMNS}, primary key (session_id, session_time))`).execute(db)
  await sql`insert into session_usage_points select session_id, session_time, input_octets, output_octets
    from session_usage_points_partitioned`.execute(db)
  await sql`drop table session_usage_points_partitioned, usage_report_horizon`.execute(db)
  for (const fn of REPORT_BUCKET_FUNCTIONS) await sql.raw(`drop function ${fn}`).execute(db)
  await sql`drop index sessions_by_usage_bucket`.execute(db)
  await sql`alter table sessions drop column usage_bucket, drop column usage_reports_from`.execute(db)
  await grantToServices(db, 'the counter reports', [
    'grant select, insert, update, delete on session_usage_points, session_usage_sealed, usage_report_pruning to %I',
  ])
}
