import { isDeepStrictEqual } from 'node:util'
import { createDb, emptyTables, ensureDatabaseExists, migrateToLatest, type Db } from '@radstream/db'
import { decodeRecord, encodeRecord, recordFromPacket } from '@radstream/events'
import { parsePacket, readAccountingRequest } from '@radstream/radius'
import { applyBatch } from '../../services/sessionizer/src'
import { countersUnlikeRecount, databaseContent } from '../support/database-content'

const BATCH = 500

/**
 * The undisturbed run a faulted one is compared with: every datagram the fleet got an answer for,
 * each once and in the order answered, through the same record encoding and the same sessionizer
 * code, straight into a database of its own with no collector, broker or crash in between.
 */
export async function referenceContent(
  databaseUrl: string,
  datagrams: readonly Buffer[],
  database = 'radstream_chaos_reference',
) {
  const url = new URL(databaseUrl)
  url.pathname = `/${database}`
  await ensureDatabaseExists(url.toString())
  const db = createDb({ url: url.toString(), poolSize: 1 })
  try {
    await migrateToLatest(db)
    await emptyTables(db)
    const records = datagrams.map((bytes) => {
      const packet = parsePacket(bytes)
      const record = recordFromPacket(packet, readAccountingRequest(packet), {
        receivedAt: new Date(),
        address: '127.0.0.1',
        port: 0,
      })
      return decodeRecord(encodeRecord(record))
    })
    for (let from = 0; from < records.length; from += BATCH) {
      await db.transaction().execute((tx) => applyBatch(tx, records.slice(from, from + BATCH)))
    }
    return await databaseContent(db)
  } finally {
    await db.destroy()
  }
}

type Content = Awaited<ReturnType<typeof databaseContent>>

/** Rows present on one side only, or present on both with any field different. */
type Row = Record<string, unknown>

function differing(
  actual: readonly unknown[],
  reference: readonly unknown[],
  key: string | ((row: Row) => string),
): number {
  const keyOf = typeof key === 'string' ? (row: Row) => row[key] : key
  const keyed = (rows: readonly unknown[]) => new Map(rows.map((row) => [keyOf(row as Row), row]))
  const a = keyed(actual)
  const b = keyed(reference)
  let n = 0
  for (const [k, row] of a) if (!isDeepStrictEqual(row, b.get(k))) n++
  for (const k of b.keys()) if (!a.has(k)) n++
  return n
}

/**
 * How many sessions, users, usage rollup rows and audit events differ between a faulted run and its
 * reference, and how many console counters differ from a recount.
 */
export async function differences(db: Db, reference: Content) {
  const actual = await databaseContent(db)
  return {
    sessions: differing(actual.sessions, reference.sessions, 'session_key'),
    users: differing(actual.users, reference.users, 'username'),
    usage: differing(
      [...actual.daily, ...actual.monthly],
      [...reference.daily, ...reference.monthly],
      (row) => `${String(row.username)} ${String(row.day ?? `month ${String(row.month)}`)}`,
    ),
    auditEvents: differing(actual.auditEvents, reference.auditEvents, 'event_key'),
    // The console's counters are checked against a recount of this run's own sessions.
    counters: await countersUnlikeRecount(db),
  }
}
