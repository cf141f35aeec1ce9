import { sql } from 'kysely'
import pg from 'pg'
import { pgConnectionConfig, type Db } from './connection'

/** True when PostgreSQL answers a trivial query through this pool. */
export async function isDatabaseReachable(db: Db): Promise<boolean> {
  try {
    await sql`select 1`.execute(db)
    return true
  } catch {
    return false
  }
}

/**
 * Why the PostgreSQL server of `url` refuses a connection, or undefined when it answers. Asked of
 * its `postgres` database, which exists before ours is made.
 */
export async function serverRefusal(url: string): Promise<string | undefined> {
  const server = new URL(url)
  server.pathname = '/postgres'
  const client = new pg.Client({ ...pgConnectionConfig(server.toString()), connectionTimeoutMillis: 3000 })
  try {
    await client.connect()
    return undefined
  } catch (error) {
    return (error as Error).message
  } finally {
    await client.end().catch(() => undefined)
  }
}
