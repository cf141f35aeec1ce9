import { sql, type Transaction } from 'kysely'
import { effectiveMonthlyQuota, pgArray, type ArrayElement, type Database, type NewAuditEvent } from '@radstream/db'
import type { AccountingRecord } from '@radstream/events'
import { AcctStatusType } from '@radstream/radius'
import type { WrittenSession } from './session-store'
import { splitChange, splitUsageByDay, type DayShare, type Reading, type UsagePoint } from './usage-split'

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
  /** The 64-bit octet totals, in decimal; null for a counter the packet did not carry. */
  readonly input: string | null
  readonly output: string | null
}

/** Counter reports of a run of records: Interim-Updates and Stops that carry an octet count. */
function reportsOf(records: readonly KeyedRecord[]): Report[] {
  return records.flatMap(({ key, record }) => {
    const a = record.accounting
    const reports = a.statusType === AcctStatusType.InterimUpdate || a.statusType === AcctStatusType.Stop
    if (!reports || a.sessionTime === undefined || (a.inputOctets === undefined && a.outputOctets === undefined))
      return []
    return [{ key, sessionTime: a.sessionTime, input: a.inputOctets ?? null, output: a.outputOctets ?? null }]
  })
}

const pointOf = (r: Report): UsagePoint => ({
  sessionTime: r.sessionTime,
  inputOctets: r.input === null ? null : BigInt(r.input),
  outputOctets: r.output === null ? null : BigInt(r.output),
})

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

/** A counter report of a session, with the bucket its session's reports live in. */
interface BucketedReport {
  readonly sessionId: string
  readonly bucket: string
  readonly report: Report
}

/**
 * Stores counter reports in their session's bucket: one per session and Acct-Session-Time; two
 * that disagree keep the greater of each counter. A report the table already holds writes nothing.
 */
async function storeReports(tx: Tx, reports: readonly BucketedReport[]): Promise<void> {
  if (reports.length === 0) return
  await sql`
    insert into session_usage_points as p (session_id, session_time, bucket, input_octets, output_octets)
    select session_id, session_time, bucket, max(input_octets), max(output_octets)
    from unnest(${pgArray(reports.map((r) => r.sessionId))}::bigint[], ${pgArray(reports.map((r) => r.report.sessionTime))}::bigint[],
      ${pgArray(reports.map((r) => r.bucket))}::date[],
      ${pgArray(reports.map((r) => r.report.input))}::numeric[], ${pgArray(reports.map((r) => r.report.output))}::numeric[])
      as r(session_id, session_time, bucket, input_octets, output_octets)
    group by 1, 2, 3
    order by 1, 2
    on conflict (session_id, session_time, bucket) do update set
      input_octets = greatest(p.input_octets, excluded.input_octets),
      output_octets = greatest(p.output_octets, excluded.output_octets)
    where (p.input_octets, p.output_octets) is distinct from
      (greatest(p.input_octets, excluded.input_octets), greatest(p.output_octets, excluded.output_octets))`.execute(tx)
}

/** For each counter, the stored readings around new reports of a session (usage-split.ts's counterChange). */
interface StoredAround {
  input: Reading[]
  output: Reading[]
}

/** Where a session's counter reports are (migration 0023). */
interface ReportPlace {
  /** Its bucket: the day partition that holds its reports. */
  readonly bucket: string
  /** The least Acct-Session-Time it kept when carried: a report before that is final. */
  readonly reportsFrom: number
}

/**
 * Where the reports of each session of `ids` are. Read after the batch's upsert locked the
 * sessions' rows: the sweep that carries a session to a later bucket takes that lock first
 * (report-buckets.ts), so what this reads stands until the batch commits.
 */
async function reportPlaces(tx: Tx, ids: readonly string[]): Promise<Map<string, ReportPlace>> {
  if (ids.length === 0) return new Map()
  const { rows } = await sql<{ id: string; bucket: string; reports_from: string }>`
    select id, usage_bucket::text as bucket, usage_reports_from as reports_from
    from sessions where id = any(${pgArray(ids)}::bigint[])`.execute(tx)
  return new Map(rows.map((r) => [r.id, { bucket: r.bucket, reportsFrom: Number(r.reports_from) }]))
}

