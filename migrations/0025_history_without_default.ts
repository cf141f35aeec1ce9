import { sql, type Kysely } from 'kysely'
import { ensurePartitionsForRows, monthPartitionFunctions, USAGE_TABLES } from './0020_monthly_partitions'
import { AUDIT_EVENTS } from './0021_audit_partitions'
import { MONTHLY_TOTALS } from './0022_monthly_totals_partitions'
import { HISTORY } from './0024_session_history'

// The session history without a default partition. A user's history page reads the months newest
// first and stops once the page is full (an ordered append); PostgreSQL plans that only when no
// default partition may hold rows of any month. The sweep makes the partition of each start month
// before it moves a session there (session-archive.ts), so the default took only sessions started
// before the retention, which the next sweep removed: its rows get their months' partitions here,
// and go with them at the next sweep if past the retention. The partition functions learn that a
// table may have no default.

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const definition of monthPartitionFunctions({ ...USAGE_TABLES, ...AUDIT_EVENTS, ...MONTHLY_TOTALS, ...HISTORY }))
    await sql.raw(definition).execute(db)
  await ensurePartitionsForRows(db, 'session_history', HISTORY.session_history!, 'session_history_default')
  await sql`drop table session_history_default`.execute(db)
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`create table session_history_default partition of session_history default`.execute(db)
}
