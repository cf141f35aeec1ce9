import { sql, type Kysely } from 'kysely'
import { grantToServices } from './grant-to-services'

// The console's numbers without counting sessions: sessions open now, started and stopped per
// minute, stops by terminate cause, kept by triggers on `sessions` in the transaction that changes
// a row, whoever changes it (a batch, the supersession pass, the sweep, an Accounting-On, the API).
// Statement triggers with transition tables: a batch's upsert adds its deltas in one statement,
// an Interim-Update (which moves neither start nor stop) adds none.
//
// - activity_by_lane: per minute and writer lane (a batch's partition, set by the batch as
//   radstream.lane; 'other' for every other writer), so no two partitions add to one row; read
//   for every NAS at once. activity_by_nas: the same per NAS (written by its partition alone).
//   Each has a row per reseller (its users') and one for all (reseller_id 0). cause '' holds a
//   minute's starts and stops; a cause's own row its stops.
// - open_sessions_by_nas: sessions open now, per NAS and reseller.
// - sessions.reseller_id: the reseller of the session's user, kept with it so a change is
//   subtracted where it was added; a user moved to another reseller moves their sessions (the
//   move takes the batches' ordering lock exclusively, so no batch writes a session of that user
//   under the old reseller meanwhile).
// - quota_crossings by month, for usersOverQuota.
// - Minutes before activity_horizon() (8 days back) are neither changed nor kept (the sweep's
//   retention deletes them): the timeline reads back at most 7 days.

