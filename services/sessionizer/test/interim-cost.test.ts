import { sql, type Transaction } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { upsertNasClient, type Database, type Db } from '@radstream/db'
import type { AccountingRecord } from '@radstream/events'
import { applyBatch, closeStaleChunk, closeStaleSessions, manageReportBuckets } from '../src'
import { accountingRecord, at } from '../../../test/support/records'
import { scratchDatabase } from '../../../test/support/scratch-database'

let db: Db
beforeAll(async () => {
  db = (await scratchDatabase('interim_cost')).db
})
afterAll(async () => db.destroy())

const RULES = { interimMultiplier: 3, withoutInterimSeconds: 3600, minSilenceSeconds: 60 }

function packet(sessionId: string, status: number, eventTime: number, extra: [string, string | number][] = []) {
  return accountingRecord([
    ['User-Name', `user-${sessionId}`],
    ['Acct-Session-Id', sessionId],
    ['NAS-IP-Address', '198.18.60.1'],
    ['Acct-Status-Type', status],
    ['Event-Timestamp', eventTime],
    ...extra,
  ])
}

const interim = (sessionId: string, start: number, seconds: number) =>
  packet(sessionId, 3, start + seconds, [
    ['Acct-Session-Time', seconds],
    ['Acct-Input-Octets', seconds * 1000],
    ['Acct-Output-Octets', seconds * 3000],
  ])

/** What `work` made PostgreSQL do, by table: rows inserted, updated (HOT of them) and deleted, tuples read. */
async function tableWork(work: (tx: Transaction<Database>) => Promise<unknown>) {
  return db.transaction().execute(async (tx) => {
    // The backend's counts not yet flushed from earlier transactions show too: taken as they were.
    const before = await tableCounts(tx)
    await work(tx)
    const after = await tableCounts(tx)
    const zero = { written: 0, updated: 0, hot: 0, seqRead: 0, idxFetched: 0 }
    return new Map(
      [...after].map(([table, a]) => {
        const b = before.get(table) ?? zero
        return [
          table,
          {
            written: a.written - b.written,
            updated: a.updated - b.updated,
            hot: a.hot - b.hot,
            seqRead: a.seqRead - b.seqRead,
            idxFetched: a.idxFetched - b.idxFetched,
          },
        ]
      }),
    )
  })
}

async function tableCounts(tx: Transaction<Database>) {
  const { rows } = await sql<{
    relname: string
    written: string
    updated: string
    hot: string
    seq_read: string
    idx_fetched: string
  }>`
    -- A partition's work counts for its partitioned table (migration 0020's month partitions).
    select coalesce(parent.relname, t.relname) as relname, sum(n_tup_ins + n_tup_upd + n_tup_del)::text as written,
      sum(n_tup_upd)::text as updated, sum(n_tup_hot_upd)::text as hot, sum(coalesce(seq_tup_read, 0))::text as seq_read,
      sum(coalesce(idx_tup_fetch, 0))::text as idx_fetched
    from pg_stat_xact_user_tables t
    left join pg_inherits i on i.inhrelid = t.relid
    left join pg_class parent on parent.oid = i.inhparent
    group by 1`.execute(tx)
  return new Map(
    rows.map((r) => [
      r.relname,
      {
        written: Number(r.written),
        updated: Number(r.updated),
        hot: Number(r.hot),
        seqRead: Number(r.seq_read),
        idxFetched: Number(r.idx_fetched),
      },
    ]),
  )
}

const apply = (records: AccountingRecord[]) => db.transaction().execute((tx) => applyBatch(tx, records))

