import { sql, type Transaction } from 'kysely'
import { effectiveMonthlyQuota, pgArray, type ArrayElement, type Database, type NewAuditEvent } from '@radstream/db'
import type { AccountingRecord } from '@radstream/events'
import { AcctStatusType } from '@radstream/radius'
import type { WrittenSession } from './session-store'
import { splitUsageByDay, type DayShare, type UsagePoint } from './usage-split'

type Tx = Transaction<Database>

interface Share {
  readonly userId: string
  readonly day: string
  readonly inputOctets: bigint
  readonly outputOctets: bigint
  readonly sessionTime: bigint
  readonly sessions: number
}

/** A change to one user's rollup of one period. */
interface Delta {
  userId: string
  period: string
  inputOctets: bigint
  outputOctets: bigint
  sessionTime: bigint
  sessions: number
}

/** A session packet with the key applyBatch already gave its session. */
export interface KeyedRecord {
  readonly key: string
  readonly record: AccountingRecord
}

/** One counter report of a session, keyed by the session's key. */
interface Report {
  readonly key: string
  readonly sessionTime: number
  /** The 64-bit octet totals, in decimal. */
  readonly input: string
  readonly output: string
}

/** Counter reports of a run of records: Interim-Updates and Stops that carry both octet counts. */
function reportsOf(records: readonly KeyedRecord[]): Report[] {
  return records.flatMap(({ key, record }) => {
    const a = record.accounting
    const reports = a.statusType === AcctStatusType.InterimUpdate || a.statusType === AcctStatusType.Stop
    if (!reports || a.sessionTime === undefined || a.inputOctets === undefined || a.outputOctets === undefined)
      return []
    return [{ key, sessionTime: a.sessionTime, input: a.inputOctets, output: a.outputOctets }]
  })
}

const monthOf = (day: string) => `${day.slice(0, 7)}-01`

/** Adds `sign` times each share to the deltas of its user's day and month. */
function addShares(deltas: Map<string, Delta>, shares: readonly Share[], sign: 1n | -1n, byMonth: boolean) {
  for (const share of shares) {
    const period = byMonth ? monthOf(share.day) : share.day
    const id = `${share.userId}/${period}`
    const delta = deltas.get(id) ?? {
      userId: share.userId,
      period,
      inputOctets: 0n,
      outputOctets: 0n,
      sessionTime: 0n,
      sessions: 0,
    }
    delta.inputOctets += sign * share.inputOctets
    delta.outputOctets += sign * share.outputOctets
    delta.sessionTime += sign * share.sessionTime
    delta.sessions += Number(sign) * share.sessions
    deltas.set(id, delta)
  }
}

const isZero = (d: Delta) => d.inputOctets === 0n && d.outputOctets === 0n && d.sessionTime === 0n && d.sessions === 0

/** Applies deltas to a rollup, in (user, period) order so that concurrent batches lock rows alike. */
async function applyDeltas(tx: Tx, table: 'usage_daily' | 'usage_monthly', deltas: Iterable<Delta>): Promise<void> {
  const rows = [...deltas]
    .filter((d) => !isZero(d))
    .sort((a, b) => (a.userId === b.userId ? a.period.localeCompare(b.period) : Number(a.userId) - Number(b.userId)))
  if (rows.length === 0) return
  const period = sql.id(table === 'usage_daily' ? 'day' : 'month')
  const column = (pick: (d: Delta) => ArrayElement) => pgArray(rows.map(pick))
  // Array parameters and unnest, which keeps rows in array order: the statement is the same
  // whatever the batch, and PostgreSQL parses and plans a few parameters, not six a row.
  await sql`
    insert into ${sql.table(table)} as t (user_id, ${period}, input_octets, output_octets, session_time, sessions)
    select * from unnest(${column((d) => d.userId)}::bigint[], ${column((d) => d.period)}::date[],
      ${column((d) => d.inputOctets)}::numeric[], ${column((d) => d.outputOctets)}::numeric[],
      ${column((d) => d.sessionTime)}::bigint[], ${column((d) => d.sessions)}::integer[])
    on conflict (user_id, ${period}) do update set
      input_octets = t.input_octets + excluded.input_octets,
      output_octets = t.output_octets + excluded.output_octets,
      session_time = t.session_time + excluded.session_time,
      sessions = t.sessions + excluded.sessions`.execute(tx)
  // A period a session's share left (its start moved across midnight, say) keeps no empty row:
  // the rollups are the same whatever order got them there. Only a decrease can empty one.
  const shrunk = rows.filter((d) => d.inputOctets < 0n || d.outputOctets < 0n || d.sessionTime < 0n || d.sessions < 0)
  if (shrunk.length === 0) return
  await sql`
    delete from ${sql.table(table)} t
    using unnest(${pgArray(shrunk.map((d) => d.userId))}::bigint[], ${pgArray(shrunk.map((d) => d.period))}::date[]) as v(user_id, period)
    where t.user_id = v.user_id and t.${period} = v.period
      and t.input_octets = 0 and t.output_octets = 0 and t.session_time = 0 and t.sessions = 0`.execute(tx)
}

