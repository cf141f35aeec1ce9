import { sql, type RawBuilder, type Transaction } from 'kysely'
import {
  auditLanes,
  auditRetentionDays,
  dropExpiredMonthPartitions,
  ensureMonthPartitions,
  insertAuditEvents,
  MONTHLY_PARTITIONED,
  MONTHS_AHEAD,
  pgArray,
  type Database,
  type Db,
  type MonthlyPartitionedTable,
} from '@radstream/db'
import { sessionEvents } from './audit-events'
import { inTransaction } from './in-transaction'

// Only one sessionizer of a group sweeps at a time; the others find the lock taken and skip.
const SWEEP_LOCK = 0x7261_6473 // "rads"

export interface StaleRules {
  readonly interimMultiplier: number
  readonly withoutInterimSeconds: number
  /** No session heard from within this long is stale, whatever its cadence. */
  readonly minSilenceSeconds: number
}

/**
 * Closes open sessions silent for longer than their rule allows at their last-heard time, cause
 * Lost-Carrier, with an audit event each. The rule: interimMultiplier times the session's cadence
 * (at least minSilenceSeconds), where the cadence is the one learnt from its Interim-Updates (the gap
 * between their two least Acct-Session-Times), else the Acct-Interim-Interval it reported, else the
 * interval its NAS is registered with (many NAS send it only in the Access-Accept); with none of
 * these, withoutInterimSeconds. A session so closed that speaks again reopens (session-store.ts).
 *
 * It reads session_liveness, which the batches keep: for each distinct cadence (a handful: one
 * index probe each), the range of sessions last heard of before that cadence's deadline. So a
 * sweep reads the sessions it closes, not every open one. A row whose session was closed by other
 * means (an Accounting-On, a successor of its address) is removed when its deadline passes.
 * Works in bounded chunks; returns how many it closed.
 */
export async function closeStaleSessions(db: Db, rules: StaleRules, chunk = 1000): Promise<number> {
  let total = 0
  for (;;) {
    const swept = await db.transaction().execute(async (tx) => {
      const { rows } = await sql<{
        locked: boolean
      }>`select pg_try_advisory_xact_lock(${SWEEP_LOCK}) as locked`.execute(tx)
      if (!rows[0]?.locked) return undefined
      return closeStaleChunk(tx, rules, chunk)
    })
    if (swept === undefined) return total
    total += swept.closed
    if (swept.removed < chunk) return total
  }
}

/**
 * One chunk of the stale sweep in the caller's transaction: how many sessions it closed, and how
 * many liveness rows it removed (those of sessions closed now or before; a session a batch holds
 * is left for the next sweep).
 */
export async function closeStaleChunk(
  tx: Transaction<Database>,
  rules: StaleRules,
  chunk: number,
): Promise<{ closed: number; removed: number }> {
  const silence = (cadence: RawBuilder<unknown>) =>
    sql`case when ${cadence} = 0 then ${rules.withoutInterimSeconds}
      else greatest(${rules.interimMultiplier} * ${cadence}, ${rules.minSilenceSeconds}) end`
  const due = await sql<{ session_id: string }>`
    with recursive cadences(cadence) as (
      (select cadence from session_liveness order by cadence limit 1)
      union all
      select (select l.cadence from session_liveness l where l.cadence > c.cadence order by l.cadence limit 1)
      from cadences c where c.cadence is not null
    )
    select d.session_id from cadences c
    cross join lateral (
      select l.session_id, l.heard_at from session_liveness l
      where l.cadence = c.cadence and l.heard_at < now() - make_interval(secs => ${silence(sql.ref('c.cadence'))})
      order by l.heard_at limit ${chunk}
    ) d
    where c.cadence is not null
    order by d.heard_at limit ${chunk}`.execute(tx)
  if (due.rows.length === 0) return { closed: 0, removed: 0 }
  const ids = pgArray(due.rows.map((r) => r.session_id))
  // Closed when its packets last prove it alive: its last event, or its start plus its session time.
  const stale = await sql<{
    session_key: string
    session_id: string
    username: string | null
    update_time: Date
    stop_time: Date
  }>`
    with locked as (
      select id from sessions where id = any(${ids}::bigint[]) and stop_time is null
      order by id for update skip locked
    )
    update sessions s
    set stop_time = greatest(s.update_time, s.start_time + make_interval(secs => coalesce(s.session_time, 0))),
      terminate_cause = 'Lost-Carrier', closed_by = 'stale'
    from locked where s.id = locked.id
    returning s.session_key, s.session_id, s.username, s.update_time, s.stop_time`.execute(tx)
  const removed = await sql`
    delete from session_liveness l using sessions s
    where l.session_id = any(${ids}::bigint[]) and s.id = l.session_id and s.stop_time is not null`.execute(tx)
  await insertAuditEvents(
    tx,
    stale.rows.map((row) => sessionEvents.stale(row)),
    auditLanes.maintenance,
  )
  return { closed: stale.rows.length, removed: Number(removed.numAffectedRows ?? 0) }
}

