import { sql } from 'kysely'
import type { Db } from '@radstream/db'

/**
 * Everything the sessionizer built, without what differs between equal runs (row ids, wall-clock
 * times): sessions, users, and the audit events of sessions, users, NAS events and dead letters.
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
  return { sessions: sessions.rows, users: users.rows, auditEvents: auditEvents.rows }
}