/**
 * A bucket written into the statement, so that PostgreSQL plans its probes against that one
 * partition. As a value of each row (a join with sessions), it planned every partition's probes
 * and pruned them as it ran: at a week's partitions, some 3 ms a batch of 200 reports, a third of
 * what the batch's Interim-Updates cost PostgreSQL altogether.
 */
function bucketLiteral(bucket: string) {
  if (!/^(-?infinity|\d{4}-\d{2}-\d{2})$/.test(bucket)) throw new Error(`not a report bucket: ${bucket}`)
  return sql`${sql.lit(bucket)}::date`
}

/** Groups `items` by the bucket of their session. */
function byBucket<T>(items: readonly T[], sessionOf: (item: T) => string, places: ReadonlyMap<string, ReportPlace>) {
  const groups = new Map<string, T[]>()
  for (const item of items) {
    const bucket = places.get(sessionOf(item))!.bucket
    const group = groups.get(bucket)
    if (group) group.push(item)
    else groups.set(bucket, [item])
  }
  return groups
}

/** Whether a bucket was dropped (its sessions sealed), as SQL. */
const bucketDropped = (bucket: string) =>
  sql`${bucketLiteral(bucket)} <= (select dropped_through from usage_report_horizon)`

/**
 * For each report, the session's stored reports just before and after it by each counter and at
 * its own time: five index probes a report in its session's bucket (one partition), however many
 * reports the session and the table have. In the same statement, which sessions are sealed (their
 * bucket dropped), so that a drop that commits meanwhile cannot be half seen.
 */
async function storedAround(
  tx: Tx,
  reports: readonly { sessionId: string; report: Report }[],
  places: ReadonlyMap<string, ReportPlace>,
): Promise<{ around: Map<string, StoredAround>; sealed: Set<string> }> {
  const around = new Map<string, StoredAround>()
  const sealed = new Set<string>()
  if (reports.length === 0) return { around, sealed }
  const branches = [...byBucket(reports, (r) => r.sessionId, places)].map(([bucket, group]) => {
    const probe = (counter: 'input_octets' | 'output_octets', side: '<' | '>') =>
      sql`(select session_time, input_octets, output_octets from session_usage_points p
        where p.bucket = ${bucketLiteral(bucket)} and p.session_id = r.session_id
          and p.session_time ${sql.raw(side)} r.session_time and p.${sql.raw(counter)} is not null
        order by p.session_time ${sql.raw(side === '<' ? 'desc' : 'asc')} limit 1)`
    return sql`(
      select r.session_id, n.session_time, n.input_octets, n.output_octets, ${bucketDropped(bucket)} as sealed
      from unnest(${pgArray(group.map((r) => r.sessionId))}::bigint[], ${pgArray(group.map((r) => r.report.sessionTime))}::bigint[])
        as r(session_id, session_time)
      left join lateral (
        ${probe('input_octets', '<')} union all ${probe('input_octets', '>')}
        union all ${probe('output_octets', '<')} union all ${probe('output_octets', '>')}
        union all (select session_time, input_octets, output_octets from session_usage_points p
          where p.bucket = ${bucketLiteral(bucket)} and p.session_id = r.session_id and p.session_time = r.session_time)
      ) n on true)`
  })
  const { rows } = await sql<{
    session_id: string
    session_time: string | null
    input_octets: string | null
    output_octets: string | null
    sealed: boolean
  }>`${sql.join(branches, sql` union all `)}`.execute(tx)
  for (const row of rows) {
    if (row.sealed) sealed.add(row.session_id)
    if (row.session_time === null) continue
    const stored = around.get(row.session_id) ?? { input: [], output: [] }
    const sessionTime = Number(row.session_time)
    if (row.input_octets !== null) stored.input.push({ sessionTime, value: BigInt(row.input_octets) })
    if (row.output_octets !== null) stored.output.push({ sessionTime, value: BigInt(row.output_octets) })
    around.set(row.session_id, stored)
  }
  for (const stored of around.values()) {
    stored.input = uniqueReadings(stored.input)
    stored.output = uniqueReadings(stored.output)
  }
  return { around, sealed }
}