describe('what an Interim-Update costs', () => {
  it('should write nothing at all for an exact replay of a batch', async () => {
    const start = at('2025-06-01T23:40:00Z')
    const batch = ['replay-a', 'replay-b', 'replay-c'].flatMap((id) => [
      packet(id, 1, start, [['Framed-IP-Address', `10.60.0.${id.length + id.charCodeAt(7)}`]]),
      interim(id, start, 600),
      interim(id, start, 1800),
      packet(id, 2, start + 2400, [
        ['Acct-Session-Time', 2400],
        ['Acct-Input-Octets', 2_400_000],
        ['Acct-Output-Octets', 7_200_000],
        ['Acct-Terminate-Cause', 1],
      ]),
    ])
    await apply(batch)
    // Each packet replayed on its own, then the whole batch again.
    const writes = await tableWork(async (tx) => {
      for (const record of batch) await applyBatch(tx, [record])
      await applyBatch(tx, batch)
    })
    const written = [...writes].filter(([, w]) => w.written > 0)
    expect(written).toEqual([])
  })

  it('should rewrite an open session’s row as a HOT update, adding no index entry', async () => {
    const start = at('2025-06-02T08:00:00Z')
    await apply([packet('hot', 1, start), interim('hot', start, 300)])
    const writes = await tableWork((tx) => applyBatch(tx, [interim('hot', start, 600)]))
    expect(writes.get('sessions')).toMatchObject({ updated: 1, hot: 1 })
    expect(writes.get('session_usage_days')).toMatchObject({ updated: 1, hot: 1 })
  })

  it('should count a Stop that carries only Acct-Input-Octets (and Gigawords) for input', async () => {
    const start = at('2025-06-03T12:00:00Z')
    await apply([
      packet('one-counter', 1, start),
      packet('one-counter', 2, start + 600, [
        ['Acct-Session-Time', 600],
        ['Acct-Input-Octets', 5000],
        ['Acct-Input-Gigawords', 2],
        ['Acct-Terminate-Cause', 1],
      ]),
    ])
    const usage = await db
      .selectFrom('usage_daily')
      .innerJoin('users', 'users.id', 'usage_daily.user_id')
      .select(['usage_daily.input_octets', 'usage_daily.output_octets', 'usage_daily.session_time'])
      .where('users.username', '=', 'user-one-counter')
      .execute()
    expect(usage).toEqual([{ input_octets: String(2n * (1n << 32n) + 5000n), output_octets: '0', session_time: '600' }])
  })
})

describe('the stale sweep', () => {
  it('should read the sessions it closes, not every open session', async () => {
    const now = Math.floor(Date.now() / 1000)
    // Three sessions silent for 20 minutes at a 5-minute cadence (due after 15), through the real path.
    const silent = ['silent-1', 'silent-2', 'silent-3']
    await apply(
      silent.flatMap((id) => [packet(id, 1, now - 1800), interim(id, now - 1800, 300), interim(id, now - 1800, 600)]),
    )
    // 20,000 open sessions heard a minute ago at the same cadence.
    await db.transaction().execute(async (tx) => {
      await sql`
        insert into sessions (session_key, session_id, nas_ip_address, start_time, update_time, session_time,
          least_interim_session_time, next_interim_session_time)
        select 'live-' || g, 'live-' || g, '198.18.61.1', now() - interval '1 hour', now() - interval '1 minute', 3540, 300, 600
        from generate_series(1, 20000) g`.execute(tx)
      await sql`
        insert into session_liveness (session_id, cadence, heard_at)
        select id, 300, update_time from sessions where session_key like 'live-%'`.execute(tx)
    })
    await sql`analyze session_liveness`.execute(db)
    let closed = 0
    const reads = await tableWork(async (tx) => {
      closed = (await closeStaleChunk(tx, RULES, 1000)).closed
    })
    // The three, and any session of the tests above left open long ago; none of the live ones.
    expect(closed).toBeGreaterThanOrEqual(3)
    const live = await sql<{
      n: string
    }>`select count(*) as n from sessions where session_key like 'live-%' and stop_time is null`.execute(db)
    expect(Number(live.rows[0]!.n)).toBe(20000)
    const liveness = reads.get('session_liveness')!
    const sessions = reads.get('sessions')!
    expect(liveness.seqRead + sessions.seqRead).toBe(0)
    // The three due rows, one probe per distinct cadence (300 here), and the sessions closed.
    expect(liveness.idxFetched).toBeLessThan(20)
    expect(sessions.idxFetched).toBeLessThan(20)
    const states = await db
      .selectFrom('sessions')
      .select(['closed_by', 'stop_time', 'update_time'])
      .where('session_id', 'in', silent)
      .execute()
    for (const s of states) expect(s).toMatchObject({ closed_by: 'stale', stop_time: s.update_time })
  })

  it('should apply a NAS’s interval registered after its sessions began, before their next packet', async () => {
    const now = Math.floor(Date.now() / 1000)
    const id = `registered-late-${now}`
    await apply([
      accountingRecord(
        [
          ['User-Name', 'late'],
          ['Acct-Session-Id', id],
          ['NAS-IP-Address', '198.18.62.9'],
          ['Acct-Status-Type', 1],
          ['Event-Timestamp', now - 600],
        ],
        { address: '198.18.62.9' },
      ),
    ])
    await closeStaleSessions(db, RULES)
    const closedBy = async () =>
      (await db.selectFrom('sessions').select('closed_by').where('session_id', '=', id).executeTakeFirstOrThrow())
        .closed_by
    // Nothing known: the 3600 s rule.
    expect(await closedBy()).toBeNull()
    await upsertNasClient(db, { network: '198.18.62.0/24', secret: 'late-secret', interimInterval: 60 })
    await closeStaleSessions(db, RULES)
    expect(await closedBy()).toBe('stale')
  })
})

