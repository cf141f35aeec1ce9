import { sql } from 'kysely'
import type { Db } from '@radstream/db'

/**
 * Everything the sessionizer built, without what differs between equal runs (row ids, wall-clock
 * times): sessions, users, usage (per session and day, per user and day and month), and the audit
 * events of sessions, users, NAS events and dead letters.
 */
export async function databaseContent(db: Db) {
  const sessions = await sql`
    select session_key, username, session_id, host(nas_ip_address) as nas, nas_identifier, nas_port_id, nas_port_type,
      start_time, update_time, stop_time, session_time, input_octets, output_octets, input_packets, output_packets,
      connect_info_start, connect_info_stop, calling_station_id, called_station_id, terminate_cause,
      host(framed_ip_address) as framed_ip, framed_ipv6_address, framed_ipv6_prefix, delegated_ipv6_prefix,
      closed_by, interim_interval
    from sessions order by session_key`.execute(db)
  const users = await sql`select username from users order by username`.execute(db)
  const auditEvents = await sql`
    select event_key, initiator_type, initiator_id, operation, entity_type, entity_id, entity_name, description, fields, request_id
    from audit_events where entity_type in ('SESSION', 'USER', 'NAS', 'RECORD') order by event_key`.execute(db)
  const usage = await usageContent(db)
  return { sessions: sessions.rows, users: users.rows, ...usage, auditEvents: auditEvents.rows }
}

interface RollupContent {
  username: string
  input_octets: string
  output_octets: string
  session_time: string
  sessions: number
}

/** The usage tables, by username and session key rather than by row id. */
export async function usageContent(db: Db) {
  const sessionDays = await sql`
    select s.session_key, d.day::text, u.username, d.input_octets::text, d.output_octets::text, d.session_time::text, d.sessions
    from session_usage_days d join sessions s on s.id = d.session_id join users u on u.id = d.user_id
    order by s.session_key, d.day`.execute(db)
  const daily = await sql<RollupContent & { day: string }>`
    select u.username, r.day::text, r.input_octets::text, r.output_octets::text, r.session_time::text, r.sessions
    from usage_daily r join users u on u.id = r.user_id order by u.username, r.day`.execute(db)
  const monthly = await sql<RollupContent & { month: string }>`
    select u.username, r.month::text, r.input_octets::text, r.output_octets::text, r.session_time::text, r.sessions
    from usage_monthly r join users u on u.id = r.user_id order by u.username, r.month`.execute(db)
  return { sessionDays: sessionDays.rows, daily: daily.rows, monthly: monthly.rows }
}

/**
 * Rows in which the console's counters (migration 0019) differ from a recount over the sessions:
 * per NAS, per lane summed, and open now, each for all and for each reseller; plus sessions whose
 * reseller is not their user's.
 */
export async function countersUnlikeRecount(db: Db): Promise<number> {
  const { rows } = await sql<{ unlike: string }>`
    with marks as (
      select nas_ip_address as nas, reseller_id, '' as cause, date_trunc('minute', start_time) as minute,
        1 as started, 0 as stopped from sessions
      union all
      select nas_ip_address, reseller_id, '', date_trunc('minute', stop_time), 0, 1 from sessions where stop_time is not null
      union all
      select nas_ip_address, reseller_id, coalesce(terminate_cause, 'unknown'), date_trunc('minute', stop_time), 0, 1
      from sessions where stop_time is not null
    ), scoped as (
      select m.nas, r.reseller_id, m.cause, m.minute, m.started, m.stopped from marks m
      cross join lateral (values (0), (m.reseller_id)) r(reseller_id)
      where r.reseller_id is not null and m.minute >= activity_horizon()
    ), by_nas as (
      select nas, reseller_id, cause, minute, sum(started)::bigint as started, sum(stopped)::bigint as stopped
      from scoped group by 1, 2, 3, 4
    ), kept_by_nas as (
      select nas_ip_address, reseller_id, cause, minute, started, stopped from activity_by_nas
      where started <> 0 or stopped <> 0
    ), by_lane as (
      select reseller_id, cause, minute, sum(started)::bigint as started, sum(stopped)::bigint as stopped
      from scoped group by 1, 2, 3
    ), kept_by_lane as (
      select reseller_id, cause, minute, sum(started)::bigint, sum(stopped)::bigint from activity_by_lane
      group by 1, 2, 3 having sum(started) <> 0 or sum(stopped) <> 0
    ), open_now as (
      select s.nas_ip_address, r.reseller_id, count(*)::bigint as open from sessions s
      cross join lateral (values (0), (s.reseller_id)) r(reseller_id)
      where r.reseller_id is not null and s.stop_time is null group by 1, 2
    ), kept_open as (
      select nas_ip_address, reseller_id, open from open_sessions_by_nas where open <> 0
    )
    select
      (select count(*) from ((select * from by_nas except all select * from kept_by_nas)
        union all (select * from kept_by_nas except all select * from by_nas)) d)
      + (select count(*) from ((select * from by_lane except all select * from kept_by_lane)
        union all (select * from kept_by_lane except all select * from by_lane)) d)
      + (select count(*) from ((select * from open_now except all select * from kept_open)
        union all (select * from kept_open except all select * from open_now)) d)
      + (select count(*) from sessions s left join users u on u.id = s.user_id
        where s.reseller_id is distinct from u.reseller_id) as unlike`.execute(db)
  return Number(rows[0]!.unlike)
}
