import { loadSettings } from '@radstream/config'
import { createDb, type Db } from '@radstream/db'

/** A mistake in how a command was called: printed as its message alone, exit code 1. */
export class UsageError extends Error {
  readonly code = 'RADSTREAM_USAGE'
}

/** Runs `work` with a one-connection pool to DATABASE_URL, closed afterwards. */
export async function withDb<T>(work: (db: Db) => Promise<T>, applicationName = 'radstream-cli'): Promise<T> {
  const db = createDb({ url: loadSettings().database.url, poolSize: 1, applicationName })
  try {
    return await work(db)
  } finally {
    await db.destroy()
  }
}
