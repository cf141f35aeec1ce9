import type { Transaction } from 'kysely'
import type { Database, Db } from '@radstream/db'

const DEADLOCK_RETRIES = 5
const RETRYABLE = new Set(['40001', '40P01']) // serialization failure, deadlock

/** Runs `work` in a transaction, again when PostgreSQL chose it as a deadlock or serialization victim. */
export async function inTransaction<T>(db: Db, work: (tx: Transaction<Database>) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.transaction().execute(work)
    } catch (error) {
      const code = (error as { code?: string }).code
      if (!code || !RETRYABLE.has(code) || attempt >= DEADLOCK_RETRIES) throw error
    }
  }
}
