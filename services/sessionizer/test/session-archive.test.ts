import { Migrator, sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { migrateToLatest, type Db } from '@radstream/db'
import type { AccountingRecord } from '@radstream/events'
import { applyBatch, archiveSealedSessions, manageReportBuckets } from '../src'
import { inTransaction } from '../src/in-transaction'
import { sessionPacketAt } from '../../../test/support/records'
import { scratchDatabase } from '../../../test/support/scratch-database'
import { migrations } from '../../../migrations'

let db: Db
beforeAll(async () => {
  db = (await scratchDatabase('session_archive')).db
})
afterAll(async () => db.destroy())

const HOUR = 3_600_000
const DAY = 24 * HOUR
const now = Date.now()
// Closed sessions of ten days ago, sent today (a NAS that held its packets), and one open session.
const CLOSED = [0, 1, 2, 3, 4]
const closedStart = now - 10 * DAY

function packets(index: number, start: number, stopAfter?: number): AccountingRecord[] {
  const common = [
    ['User-Name', `archive-user-${index % 2}`],
    ['Acct-Session-Id', `archive-${index}`],
    ['NAS-IP-Address', '198.18.77.1'],
    ['NAS-Port', index],
    ['Framed-IP-Address', `10.77.0.${index + 1}`],
  ] as const
  const packet = (status: number, at: number) => sessionPacketAt(common, start, status, at, { input: 2, output: 3 })
  const records = [packet(1, start), packet(3, start + HOUR)]
  if (stopAfter !== undefined) records.push(packet(2, start + stopAfter))
  return records
}
const closedPackets = CLOSED.flatMap((i) => packets(i, closedStart, 2 * HOUR))
const openPackets = packets(9, now - 2 * HOUR)

const apply = (records: readonly AccountingRecord[]) => inTransaction(db, (tx) => applyBatch(tx, records))

/** What a replay or a move must not change: the rows, the console's numbers, the usage, the audit log. */
async function standing() {
  const table = async (query: ReturnType<typeof sql<Record<string, unknown>>>) => (await query.execute(db)).rows
  return {
    // Less where a session's reports live, which a carry moves.
    sessions: (await table(sql`select * from session_records order by id`)).map(
      ({ usage_bucket: _, usage_reports_from: __, ...row }) => row,
    ),
    activity:
      await table(sql`select reseller_id, cause, minute, sum(started)::int as started, sum(stopped)::int as stopped
      from activity_by_lane group by 1, 2, 3 having sum(started) <> 0 or sum(stopped) <> 0 order by 1, 2, 3`),
    open: await table(sql`select * from open_sessions_by_nas where open <> 0 order by 1, 2`),
    usage: await table(sql`select * from usage_daily order by user_id, day`),
    days: await table(sql`select * from session_usage_days order by session_id, day`),
    audit: await table(sql`select count(*)::int as events from audit_events`),
  }
}

describe('the session history', () => {
  it('should move sealed sessions out of the live table, changing no answer', async () => {
    await apply([...closedPackets, ...openPackets])
    const before = await standing()
    expect(before.sessions).toHaveLength(CLOSED.length + 1)
    // The sweep two days on, the reports' retention an hour: every closed session is sealed, and
    // moves into the partition of the month it started in, made then.
    await manageReportBuckets(db, 1, new Date(now + 2 * DAY))
    expect(await archiveSealedSessions(db, 2)).toBe(CLOSED.length) // in chunks of two
    expect(await standing()).toEqual(before)
    const { rows: live } = await sql<{ session_id: string }>`select session_id from sessions`.execute(db)
    expect(live).toEqual([{ session_id: 'archive-9' }])
    const { rows: archived } = await sql<{ partition: string; sessions: number }>`
      select tableoid::regclass::text as partition, count(*)::int as sessions from session_history group by 1`.execute(
      db,
    )
    const month = new Date(closedStart).toISOString().slice(0, 7).replace('-', '')
    expect(archived).toEqual([{ partition: `session_history_p${month}`, sessions: CLOSED.length }])
    expect(await archiveSealedSessions(db)).toBe(0)
  })

  it('should change nothing for packets of an archived session, replayed or held back', async () => {
    const before = await standing()
    const outcome = await apply(closedPackets)
    expect(outcome.archivedPackets).toBe(closedPackets.length)
    expect(outcome.sessionsWritten).toBe(0)
    expect(await standing()).toEqual(before)
  })

  it('should start a new session for a key an archived session had, days later', async () => {
    // The same user, NAS, port and Acct-Session-Id (a NAS that restarted its counter), today.
    const outcome = await apply(packets(0, now - HOUR))
    expect(outcome.archivedPackets).toBe(0)
    const { rows } = await sql<{ relation: string; start_time: Date }>`
      select 'session_history' as relation, start_time from session_history where session_id = 'archive-0'
      union all select 'sessions', start_time from sessions where session_id = 'archive-0'`.execute(db)
    expect(rows.map((r) => [r.relation, r.start_time.getTime()])).toEqual([
      ['session_history', Math.floor(closedStart / 1000) * 1000],
      ['sessions', Math.floor((now - HOUR) / 1000) * 1000],
    ])
  })

  it('should run a batch again when its session is archived while it writes it, and change nothing', async () => {
    // A closed session, sealed but not yet moved; the move waits, uncommitted, while a late Stop of
    // it comes: the batch reads the row, then its upsert waits for the move, whose delete frees
    // the key. Without the check, the batch would insert the session again as new.
    await apply(packets(5, closedStart, HOUR))
    await manageReportBuckets(db, 1, new Date(now + 2 * DAY))
    const before = await standing()
    const late = packets(5, closedStart, 2 * HOUR).at(-1)!
    const outcome = await db.connection().execute(async (mover) => {
      await sql`begin`.execute(mover)
      await sql`select set_config('radstream.archiving', 'on', true)`.execute(mover)
      await sql`with moved as (delete from sessions where session_id = 'archive-5' returning *)
        insert into session_history select * from moved`.execute(mover)
      const batch = apply([late])
      await new Promise((resolve) => setTimeout(resolve, 500))
      await sql`commit`.execute(mover)
      return batch
    })
    expect(outcome.archivedPackets).toBe(1)
    expect(await standing()).toEqual(before)
    const { rows } = await sql<{ live: number }>`
      select count(*)::int as live from sessions where session_id = 'archive-5'`.execute(db)
    expect(rows[0]!.live).toBe(0)
  })
})

describe('the session history without a default partition (migration 0025)', () => {
  it('should give the default partition rows their months and drop it, losing none', async () => {
    const { db: own } = await scratchDatabase('history_default')
    try {
      const migrator = new Migrator({ db: own, provider: { getMigrations: async () => migrations } })
      expect((await migrator.migrateTo('0024_session_history')).error).toBeUndefined()
      // What 0024's sweep put in the default: sessions started in months it made no partition for
      // (an earlier run of this test made them: the scratch database outlives a run).
      await sql`drop table if exists session_history_p200101, session_history_p201907`.execute(own)
      await sql`
        insert into session_history (id, session_key, session_id, nas_ip_address, start_time, stop_time, closed_by)
        values (1, 'k1', 'ancient', '198.18.77.9', '2001-01-05T00:00:00Z', '2001-01-05T01:00:00Z', 'Stop'),
          (2, 'k2', 'older', '198.18.77.9', '2019-07-31T23:30:00Z', '2019-08-01T00:30:00Z', 'Stop')`.execute(own)
      const placed = async () =>
        (
          await sql<{ partition: string; session_id: string }>`
            select tableoid::regclass::text as partition, session_id from session_history order by id`.execute(own)
        ).rows
      expect((await placed()).map((r) => r.partition)).toEqual(['session_history_default', 'session_history_default'])
      await migrateToLatest(own)
      expect(await placed()).toEqual([
        { partition: 'session_history_p200101', session_id: 'ancient' },
        { partition: 'session_history_p201907', session_id: 'older' },
      ])
      const { rows } = await sql<{ table: string | null }>`
        select to_regclass('session_history_default')::text as table`.execute(own)
      expect(rows[0]!.table).toBeNull()
    } finally {
      await own.destroy()
    }
  })
})