/**
 * Removes closed sessions older than `retentionDays`, a chunk per transaction so ingest never
 * waits on a long delete, and the console's rollup minutes older than the triggers keep. (Audit
 * events go by month partitions: manageMonthPartitions.) Returns how many rows it removed.
 */
export async function deleteExpired(
  db: Db,
  retentionDays: number,
  chunk = 5000,
): Promise<{ sessions: number; activityMinutes: number }> {
  const removed = { sessions: 0, activityMinutes: 0 }
  for (;;) {
    const result = await sql`
      delete from sessions where id in (
        select id from sessions
        where start_time < now() - make_interval(days => ${retentionDays}) and stop_time is not null
        order by start_time limit ${chunk})`.execute(db)
    const count = Number(result.numAffectedRows ?? 0)
    removed.sessions += count
    if (count < chunk) break
  }
  // The console's per-minute rollups end where the triggers stop changing them (migration 0019).
  for (const table of ['activity_by_lane', 'activity_by_nas']) {
    const result = await sql`delete from ${sql.table(table)} where minute < activity_horizon()`.execute(db)
    removed.activityMinutes += Number(result.numAffectedRows ?? 0)
  }
  return removed
}

/** How many days ahead of the current one have their counter reports' bucket ready. */
const REPORT_BUCKETS_AHEAD = 2
const DAY_MS = 86_400_000
const utcDay = (time: Date) => new Date(Math.floor(time.getTime() / DAY_MS) * DAY_MS)
const isoDay = (day: Date) => day.toISOString().slice(0, 10)

/** What manageReportBuckets did. */
export interface ReportBucketsOutcome {
  /** The day partitions made, by their day. */
  readonly made: string[]
  /** Sessions carried to the current bucket with their reports, and those reports. */
  readonly carriedSessions: number
  readonly carriedReports: number
  /** The buckets dropped (their sessions sealed), by their day. */
  readonly dropped: string[]
}

/**
 * The counter reports' day buckets (migration 0023). Makes today's bucket and the next
 * REPORT_BUCKETS_AHEAD. Then each bucket whose day ended more than `retentionHours` ago: its
 * sessions still open or closed since then (their reports may still be needed: a retransmission, a
 * NAS's buffered accounting, a replay from Kafka) are carried to today's bucket with the reports a
 * packet can still fall between (those of the retention by the session's clock and, for each
 * counter, the one before: a carry copies at most a retention's reports, however old the
 * session), `chunk` sessions a transaction; the bucket is then dropped, which seals the rest
 * (their splits are final, usage.md). A carry first locks its sessions' rows, as a batch's upsert does
 * before it reads their bucket (usage-store.ts), so no report lands in a bucket its session left.
 * A drop waits at most `lockTimeoutMs` for the table (readers queue behind it), else the next run
 * goes on from there.
 */
