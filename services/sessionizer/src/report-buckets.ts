import { sql } from 'kysely'
import { pgArray, type Db } from '@radstream/db'
import { inTransaction } from './in-transaction'

/** How many days ahead of the current one have their counter reports' bucket ready. */
const REPORT_BUCKETS_AHEAD = 2
/**
 * How many days ahead of the current one a carried session's bucket is. Each carry copies the last
 * retention's reports of a session (a week by default); a bucket three weeks ahead is settled
 * about four weeks on, so an always-on session's reports are copied about a quarter of a time
 * each, where a carry to the current day, settled a week on, copied each of them about once.
 */
const CARRY_AHEAD_DAYS = 21
const DAY_MS = 86_400_000
const utcDay = (time: Date) => new Date(Math.floor(time.getTime() / DAY_MS) * DAY_MS)
const isoDay = (day: Date) => day.toISOString().slice(0, 10)

/** What manageReportBuckets did. */
export interface ReportBucketsOutcome {
  /** The day partitions made, by their day. */
  readonly made: string[]
  /** Sessions carried to a later bucket with their reports, and those reports. */
  readonly carriedSessions: number
  readonly carriedReports: number
  /** The buckets dropped (their sessions sealed), by their day. */
  readonly dropped: string[]
}

/**
 * The counter reports' day buckets (migration 0023). Makes today's bucket and the next
 * REPORT_BUCKETS_AHEAD. Then each bucket whose day ended more than `retentionHours` ago, oldest
 * first: its live sessions are carried to the bucket CARRY_AHEAD_DAYS ahead (carryLiveSessions),
 * then the bucket is dropped, which seals the rest (their splits are final, usage.md). A drop waits at most
 * `lockTimeoutMs` for the table (readers queue behind it), else the next run goes on from there.
 */
export async function manageReportBuckets(
  db: Db,
  retentionHours: number,
  now = new Date(),
  { chunk = 25, lockTimeoutMs = 1000 } = {},
): Promise<ReportBucketsOutcome> {
  const today = utcDay(now)
  const carryTo = isoDay(new Date(today.getTime() + CARRY_AHEAD_DAYS * DAY_MS))
  const made: string[] = []
  const ahead = Array.from({ length: REPORT_BUCKETS_AHEAD + 1 }, (_, days) =>
    isoDay(new Date(today.getTime() + days * DAY_MS)),
  )
  for (const day of [...ahead, carryTo]) {
    const { rows } = await sql<{ made: boolean }>`select ensure_report_bucket(${day}::date) as made`.execute(db)
    if (rows[0]?.made) made.push(day)
  }
  const cutoff = new Date(now.getTime() - retentionHours * 3_600_000)
  const last = new Date(utcDay(cutoff).getTime() - DAY_MS)
  let carriedSessions = 0
  let carriedReports = 0
  const dropped: string[] = []
  const first = await firstBucketAfterHorizon(db)
  for (let day = first; day !== undefined && day <= last; day = new Date(day.getTime() + DAY_MS)) {
    const carried = await carryLiveSessions(db, isoDay(day), carryTo, cutoff, chunk)
    carriedSessions += carried.sessions
    carriedReports += carried.reports
    const gone = await dropBucket(db, isoDay(day), lockTimeoutMs)
    if (gone === undefined) break
    if (gone) dropped.push(isoDay(day))
  }
  return { made, carriedSessions, carriedReports, dropped }
}

/** The first bucket after the horizon that has sessions or a partition; undefined when none has. */
async function firstBucketAfterHorizon(db: Db): Promise<Date | undefined> {
  const { rows } = await sql<{ first: string | null }>`
    select to_char(least(
      (select min(usage_bucket) from sessions where usage_bucket > h.dropped_through),
      (select min(substr(c.relname, length('session_usage_points_p') + 1)::date)
        from pg_inherits i join pg_class c on c.oid = i.inhrelid
        where i.inhparent = 'session_usage_points'::regclass and c.relname ~ '_p[0-9]{8}$'
          and substr(c.relname, length('session_usage_points_p') + 1)::date > h.dropped_through)
    ), 'YYYY-MM-DD') as first
    from usage_report_horizon h`.execute(db)
  return rows[0]?.first ? new Date(`${rows[0].first}T00:00:00Z`) : undefined
}

