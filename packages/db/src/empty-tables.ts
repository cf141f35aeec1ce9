import { sql } from 'kysely'
import type { Db } from './connection'

/**
 * Empties every table the services write (not the migrations' own, nor the signing key or the
 * settings): for tests and benchmarks on databases of their own. Audit events refuse TRUNCATE by
 * trigger, so this needs a superuser, whose replica mode skips triggers.
 */
export async function emptyTables(db: Db): Promise<void> {
  await db.transaction().execute(async (tx) => {
    await sql`set local session_replication_role = replica`.execute(tx)
    await sql`truncate sessions, session_history, session_usage_points, session_usage_days, activity_by_lane, activity_by_nas, open_sessions_by_nas, users, nas_clients, nas_cadences, audit_events, audit_lanes, audit_seals, nas_accounting_events, realm_assignments, api_clients, resellers, usage_quotas
      restart identity cascade`.execute(tx)
    await sql`update usage_report_horizon set dropped_through = '-infinity'`.execute(tx)
  })
}