export async function manageReportBuckets(
  db: Db,
  retentionHours: number,
  now = new Date(),
  { chunk = 200, lockTimeoutMs = 1000 } = {},
): Promise<ReportBucketsOutcome> {
  const today = utcDay(now)
  const made: string[] = []
  for (let ahead = 0; ahead <= REPORT_BUCKETS_AHEAD; ahead++) {
    const day = isoDay(new Date(today.getTime() + ahead * DAY_MS))
    const { rows } = await sql<{ made: boolean }>`select ensure_report_bucket(${day}::date) as made`.execute(db)
    if (rows[0]?.made) made.push(day)
  }
  const cutoff = new Date(now.getTime() - retentionHours * 3_600_000)
  const last = new Date(utcDay(cutoff).getTime() - DAY_MS)
  // The first bucket after the horizon that has sessions or a partition; none: nothing to drop.
  const { rows } = await sql<{ first: string | null }>`
    select to_char(least(
      (select min(usage_bucket) from sessions where usage_bucket > h.dropped_through),
      (select min(substr(c.relname, length('session_usage_points_p') + 1)::date)
        from pg_inherits i join pg_class c on c.oid = i.inhrelid
        where i.inhparent = 'session_usage_points'::regclass and c.relname ~ '_p[0-9]{8}$'
          and substr(c.relname, length('session_usage_points_p') + 1)::date > h.dropped_through)
    ), 'YYYY-MM-DD') as first
    from usage_report_horizon h`.execute(db)
  let carriedSessions = 0
  let carriedReports = 0
  const dropped: string[] = []
  if (!rows[0]?.first) return { made, carriedSessions, carriedReports, dropped }
  for (let day = new Date(`${rows[0].first}T00:00:00Z`); day <= last; day = new Date(day.getTime() + DAY_MS)) {
    const bucket = isoDay(day)
    const { rows: live } = await sql<{ id: string }>`
      select id from sessions where usage_bucket = ${bucket}::date and stop_time is null
      union all
      select id from sessions where usage_bucket = ${bucket}::date and stop_time >= ${cutoff}`.execute(db)
    for (let first = 0; first < live.length; first += chunk) {
      const ids = pgArray(live.slice(first, first + chunk).map((r) => r.id))
      const carried = await inTransaction(db, async (tx) => {
        // For each session, the least Acct-Session-Time it keeps: for each counter, its last report
        // at or before the cutoff (by the session's clock), the left neighbour of any report to come.
        const before = (counter: 'input_octets' | 'output_octets') =>
          sql`(select max(p.session_time) from session_usage_points p
            where p.bucket = ${bucket}::date and p.session_id = s.id and p.${sql.raw(counter)} is not null
              and p.session_time <= extract(epoch from ${cutoff}::timestamptz - s.start_time))`
        const moved = await sql<{ id: string; reports_from: string }>`
          update sessions s set usage_bucket = ${isoDay(today)}::date,
            usage_reports_from = greatest(s.usage_reports_from, least(${before('input_octets')}, ${before('output_octets')}))
          where s.id = any(${ids}::bigint[]) and s.usage_bucket = ${bucket}::date
          returning s.id, s.usage_reports_from as reports_from`.execute(tx)
        const reports = await sql`
          insert into session_usage_points (session_id, session_time, bucket, input_octets, output_octets)
          select p.session_id, p.session_time, ${isoDay(today)}::date, p.input_octets, p.output_octets
          from unnest(${pgArray(moved.rows.map((r) => r.id))}::bigint[], ${pgArray(moved.rows.map((r) => r.reports_from))}::bigint[])
            as m(id, reports_from)
          join session_usage_points p on p.bucket = ${bucket}::date and p.session_id = m.id and p.session_time >= m.reports_from
          on conflict do nothing`.execute(tx)
        return { sessions: moved.rows.length, reports: Number(reports.numAffectedRows ?? 0) }
      })
      carriedSessions += carried.sessions
      carriedReports += carried.reports
    }
    const gone = await db
      .transaction()
      .execute(async (tx) => {
        await sql`select set_config('lock_timeout', ${String(lockTimeoutMs)}, true)`.execute(tx)
        const { rows: drop } = await sql<{ dropped: boolean }>`
          select drop_report_bucket(${bucket}::date) as dropped`.execute(tx)
        return drop[0]?.dropped ?? false
      })
      .catch((error: unknown) => {
        if ((error as { code?: string }).code === '55P03') return undefined // lock_not_available: the next run
        throw error
      })
    if (gone === undefined) break
    if (gone) dropped.push(bucket)
  }
  return { made, carriedSessions, carriedReports, dropped }
}

/** Retention in days of each month-partitioned kind of data that the services set. */
export type ServiceRetentionDays = Record<Exclude<MonthlyPartitionedTable, 'audit_events'>, number>

/**
 * The month partitions (migrations 0020 to 0022): this month's and the next MONTHS_AHEAD made,
 * those past their kind's retention dropped (audit events by the database's own retention), and
 * the default partitions' expired rows removed. Returns what it made, dropped and removed.
 */
export async function manageMonthPartitions(
  db: Db,
  retentionDays: ServiceRetentionDays,
  now = new Date(),
): Promise<{
  made: string[]
  dropped: Record<MonthlyPartitionedTable, string[]>
  defaultRows: Record<MonthlyPartitionedTable, number>
}> {
  const retention = { ...retentionDays, audit_events: await auditRetentionDays(db) }
  const through = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + MONTHS_AHEAD, 1))
  const made: string[] = []
  const dropped = {} as Record<MonthlyPartitionedTable, string[]>
  const defaultRows = {} as Record<MonthlyPartitionedTable, number>
  for (const table of MONTHLY_PARTITIONED) {
    made.push(...(await ensureMonthPartitions(db, table, now, through)))
    ;({ dropped: dropped[table], defaultRows: defaultRows[table] } = await dropExpiredMonthPartitions(
      db,
      table,
      retention[table],
      now,
    ))
  }
  return { made, dropped, defaultRows }
}