/** The audit event of a user passing their monthly quota: once per user and month. */
function quotaExceeded(crossing: { user_id: string; username: string; month: string; total: string; quota: string }) {
  const month = crossing.month.slice(0, 7)
  return {
    eventKey: `usage.quota-exceeded:${crossing.user_id}:${month}`,
    initiatorType: 'SYSTEM',
    initiatorId: '',
    operation: 'UPDATE',
    entityType: 'USER',
    entityId: String(crossing.user_id),
    entityName: crossing.username,
    description: `User ${crossing.username} passed the monthly quota of ${crossing.quota} octets in ${month} (${crossing.total} used)`,
    fields: [{ name: 'overQuota', oldValue: null, newValue: month }],
  } satisfies NewAuditEvent
}

/** A session's share of one day, as session_usage_days keeps it. */
interface DayRow extends Share {
  readonly sessionId: string
}

const dayRowKey = (row: Pick<DayRow, 'sessionId' | 'day'>) => `${row.sessionId}/${row.day}`

const sameShare = (a: DayRow, b: DayRow) =>
  a.userId === b.userId &&
  a.inputOctets === b.inputOctets &&
  a.outputOctets === b.outputOctets &&
  a.sessionTime === b.sessionTime &&
  a.sessions === b.sessions

/** Stores counter reports: one per session and Acct-Session-Time; two that disagree keep the greater counters. */
async function storeReports(tx: Tx, reports: readonly { sessionId: string; report: Report }[]): Promise<void> {
  if (reports.length === 0) return
  await sql`
    insert into session_usage_points as p (session_id, session_time, input_octets, output_octets)
    select distinct on (1, 2) * from unnest(${pgArray(reports.map((r) => r.sessionId))}::bigint[],
      ${pgArray(reports.map((r) => r.report.sessionTime))}::bigint[], ${pgArray(reports.map((r) => r.report.input))}::numeric[],
      ${pgArray(reports.map((r) => r.report.output))}::numeric[])
    order by 1, 2, 3 desc, 4 desc
    on conflict (session_id, session_time) do update set
      input_octets = greatest(p.input_octets, excluded.input_octets),
      output_octets = greatest(p.output_octets, excluded.output_octets)`.execute(tx)
}

/** Each session's split by day, from its start, time and every report it has; `ids` is their ids as pgArray makes them. */
async function freshSplits(tx: Tx, sessions: readonly WrittenSession[], ids: string): Promise<DayRow[]> {
  const points = await sql<{ session_id: string; session_time: string; input_octets: string; output_octets: string }>`
    select session_id, session_time, input_octets, output_octets from session_usage_points
    where session_id = any(${ids}::bigint[])`.execute(tx)
  const pointsOf = new Map<string, UsagePoint[]>()
  for (const p of points.rows) {
    const list = pointsOf.get(p.session_id) ?? []
    list.push({
      sessionTime: Number(p.session_time),
      inputOctets: BigInt(p.input_octets),
      outputOctets: BigInt(p.output_octets),
    })
    pointsOf.set(p.session_id, list)
  }
  return sessions.flatMap((s) =>
    splitUsageByDay(s.start_time.getTime(), Number(s.session_time ?? 0), pointsOf.get(s.id) ?? []).map(
      (d: DayShare) => ({ ...d, sessionId: s.id, userId: String(s.user_id), sessionTime: BigInt(d.sessionTime) }),
    ),
  )
}

/** The day rows the sessions of `ids` (as pgArray makes them) had before the batch, by dayRowKey. */
async function previousSplits(tx: Tx, ids: string): Promise<Map<string, DayRow>> {
  const rows = await sql<{
    session_id: string
    day: string
    user_id: string
    input_octets: string
    output_octets: string
    session_time: string
    sessions: number
  }>`select session_id, to_char(day, 'YYYY-MM-DD') as day, user_id, input_octets, output_octets, session_time, sessions
    from session_usage_days where session_id = any(${ids}::bigint[])`.execute(tx)
  const days = rows.rows.map((p) => ({
    sessionId: p.session_id,
    userId: p.user_id,
    day: p.day,
    inputOctets: BigInt(p.input_octets),
    outputOctets: BigInt(p.output_octets),
    sessionTime: BigInt(p.session_time),
    sessions: p.sessions,
  }))
  return new Map(days.map((d) => [dayRowKey(d), d]))
}