describe('counter reports', () => {
  it('should go with their bucket once its sessions are settled, carrying the live ones, splits then final', async () => {
    const start = at('2025-01-10T23:30:00Z')
    const id = 'settled'
    await apply([packet(id, 1, start), interim(id, start, 1200), interim(id, start, 2400)])
    await apply([
      packet(id, 2, start + 3600, [
        ['Acct-Session-Time', 3600],
        ['Acct-Input-Octets', 3_600_000],
        ['Acct-Output-Octets', 10_800_000],
        ['Acct-Terminate-Cause', 1],
      ]),
    ])
    const open = 'still-open'
    await apply([packet(open, 1, start), interim(open, start, 600), interim(open, start, 1200)])
    const today = new Date(Math.floor(Date.now() / 86_400_000) * 86_400_000)
    const dayAfter = (days: number) => new Date(today.getTime() + days * 86_400_000).toISOString().slice(0, 10)
    const later = new Date(today.getTime() + 2 * 86_400_000 + 7_200_000)
    // Heard of within the hour before `later`: its reports from the last before the cutoff on stay.
    const recent = 'recent'
    const recentStart = later.getTime() / 1000 - 3 * 3600
    // Received when sent (in the future of this run), so that their Event-Timestamps stand.
    await apply(
      [1800, 3600, 6000, 7800].map((t) =>
        accountingRecord(
          [
            ['User-Name', `user-${recent}`],
            ['Acct-Session-Id', recent],
            ['NAS-IP-Address', '198.18.60.1'],
            ['Acct-Status-Type', 3],
            ['Event-Timestamp', recentStart + t],
            ['Acct-Session-Time', t],
            ['Acct-Input-Octets', t * 1000],
            ['Acct-Output-Octets', t * 3000],
          ],
          { receivedAt: new Date((recentStart + t) * 1000) },
        ),
      ),
    )
    // What the carried session's split must come to: made before the sweep (a session made after
    // it would be in a bucket the sweep of this future day has dropped).
    const recount = 'recount'
    await apply([packet(recount, 1, start), ...[600, 1200, 2400].map((t) => interim(recount, start, t))])
    const daysOf = (sessionId: string) =>
      db
        .selectFrom('session_usage_days')
        .innerJoin('sessions', 'sessions.id', 'session_usage_days.session_id')
        .select(['day', 'session_usage_days.input_octets', 'session_usage_days.output_octets'])
        .where('sessions.session_id', '=', sessionId)
        .orderBy('day')
        .execute()
    const reportsOf = async (sessionId: string) =>
      (
        await sql<{ bucket: string; times: string }>`
          select to_char(p.bucket, 'YYYY-MM-DD') as bucket, string_agg(p.session_time::text, ' ' order by p.session_time) as times
          from session_usage_points p join sessions s on s.id = p.session_id
          where s.session_id = ${sessionId} group by 1 order by 1`.execute(db)
      ).rows.map((r) => `${r.bucket}: ${r.times}`)
    const bucketNames = async () =>
      (
        await sql<{ name: string }>`
          select c.relname as name from pg_inherits i join pg_class c on c.oid = i.inhrelid
          where i.inhparent = 'session_usage_points'::regclass order by 1`.execute(db)
      ).rows.map((r) => r.name)
    expect(await reportsOf(id)).toEqual([`${dayAfter(0)}: 1200 2400 3600`])
    expect(await reportsOf(open)).toEqual([`${dayAfter(0)}: 600 1200`])

    // Within the retention of today's bucket nothing moves; the days ahead are made, and the one
    // three weeks ahead that live sessions are carried to.
    expect(await manageReportBuckets(db, 1)).toMatchObject({ carriedSessions: 0, dropped: [] })
    const early = await manageReportBuckets(db, 1, new Date(today.getTime() + 86_400_000 + 1_800_000))
    expect(early).toMatchObject({ carriedSessions: 0, dropped: [] })
    expect(await bucketNames()).toEqual(
      expect.arrayContaining(
        [0, 1, 2, 3, 21, 22].map((d) => `session_usage_points_p${dayAfter(d).replaceAll('-', '')}`),
      ),
    )
    // Two days on, with an hour's retention: the open sessions (these and the earlier tests') go to
    // the bucket three weeks after that day, some a transaction, with their reports from the last before the cutoff
    // on; today's bucket and tomorrow's are dropped, sealing the settled session.
    const live = await sql<{ n: string }>`select count(*) as n from sessions where stop_time is null`.execute(db)
    expect(Number(live.rows[0]!.n)).toBeGreaterThan(3)
    const swept = await manageReportBuckets(db, 1, later, { chunk: 1000 })
    expect(swept.carriedSessions).toBe(Number(live.rows[0]!.n))
    expect(swept.dropped).toEqual([dayAfter(0), dayAfter(1)])
    expect(await bucketNames()).not.toContain(`session_usage_points_p${dayAfter(0).replaceAll('-', '')}`)
    expect(await reportsOf(id)).toEqual([])
    expect(await reportsOf(open)).toEqual([`${dayAfter(23)}: 1200`])
    expect(await reportsOf(recent)).toEqual([`${dayAfter(23)}: 6000 7800`])
    const inBucket = await sql<{
      n: string
    }>`select count(*) as n from session_usage_points where bucket = ${dayAfter(23)}::date`.execute(db)
    expect(swept.carriedReports).toBe(Number(inBucket.rows[0]!.n))

    const daysBefore = await daysOf(id)
    // A late Interim-Update (between two dropped reports) and a replay of the Stop change no day.
    await apply([interim(id, start, 1800)])
    await apply([
      packet(id, 2, start + 3600, [
        ['Acct-Session-Time', 3600],
        ['Acct-Input-Octets', 3_600_000],
        ['Acct-Output-Octets', 10_800_000],
        ['Acct-Terminate-Cause', 1],
      ]),
    ])
    expect(await daysOf(id)).toEqual(daysBefore)
    expect(await reportsOf(id)).toEqual([])
    // A carried session: a report before the ones it kept is not stored; one after is split
    // against them, as if every report were there (the one left out is before midnight, as is
    // the first it kept, so the days are the same).
    await apply([interim(open, start, 300)])
    expect(await reportsOf(open)).toEqual([`${dayAfter(23)}: 1200`])
    const openBefore = await daysOf(open)
    await apply([interim(open, start, 2400)])
    expect(await reportsOf(open)).toEqual([`${dayAfter(23)}: 1200 2400`])
    expect(await daysOf(open)).toEqual(await daysOf(recount))
    expect(await daysOf(open)).not.toEqual(openBefore)
    // A second run finds nothing new: the horizon stands at the dropped bucket.
    expect(await manageReportBuckets(db, 1, later)).toMatchObject({ carriedSessions: 0, dropped: [] })
  })
})
