import { sql, type Kysely } from 'kysely'

// The console's charts count sessions stopped in a window (terminate causes, stops per minute,
// concurrency going back from now): an index range on stop_time, as sessions_by_start is for starts.

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`create index sessions_by_stop on sessions (stop_time) where stop_time is not null`.execute(db)
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop index sessions_by_stop`.execute(db)
}