/** Writes the day rows that changed and deletes those a session's split no longer has. */
async function writeSplits(tx: Tx, changed: readonly DayRow[], vanished: readonly DayRow[]): Promise<void> {
  if (changed.length > 0) {
    const column = (pick: (d: DayRow) => ArrayElement) => pgArray(changed.map(pick))
    await sql`
      insert into session_usage_days (session_id, day, user_id, input_octets, output_octets, session_time, sessions)
      select * from unnest(${column((d) => d.sessionId)}::bigint[], ${column((d) => d.day)}::date[],
        ${column((d) => d.userId)}::bigint[], ${column((d) => d.inputOctets)}::numeric[],
        ${column((d) => d.outputOctets)}::numeric[], ${column((d) => d.sessionTime)}::bigint[],
        ${column((d) => d.sessions)}::integer[])
      on conflict (session_id, day) do update set user_id = excluded.user_id, input_octets = excluded.input_octets,
        output_octets = excluded.output_octets, session_time = excluded.session_time, sessions = excluded.sessions`.execute(
      tx,
    )
  }
  if (vanished.length > 0) {
    await sql`
      delete from session_usage_days d
      using unnest(${pgArray(vanished.map((d) => d.sessionId))}::bigint[], ${pgArray(vanished.map((d) => d.day))}::date[]) as v(session_id, day)
      where d.session_id = v.session_id and d.day = v.day`.execute(tx)
  }
}

/**
 * Keeps usage in step with the sessions a batch wrote: stores the batch's counter reports, splits
 * each touched session's usage by day afresh from all its reports, writes the days whose share
 * changed and moves the daily and monthly rollups by the difference. A replay adds no report and
 * changes no split, so it changes nothing; reports in any order give the same splits. Users who
 * pass their monthly quota get one audit event per month.
 */
export async function updateUsage(
  tx: Tx,
  records: readonly KeyedRecord[],
  sessions: readonly WrittenSession[],
): Promise<NewAuditEvent[]> {
  if (sessions.length === 0) return []
  const idOf = new Map(sessions.map((s) => [s.session_key, s.id]))
  await storeReports(
    tx,
    reportsOf(records).flatMap((report) => {
      const sessionId = idOf.get(report.key)
      return sessionId === undefined ? [] : [{ sessionId, report }]
    }),
  )
  // A session's user, once known, stays: one without has no days yet (its reports are kept for when it has).
  const withUser = sessions.filter((s) => s.user_id !== null)
  if (withUser.length === 0) return []
  const ids = pgArray(withUser.map((s) => s.id))
  const fresh = await freshSplits(tx, withUser, ids)
  const before = await previousSplits(tx, ids)
  const changed: DayRow[] = []
  const daily = new Map<string, Delta>()
  const monthly = new Map<string, Delta>()
  const move = (rows: readonly Share[], sign: 1n | -1n) => {
    addShares(daily, rows, sign, false)
    addShares(monthly, rows, sign, true)
  }
  for (const row of fresh) {
    const key = dayRowKey(row)
    const old = before.get(key)
    before.delete(key)
    if (old && sameShare(old, row)) continue
    changed.push(row)
    move([row], 1n)
    if (old) move([old], -1n)
  }
  const vanished = [...before.values()]
  move(vanished, -1n)
  if (changed.length === 0 && vanished.length === 0) return []

  await writeSplits(tx, changed, vanished)
  await applyDeltas(tx, 'usage_daily', daily.values())
  await applyDeltas(tx, 'usage_monthly', monthly.values())

  const grown = [...monthly.values()].filter((d) => d.inputOctets + d.outputOctets > 0n)
  if (grown.length === 0) return []
  const crossings = await sql<{ user_id: string; username: string; month: string; total: string; quota: string }>`
    with candidates as (
      select m.user_id, u.username, m.month, m.input_octets + m.output_octets as total,
        ${effectiveMonthlyQuota(sql.ref('u.id'), sql.ref('u.username'))} as quota
      from usage_monthly m
      join users u on u.id = m.user_id
      where exists (select 1 from usage_quotas)
        and (m.user_id, m.month) in (
          select * from unnest(${pgArray(grown.map((d) => d.userId))}::bigint[], ${pgArray(grown.map((d) => d.period))}::date[]))
    ), crossed as (
      insert into quota_crossings (user_id, month, monthly_octets)
      select user_id, month, quota from candidates where quota is not null and total >= quota
      on conflict do nothing
      returning user_id, month
    )
    select c.user_id::text, c.username, c.month, c.total::text, c.quota::text
    from crossed x join candidates c using (user_id, month)`.execute(tx)
  return crossings.rows.map(quotaExceeded)
}
