import { createHash } from 'node:crypto'
import { Kysely, PostgresDialect } from 'kysely'
import pg from 'pg'
import Cursor from 'pg-cursor'
import { parse, toClientConfig } from 'pg-connection-string'
import type { Database } from './schema'
import { parseTimestamptz, TIMESTAMPTZ_OID } from './timestamptz'

// int8 (bigint) and numeric stay text by default; that is what the row types say.
export type Db = Kysely<Database>

const DATE_OID = 1082

/**
 * The text values radstream reads itself, by type: a date stays its YYYY-MM-DD text (pg would make
 * it a Date at local midnight, a day off east of UTC); a timestamptz is read by its characters
 * (timestamptz.ts), not pg's regular expressions. The other types are pg's.
 */
const TEXT_PARSERS = new Map<number, (value: string) => unknown>([
  [DATE_OID, (value) => value],
  [TIMESTAMPTZ_OID, parseTimestamptz],
])

export const typeParsers = {
  getTypeParser: ((oid: number, format: 'text' | 'binary' = 'text') =>
    (format === 'text' && TEXT_PARSERS.get(oid)) ||
    pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
}

export interface DatabaseOptions {
  readonly url: string
  readonly poolSize?: number
  /** Shown in pg_stat_activity, so an operator sees which process holds a connection. */
  readonly applicationName?: string
  /** Told when an idle connection breaks; the pool has already discarded it. */
  readonly onIdleError?: (error: Error) => void
  /**
   * Runs statements with parameters as named prepared statements, up to PREPARED_PER_CONNECTION
   * distinct ones a connection, each planned once a connection for any values (plan_cache_mode
   * force_generic_plan), not at every run. Left to choose, PostgreSQL kept planning some with
   * their values for good: a light user's history page, planned over every month of the history
   * at each run, 0.7 ms of a 0.3 ms read (docs/design.md).
   */
  readonly preparedStatements?: boolean
}

/**
 * Distinct statements a connection prepares; later ones run unnamed. The API's statements vary
 * with the fields a client asks for: the bound keeps a client that asks for every combination
 * from filling the server's memory with plans.
 */
export const PREPARED_PER_CONNECTION = 200

/**
 * Makes `client` run a statement with parameters (what kysely sends) as a named prepared
 * statement, named by its text. A cursor (exports) and a statement without parameters pass as
 * they are.
 */
function prepareStatements(client: pg.PoolClient): void {
  // Names by text: hashing the text at every run cost more than the lookup.
  const prepared = new Map<string, string>()
  const query = client.query.bind(client) as (...args: unknown[]) => unknown
  client.query = ((text: unknown, values?: unknown, callback?: unknown) => {
    if (typeof text !== 'string' || !Array.isArray(values) || values.length === 0 || typeof callback === 'function')
      return query(text, values, callback)
    let name = prepared.get(text)
    if (name === undefined) {
      if (prepared.size >= PREPARED_PER_CONNECTION) return query(text, values)
      name = `rs_${createHash('md5').update(text).digest('hex')}`
      prepared.set(text, name)
    }
    return query({ name, text, values })
  }) as typeof client.query
}

/**
 * pg's settings for a `DATABASE_URL`, with `sslmode` meaning what it means to libpq and psql:
 * `require` encrypts (and checks the chain only when `sslrootcert` names a CA), `verify-ca`
 * checks the chain, `verify-full` the chain and the host name. (pg on its own reads `require` as
 * `verify-full` and warns on every connection.)
 */
export function pgConnectionConfig(url: string): pg.ClientConfig {
  const libpq = new URL(url).searchParams.has('uselibpqcompat') ? {} : { useLibpqCompat: true }
  return toClientConfig(parse(url, libpq))
}

export function createDb(options: DatabaseOptions): Db {
  const config = pgConnectionConfig(options.url)
  const pool = new pg.Pool({
    ...config,
    // radstream's statements are short index work; JIT compiles any whose estimated cost is high
    // (the sessionizer's supersession probes: ~10 ms of work, 1 s of compiling). Options given in
    // DATABASE_URL come after and win.
    options: ['-c jit=off', options.preparedStatements && '-c plan_cache_mode=force_generic_plan', config.options]
      .filter(Boolean)
      .join(' '),
    types: typeParsers,
    max: options.poolSize ?? 10,
    application_name: options.applicationName ?? 'radstream',
  })
  // An idle connection the server closed (a restart, a failover) is dropped by the pool and
  // replaced on next use. Without a listener, pg's 'error' event would end the whole process.
  pool.on('error', (error) => options.onIdleError?.(error))
  // The same for a connection checked out but between queries (inside a transaction, say): its
  // next query fails and the pool destroys it on release, instead of the process dying here.
  pool.on('connect', (client) => {
    client.on('error', (error) => options.onIdleError?.(error))
    if (options.preparedStatements) prepareStatements(client)
  })
  // The cursor lets exports stream rows (query.stream()) with PostgreSQL's pace, not all at once.
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool, cursor: Cursor }) })
}
