import { sql } from 'kysely'
import { inject } from 'vitest'
import { createDb, emptyTables, ensureDatabaseExists, migrateToLatest, type Db } from '@radstream/db'

/**
 * A migrated, empty database of a test's own beside the run's test database, for tests that
 * compare what two runs built.
 */
export async function scratchDatabase(name: string): Promise<{ url: string; db: Db }> {
  const url = new URL(inject('databaseUrl'))
  url.pathname = `/radstream_test_${name}`
  await ensureDatabaseExists(url.toString())
  const db = createDb({ url: url.toString(), poolSize: 2 })
  await migrateToLatest(db)
  await emptyTables(db)
  return { url: url.toString(), db }
}

/** Everything a run built, without what differs between equal runs (row ids, wall-clock times). */
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
    from audit_events order by event_key`.execute(db)
  return { sessions: sessions.rows, users: users.rows, auditEvents: auditEvents.rows }
}
