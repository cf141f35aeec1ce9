import { sql } from 'kysely'
import type { Db } from './connection'

/** True when PostgreSQL answers a trivial query through this pool. */
export async function isDatabaseReachable(db: Db): Promise<boolean> {
  try {
    await sql`select 1`.execute(db)
    return true
  } catch {
    return false
  }
}
