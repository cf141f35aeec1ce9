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
