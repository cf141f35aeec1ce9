import { sql, type Transaction } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { inject } from 'vitest'
import { createDb, type Database, type Db } from '@radstream/db'
import { applyBatch } from '@radstream/sessionizer'
import { whoHadIp } from '../src/graphql/queries'
import { accountingRecord, at } from '../../../test/support/records'

/**
 * whoHadIp and the supersession pass cost the same whether an address had five sessions before or
 * two thousand: what PostgreSQL reads of `sessions` and the session history (rows from their
 * indexes and scans, counted by its own statistics for the transaction) is compared between the
 * two histories.
 */

const run = Date.now().toString(36)
/** Addresses and NAS of this run's own: the test database outlives a run, and earlier runs' histories stay. */
const R = Math.floor(Math.random() * 100)
const HISTORY_SMALL = 5
const HISTORY_LARGE = 2000
/**
 * Index entries a probe may read beyond the answer, whatever the history: a GiST search visits
 * neighbouring entries (its inet keys are lossy). Reading the history would be 2,000.
 */
const SLACK = 40

let db: Db
beforeAll(() => {
  db = createDb({ url: inject('databaseUrl'), poolSize: 2 })
})
afterAll(async () => db?.destroy())

/** Rows of `sessions` and the session history PostgreSQL has read so far in this transaction. */
async function sessionRowsRead(tx: Transaction<Database>): Promise<number> {
  const { rows } = await sql<{ read: string }>`
    with tables as (
      select 'sessions'::regclass as relid union all select relid from pg_partition_tree('session_history')
    )
    select (select coalesce(sum(seq_tup_read), 0) from pg_stat_xact_user_tables where relid in (select relid from tables))
      + (select coalesce(sum(pg_stat_get_xact_tuples_returned(indexrelid)), 0)
         from pg_index where indrelid in (select relid from tables)) as read`.execute(tx)
  return Number(rows[0]!.read)
}

async function rowsReadBy<T>(work: (tx: Transaction<Database>) => Promise<T>): Promise<{ result: T; read: number }> {
  return db.transaction().execute(async (tx) => {
    const before = await sessionRowsRead(tx)
    const result = await work(tx)
    return { result, read: (await sessionRowsRead(tx)) - before }
  })
}

interface AddressKind {
  readonly name: string
  readonly column: 'framed_ip_address' | 'delegated_ipv6_prefix'
  readonly attribute: 'Framed-IP-Address' | 'Delegated-IPv6-Prefix'
  /** The address of history number `n`'s sessions, and the one whoHadIp asks about. */
  readonly held: (n: number) => string
  readonly asked: (n: number) => string
}

const KINDS: readonly AddressKind[] = [
  {
    name: 'an IPv4 address',
    column: 'framed_ip_address',
    attribute: 'Framed-IP-Address',
    held: (n) => `10.${100 + R}.91.${n}`,
    asked: (n) => `10.${100 + R}.91.${n}`,
  },
  {
    name: 'a delegated IPv6 prefix',
    column: 'delegated_ipv6_prefix',
    attribute: 'Delegated-IPv6-Prefix',
    held: (n) => `2001:db8:${(R * 256 + n).toString(16)}::/56`,
    asked: (n) => `2001:db8:${(R * 256 + n).toString(16)}::1`,
  },
]

/**
 * An address whose NAS gave it to `history` sessions, each of an hour, one after another in 2023,
 * then (through the sessionizer) to a session that starts on 2024-06-01 at 10:00. Returns what
 * that Start's batch read of `sessions`, and the session's id.
 */
async function addressWithHistory(kind: AddressKind, history: number, n: number, nas: string) {
  await sql`
    insert into sessions (session_key, session_id, nas_ip_address, start_time, stop_time, closed_by,
      ${sql.ref(kind.column)})
    select ${`${run}-${n}-`} || g, ${`old-${run}-${n}-`} || g, ${nas}::inet,
      timestamptz '2023-01-01' + g * interval '1 hour', timestamptz '2023-01-01' + g * interval '1 hour' + interval '50 minutes',
      'Stop', ${kind.held(n)}::${sql.raw(kind.column === 'framed_ip_address' ? 'inet' : 'cidr')}
    from generate_series(1, ${history}::int) g`.execute(db)
  await sql`analyze sessions`.execute(db)
  const sessionId = `now-${run}-${n}`
  const start = accountingRecord([
    ['User-Name', `history-${run}-${n}`],
    ['Acct-Session-Id', sessionId],
    ['NAS-IP-Address', nas],
    ['Acct-Status-Type', 1],
    ['Event-Timestamp', at('2024-06-01T10:00:00Z')],
    [kind.attribute, kind.held(n)],
  ])
  const { read } = await rowsReadBy((tx) => applyBatch(tx, [start]))
  return { startRead: read, sessionId }
}

describe('address lookups', () => {
  for (const [index, kind] of KINDS.entries()) {
    it(`should read as much for ${kind.name} with ${HISTORY_LARGE} earlier sessions as with ${HISTORY_SMALL}`, async () => {
      const measured = []
      for (const [step, history] of [HISTORY_SMALL, HISTORY_LARGE].entries()) {
        const n = index * 2 + step + 1
        const nas = `198.18.${100 + R}.${n}`
        const { startRead, sessionId } = await addressWithHistory(kind, history, n, nas)
        const who = await rowsReadBy((tx) => whoHadIp(tx, kind.asked(n), new Date('2024-06-01T10:30:00Z'), undefined))
        expect(who.result.map((holder) => holder.sessionId)).toEqual([sessionId])
        // And an instant in the history: the one session of that hour.
        const past = await rowsReadBy((tx) => whoHadIp(tx, kind.asked(n), new Date('2023-01-01T03:20:00Z'), undefined))
        expect(past.result.map((holder) => holder.sessionId)).toEqual([`old-${run}-${n}-3`])
        measured.push({ history, startRead, whoRead: who.read, pastRead: past.read })
      }
      const [small, large] = measured as [(typeof measured)[0], (typeof measured)[0]]
      expect(large.startRead, JSON.stringify(measured)).toBeLessThanOrEqual(small.startRead + SLACK)
      expect(large.whoRead, JSON.stringify(measured)).toBeLessThanOrEqual(small.whoRead + SLACK)
      expect(large.pastRead, JSON.stringify(measured)).toBeLessThanOrEqual(small.pastRead + SLACK)
    })
  }
})