/** Readings once each (two reports' probes may find the same neighbour). */
function uniqueReadings(readings: readonly Reading[]): Reading[] {
  return [...new Map(readings.map((r) => [r.sessionTime, r])).values()]
}

/**
 * Each session's split by day, from its start, time and every report it has. A sealed session (in
 * the same statement, see storedAround) is left out, and returned apart: its split stays as it is.
 * So is a carried session that kept only its last reports (migration 0023): a split afresh needs
 * them all.
 */
async function freshSplits(
  tx: Tx,
  sessions: readonly WrittenSession[],
  places: ReadonlyMap<string, ReportPlace>,
): Promise<{ rows: DayRow[]; sealed: Set<string> }> {
  const sealed = new Set(sessions.filter((s) => places.get(s.id)!.reportsFrom > 0).map((s) => s.id))
  const branches = [
    ...byBucket(
      sessions.filter((s) => !sealed.has(s.id)),
      (s) => s.id,
      places,
    ),
  ].map(
    ([bucket, group]) => sql`(
      select ${bucket} as bucket, ${bucketDropped(bucket)} as sealed, p.session_id, p.session_time, p.input_octets, p.output_octets
      from (select) one left join session_usage_points p on not ${bucketDropped(bucket)}
        and p.bucket = ${bucketLiteral(bucket)} and p.session_id = any(${pgArray(group.map((s) => s.id))}::bigint[]))`,
  )
  const points =
    branches.length === 0
      ? []
      : (
          await sql<{
            bucket: string
            sealed: boolean
            session_id: string | null
            session_time: string | null
            input_octets: string | null
            output_octets: string | null
          }>`${sql.join(branches, sql` union all `)}`.execute(tx)
        ).rows
  const sealedBuckets = new Set(points.filter((p) => p.sealed).map((p) => p.bucket))
  for (const s of sessions) if (sealedBuckets.has(places.get(s.id)!.bucket)) sealed.add(s.id)
  const pointsOf = new Map<string, UsagePoint[]>()
  for (const p of points) {
    if (p.session_id === null || p.session_time === null) continue
    const list = pointsOf.get(p.session_id) ?? []
    list.push({
      sessionTime: Number(p.session_time),
      inputOctets: p.input_octets === null ? null : BigInt(p.input_octets),
      outputOctets: p.output_octets === null ? null : BigInt(p.output_octets),
    })
    pointsOf.set(p.session_id, list)
  }
  const rows = sessions
    .filter((s) => !sealed.has(s.id))
    .flatMap((s) =>
      splitUsageByDay(s.start_time.getTime(), Number(s.session_time ?? 0), pointsOf.get(s.id) ?? []).map(
        (d: DayShare) => ({ ...d, sessionId: s.id, userId: String(s.user_id), sessionTime: BigInt(d.sessionTime) }),
      ),
    )
  return { rows, sealed }
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

/** Adds each change to its session's day row, making the rows of days the session newly reaches. */
async function addToSplits(tx: Tx, changes: readonly DayRow[]): Promise<void> {
  if (changes.length === 0) return
  const column = (pick: (d: DayRow) => ArrayElement) => pgArray(changes.map(pick))
  await sql`
    insert into session_usage_days as d (session_id, day, user_id, input_octets, output_octets, session_time, sessions)
    select * from unnest(${column((d) => d.sessionId)}::bigint[], ${column((d) => d.day)}::date[],
      ${column((d) => d.userId)}::bigint[], ${column((d) => d.inputOctets)}::numeric[],
      ${column((d) => d.outputOctets)}::numeric[], ${column((d) => d.sessionTime)}::bigint[],
      ${column((d) => d.sessions)}::integer[])
    on conflict (session_id, day) do update set input_octets = d.input_octets + excluded.input_octets,
      output_octets = d.output_octets + excluded.output_octets, session_time = d.session_time + excluded.session_time`.execute(
    tx,
  )
}

/**
 * Keeps usage in step with the sessions a batch wrote, and the rollups with the difference.
 * A session whose start and user stand as before the batch takes the incremental path: its new
 * reports are split against their stored neighbours only (storedAround), so an Interim-Update costs
 * the same whatever the session's age. A new session, one whose user just became known or whose
 * start moved (every interval moves with it) is split afresh from all its reports. Either way the
 * day rows equal the full split of every report (usage-split.test.ts). A replay adds no report and
 * changes no split, so it writes nothing; reports in any order give the same splits. A sealed
 * session (its reports dropped, usage.md) keeps its split, and a carried one its split before the
 * reports it kept. Users who pass their monthly quota get one audit event per month.
 */
export async function updateUsage(
  tx: Tx,
  records: readonly KeyedRecord[],
  sessions: readonly WrittenSession[],
  before: ReadonlyMap<string, WrittenSession>,
): Promise<NewAuditEvent[]> {
  if (sessions.length === 0) return []
  const byKey = new Map(sessions.map((s) => [s.session_key, s]))
  const reports = reportsOf(records).flatMap((report) => {
    const session = byKey.get(report.key)
    return session === undefined ? [] : [{ sessionId: session.id, report }]
  })
  const incremental = new Set<string>()
  for (const s of sessions) {
    const prior = before.get(s.session_key)
    if (prior && prior.user_id !== null && prior.start_time.getTime() === s.start_time.getTime()) incremental.add(s.id)
  }
  const places = await reportPlaces(
    tx,
    sessions.map((s) => s.id),
  )
  const { around, sealed } = await storedAround(tx, reports, places)
  const kept = reports.filter(
    (r) => !sealed.has(r.sessionId) && r.report.sessionTime >= places.get(r.sessionId)!.reportsFrom,
  )
  await storeReports(
    tx,
    kept.map((r) => ({ ...r, bucket: places.get(r.sessionId)!.bucket })),
  )
  const reportsOfSession = new Map<string, UsagePoint[]>()
  for (const { sessionId, report } of kept) {
    const list = reportsOfSession.get(sessionId) ?? []
    list.push(pointOf(report))
    reportsOfSession.set(sessionId, list)
  }

  const daily = new Map<string, Delta>()
  const monthly = new Map<string, Delta>()
  const move = (rows: readonly Share[], sign: 1n | -1n) => {
    addShares(daily, rows, sign, false)
    addShares(monthly, rows, sign, true)
  }

  // A session's user, once known, stays: one without has no days yet (its reports are kept for when it has).
  const stepped: DayRow[] = []
  const afresh: WrittenSession[] = []
  for (const s of sessions) {
    if (s.user_id === null || sealed.has(s.id)) continue
    if (!incremental.has(s.id)) {
      afresh.push(s)
      continue
    }
    const prior = before.get(s.session_key)!
    const { changes } = splitChange(s.start_time.getTime(), {
      sessionTimeBefore: Number(prior.session_time ?? 0),
      sessionTimeAfter: Number(s.session_time ?? 0),
      storedInput: around.get(s.id)?.input ?? [],
      storedOutput: around.get(s.id)?.output ?? [],
      incoming: reportsOfSession.get(s.id) ?? [],
    })
    for (const [day, change] of changes)
      stepped.push({ sessionId: s.id, userId: String(s.user_id), day, ...change, sessions: 0 })
  }
  move(stepped, 1n)
  await addToSplits(tx, stepped)

  if (afresh.length > 0) {
    const ids = pgArray(afresh.map((s) => s.id))
    const fresh = await freshSplits(tx, afresh, places)
    const previous = await previousSplits(tx, ids)
    for (const [key, row] of previous) if (fresh.sealed.has(row.sessionId)) previous.delete(key)
    const changed: DayRow[] = []
    for (const row of fresh.rows) {
      const key = dayRowKey(row)
      const old = previous.get(key)
      previous.delete(key)
      if (old && sameShare(old, row)) continue
      changed.push(row)
      move([row], 1n)
      if (old) move([old], -1n)
    }
    const vanished = [...previous.values()]
    move(vanished, -1n)
    await writeSplits(tx, changed, vanished)
  }
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