/**
 * Carries the sessions of `bucket` still open or closed since `cutoff` (their reports may still be
 * needed: a retransmission, a NAS's buffered accounting, a replay from Kafka) to bucket `to`, with
 * the reports a packet can still fall between: those since the cutoff by the session's clock and,
 * for each counter, the one before. So a carry copies at most a retention's reports, however old
 * the session. `chunk` sessions a transaction (a week of 5-minute reports each: some 50,000 rows,
 * a fraction of a second that batches of those sessions wait), each first locking its sessions' rows, as a batch's
 * upsert does before it reads their bucket (usage-store.ts): no report lands in a bucket its
 * session left, and the copy, a statement after the lock, sees every report committed before it.
 */
async function carryLiveSessions(
  db: Db,
  bucket: string,
  to: string,
  cutoff: Date,
  chunk: number,
): Promise<{ sessions: number; reports: number }> {
  const { rows: live } = await sql<{ id: string }>`
    select id from sessions where usage_bucket = ${bucket}::date and stop_time is null
    union all
    select id from sessions where usage_bucket = ${bucket}::date and stop_time >= ${cutoff}`.execute(db)
  const carried = { sessions: 0, reports: 0 }
  for (let first = 0; first < live.length; first += chunk) {
    const ids = pgArray(live.slice(first, first + chunk).map((r) => r.id))
    await inTransaction(db, async (tx) => {
      // For each session, the least Acct-Session-Time it keeps: for each counter, its last report
      // at or before the cutoff (by the session's clock), the left neighbour of any report to come.
      const before = (counter: 'input_octets' | 'output_octets') =>
        sql`(select max(p.session_time) from session_usage_points p
          where p.bucket = ${bucket}::date and p.session_id = s.id and p.${sql.raw(counter)} is not null
            and p.session_time <= extract(epoch from ${cutoff}::timestamptz - s.start_time))`
      const moved = await sql<{ id: string; reports_from: string }>`
        update sessions s set usage_bucket = ${to}::date,
          usage_reports_from = greatest(s.usage_reports_from, least(${before('input_octets')}, ${before('output_octets')}))
        where s.id = any(${ids}::bigint[]) and s.usage_bucket = ${bucket}::date
        returning s.id, s.usage_reports_from as reports_from`.execute(tx)
      const reports = await sql`
        insert into session_usage_points (session_id, session_time, bucket, input_octets, output_octets)
        select p.session_id, p.session_time, ${to}::date, p.input_octets, p.output_octets
        from unnest(${pgArray(moved.rows.map((r) => r.id))}::bigint[], ${pgArray(moved.rows.map((r) => r.reports_from))}::bigint[])
          as m(id, reports_from)
        join session_usage_points p on p.bucket = ${bucket}::date and p.session_id = m.id and p.session_time >= m.reports_from
        on conflict do nothing`.execute(tx)
      carried.sessions += moved.rows.length
      carried.reports += Number(reports.numAffectedRows ?? 0)
    })
  }
  return carried
}

/**
 * Drops a bucket's partition and moves the horizon to it, in one transaction (drop_report_bucket):
 * true when a partition went, false when it had none, undefined when its lock was not had within
 * `lockTimeoutMs` (the next run tries again).
 */
async function dropBucket(db: Db, bucket: string, lockTimeoutMs: number): Promise<boolean | undefined> {
  return db
    .transaction()
    .execute(async (tx) => {
      await sql`select set_config('lock_timeout', ${String(lockTimeoutMs)}, true)`.execute(tx)
      const { rows } = await sql<{ dropped: boolean }>`select drop_report_bucket(${bucket}::date) as dropped`.execute(
        tx,
      )
      return rows[0]?.dropped ?? false
    })
    .catch((error: unknown) => {
      if ((error as { code?: string }).code === '55P03') return undefined // lock_not_available
      throw error
    })
}
