import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Db } from '@radstream/db'
import type { AccountingRecord } from '@radstream/events'
import { applyBatch, manageReportBuckets } from '../src'
import { inTransaction } from '../src/in-transaction'
import { accountingRecord } from '../../../test/support/records'
import { scratchDatabase } from '../../../test/support/scratch-database'

let db: Db
beforeAll(async () => {
  db = (await scratchDatabase('report_buckets')).db
})
afterAll(async () => db.destroy())

const SESSIONS = 40
const CADENCE = 60
const started = Math.floor(Date.now() / 1000) - 4 * 3600

function interim(session: number, seconds: number): AccountingRecord {
  return accountingRecord([
    ['User-Name', `bucket-user-${session % 7}`],
    ['Acct-Session-Id', `bucket-${session}`],
    ['NAS-IP-Address', '198.18.66.1'],
    ['Acct-Status-Type', seconds === 0 ? 1 : 3],
    ['Event-Timestamp', started + seconds],
    ...(seconds === 0
      ? []
      : ([
          ['Acct-Session-Time', seconds],
          ['Acct-Input-Octets', seconds * 1000],
          ['Acct-Output-Octets', seconds * 4000],
        ] as [string, number][])),
  ])
}

describe('the counter reports’ buckets under load', () => {
  it('should lose no report of a session carried while its Interim-Updates are being written', async () => {
    const sent = new Map<number, number[]>()
    const send = async (sessions: number[], seconds: number) => {
      await inTransaction(db, (tx) =>
        applyBatch(
          tx,
          sessions.map((s) => interim(s, seconds)),
        ),
      )
      for (const s of sessions) if (seconds > 0) sent.set(s, [...(sent.get(s) ?? []), seconds])
    }
    // Today's bucket and the next two (an earlier run of this test dropped today's).
    await manageReportBuckets(db, 1)
    const all = Array.from({ length: SESSIONS }, (_, i) => i)
    await send(all, 0)
    await send(all, CADENCE)

    // The sweep of a day two days on carries every session (all open) while batches of all of
    // them keep coming, one after another: each carry, of two sessions, mostly waits for a batch
    // that holds them.
    const today = Math.floor(Date.now() / 86_400_000) * 86_400_000
    const later = new Date(today + 2 * 86_400_000 + 3_600_000)
    let sweeping = true
    const sweep = manageReportBuckets(db, 1, later, { chunk: 2 }).finally(() => (sweeping = false))
    let rounds = 0
    for (let seconds = 2 * CADENCE; sweeping || rounds < 3; seconds += CADENCE, rounds++) await send(all, seconds)
    const swept = await sweep
    expect(swept.carriedSessions).toBe(SESSIONS)
    expect(swept.dropped).toContain(new Date(today).toISOString().slice(0, 10))

    const { rows } = await sql<{ session_id: string; reports_from: string; bucket: string; times: number[] | null }>`
      select s.session_id, s.usage_reports_from as reports_from, s.usage_bucket::text as bucket,
        array_agg(p.session_time::int order by p.session_time) filter (where p.session_time is not null) as times
      from sessions s left join session_usage_points p on p.session_id = s.id and p.bucket = s.usage_bucket
      group by 1, 2, 3`.execute(db)
    expect(rows).toHaveLength(SESSIONS)
    // Carried to the bucket three weeks ahead of the sweep's day.
    const carriedTo = new Date(today + 23 * 86_400_000).toISOString().slice(0, 10)
    for (const row of rows) {
      const session = Number(row.session_id.slice('bucket-'.length))
      expect(row.bucket).toBe(carriedTo)
      // Every report from the first it kept on is in its bucket: none went to the bucket it left.
      const expected = sent.get(session)!.filter((t) => t >= Number(row.reports_from))
      expect(expected.length).toBeGreaterThan(1)
      expect(row.times, row.session_id).toEqual(expected)
    }
    const { rows: elsewhere } = await sql<{ n: string }>`
      select count(*) as n from session_usage_points p join sessions s on s.id = p.session_id
      where p.bucket <> s.usage_bucket`.execute(db)
    expect(Number(elsewhere[0]!.n)).toBe(0)
  })
})