const ACTIVITY_MINUTES_KEPT = `interval '8 days'`
// keying-lock.ts: every batch holds it shared.
const BATCH_ORDERING_LOCK = 0x6b65_796c

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table sessions add column reseller_id integer`.execute(db)
  await sql`update sessions s set reseller_id = u.reseller_id from users u
    where u.id = s.user_id and u.reseller_id is not null`.execute(db)
  await sql`
    create table activity_by_lane (
      reseller_id integer not null,
      cause text not null,
      minute timestamptz not null,
      lane text not null,
      started bigint not null default 0,
      stopped bigint not null default 0,
      primary key (reseller_id, cause, minute, lane)
    )`.execute(db)
  await sql`
    create table activity_by_nas (
      nas_ip_address inet not null,
      reseller_id integer not null,
      cause text not null,
      minute timestamptz not null,
      started bigint not null default 0,
      stopped bigint not null default 0,
      primary key (nas_ip_address, reseller_id, cause, minute)
    )`.execute(db)
  await sql`
    create table open_sessions_by_nas (
      nas_ip_address inet not null,
      reseller_id integer not null,
      open bigint not null,
      primary key (nas_ip_address, reseller_id)
    )`.execute(db)
  await sql
    .raw(
      `create function activity_horizon() returns timestamptz language sql stable
    return date_trunc('minute', now() - ${ACTIVITY_MINUTES_KEPT})`,
    )
    .execute(db)
  // Deltas: one row per session change, sign +1 for the row as it is now, -1 as it was.
  await sql
    .raw(
      `
    create function session_activity_add(signs integer[], nas inet[], resellers integer[],
      start_times timestamptz[], stop_times timestamptz[], causes text[]) returns void
    language sql as $$
      with change as (
        select * from unnest(signs, nas, resellers, start_times, stop_times, causes)
          as c(sign, nas, reseller, start_time, stop_time, cause)
      ), scoped as (
        select c.*, r.reseller_key from change c
        cross join lateral (values (0), (c.reseller)) r(reseller_key) where r.reseller_key is not null
      ), marks as (
        select nas, reseller_key, '' as cause, date_trunc('minute', start_time) as minute, sign as started, 0 as stopped
        from scoped
        union all
        select nas, reseller_key, '', date_trunc('minute', stop_time), 0, sign from scoped where stop_time is not null
        union all
        select nas, reseller_key, coalesce(cause, 'unknown'), date_trunc('minute', stop_time), 0, sign
        from scoped where stop_time is not null
      ), kept as (
        select * from marks where minute >= activity_horizon()
      ), by_lane as (
        insert into activity_by_lane as a (reseller_id, cause, minute, lane, started, stopped)
        select reseller_key, cause, minute, coalesce(nullif(current_setting('radstream.lane', true), ''), 'other'),
          sum(started), sum(stopped)
        from kept group by 1, 2, 3 having sum(started) <> 0 or sum(stopped) <> 0 order by 1, 2, 3
        on conflict (reseller_id, cause, minute, lane)
          do update set started = a.started + excluded.started, stopped = a.stopped + excluded.stopped
      ), by_nas as (
        insert into activity_by_nas as a (nas_ip_address, reseller_id, cause, minute, started, stopped)
        select nas, reseller_key, cause, minute, sum(started), sum(stopped)
        from kept group by 1, 2, 3, 4 having sum(started) <> 0 or sum(stopped) <> 0 order by 1, 2, 3, 4
        on conflict (nas_ip_address, reseller_id, cause, minute)
          do update set started = a.started + excluded.started, stopped = a.stopped + excluded.stopped
      )
      insert into open_sessions_by_nas as o (nas_ip_address, reseller_id, open)
      select nas, reseller_key, sum(sign) from scoped where stop_time is null
      group by 1, 2 having sum(sign) <> 0 order by 1, 2
      on conflict (nas_ip_address, reseller_id) do update set open = o.open + excluded.open
    $$`,
    )
    .execute(db)
  const columns = 'nas_ip_address, reseller_id, start_time, stop_time, terminate_cause'
  const add = (rows: string) => `perform session_activity_add(array_agg(sign), array_agg(nas_ip_address),
      array_agg(reseller_id), array_agg(start_time), array_agg(stop_time), array_agg(terminate_cause)) from (${rows}) c
      having count(*) > 0;`
  await sql
    .raw(
      `
    create function session_activity_apply() returns trigger language plpgsql as $$
    begin
      if tg_op = 'INSERT' then
        ${add(`select 1 as sign, ${columns} from new_rows`)}
      elsif tg_op = 'DELETE' then
        ${add(`select -1 as sign, ${columns} from old_rows`)}
      else
        ${add(`
          select s.sign, s.nas_ip_address, s.reseller_id, s.start_time, s.stop_time, s.terminate_cause
          from old_rows o join new_rows n on n.id = o.id
          cross join lateral (values (-1, o.${columns.replaceAll(', ', ', o.')}), (1, n.${columns.replaceAll(', ', ', n.')}))
            s(sign, ${columns})
          where (o.${columns.replaceAll(', ', ', o.')}) is distinct from (n.${columns.replaceAll(', ', ', n.')})`)}
      end if;
      return null;
    end $$`,
    )
    .execute(db)
  await sql`create trigger sessions_activity_insert after insert on sessions referencing new table as new_rows
    for each statement execute function session_activity_apply()`.execute(db)
  await sql`create trigger sessions_activity_update after update on sessions
    referencing old table as old_rows new table as new_rows for each statement execute function session_activity_apply()`.execute(
    db,
  )
  await sql`create trigger sessions_activity_delete after delete on sessions referencing old table as old_rows
    for each statement execute function session_activity_apply()`.execute(db)
  // A user moved to another reseller takes their sessions along.
  await sql
    .raw(
      `
    create function users_reseller_moved() returns trigger language plpgsql as $$
    begin
      perform pg_advisory_xact_lock(${BATCH_ORDERING_LOCK});
      update sessions set reseller_id = new.reseller_id
        where user_id = new.id and reseller_id is distinct from new.reseller_id;
      return null;
    end $$`,
    )
    .execute(db)
  await sql`create trigger users_reseller_moved after update of reseller_id on users for each row
    when (old.reseller_id is distinct from new.reseller_id) execute function users_reseller_moved()`.execute(db)
  // What the tables would hold had the triggers always been there: the kept minutes, the open sessions.
  await sql
    .raw(
      `
    select session_activity_add(array_agg(1), array_agg(nas_ip_address), array_agg(reseller_id),
      array_agg(start_time), array_agg(stop_time), array_agg(terminate_cause))
    from sessions where stop_time is null or stop_time >= now() - ${ACTIVITY_MINUTES_KEPT}
      or start_time >= now() - ${ACTIVITY_MINUTES_KEPT}
    having count(*) > 0`,
    )
    .execute(db)
  // usersOverQuota reads the month's crossings, not every user's monthly row. A user already past
  // a quota when it is set gets a crossing then, with no time (the API does so for new quotas).
  await sql`alter table quota_crossings alter column crossed_at drop not null`.execute(db)
  await sql`create index quota_crossings_by_month on quota_crossings (month, user_id)`.execute(db)
  await sql`
    insert into quota_crossings (user_id, month, monthly_octets, crossed_at)
    select m.user_id, m.month, q.monthly_octets, null from usage_monthly m join users u on u.id = m.user_id
    cross join lateral (select coalesce(
      (select monthly_octets from usage_quotas where user_id = u.id),
      (select monthly_octets from usage_quotas where realm = nullif(lower(split_part(u.username, '@', 2)), ''))) as monthly_octets) q
    where q.monthly_octets is not null and m.input_octets + m.output_octets >= q.monthly_octets
    on conflict do nothing`.execute(db)
  await grantToServices(db, 'activity_by_lane', [
    'grant select, insert, update, delete on activity_by_lane, activity_by_nas, open_sessions_by_nas to %I',
  ])
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop trigger users_reseller_moved on users`.execute(db)
  await sql`drop function users_reseller_moved`.execute(db)
  await sql`drop trigger sessions_activity_insert on sessions`.execute(db)
  await sql`drop trigger sessions_activity_update on sessions`.execute(db)
  await sql`drop trigger sessions_activity_delete on sessions`.execute(db)
  await sql`drop function session_activity_apply, session_activity_add, activity_horizon`.execute(db)
  await sql`drop table activity_by_lane, activity_by_nas, open_sessions_by_nas`.execute(db)
  await sql`alter table sessions drop column reseller_id`.execute(db)
  await sql`drop index quota_crossings_by_month`.execute(db)
  await sql`delete from quota_crossings where crossed_at is null`.execute(db)
  await sql`alter table quota_crossings alter column crossed_at set not null`.execute(db)
}
