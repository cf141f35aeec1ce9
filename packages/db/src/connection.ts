import { Kysely, PostgresDialect } from 'kysely'
import pg from 'pg'
import type { Database } from './schema'

// int8 (bigint) and numeric stay text by default; that is what the row types say.
export type Db = Kysely<Database>

export interface DatabaseOptions {
  readonly url: string
  readonly poolSize?: number
  /** Shown in pg_stat_activity, so an operator sees which process holds a connection. */
  readonly applicationName?: string
  /** Told when an idle connection breaks; the pool has already discarded it. */
  readonly onIdleError?: (error: Error) => void
}

export function createDb(options: DatabaseOptions): Db {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.poolSize ?? 10,
    application_name: options.applicationName ?? 'radstream',
  })
  // An idle connection the server closed (a restart, a failover) is dropped by the pool and
  // replaced on next use. Without a listener, pg's 'error' event would end the whole process.
  pool.on('error', (error) => options.onIdleError?.(error))
  // The same for a connection checked out but between queries (inside a transaction, say): its
  // next query fails and the pool destroys it on release, instead of the process dying here.
  pool.on('connect', (client) => client.on('error', (error) => options.onIdleError?.(error)))
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) })
}
