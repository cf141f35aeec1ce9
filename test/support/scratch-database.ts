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
