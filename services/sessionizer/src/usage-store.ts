import { sql, type Transaction } from 'kysely'
import { effectiveMonthlyQuota, type Database, type NewAuditEvent } from '@radstream/db'
import type { AccountingRecord } from '@radstream/events'
import { AcctStatusType } from '@radstream/radius'
import { splitUsageByDay, type DayShare } from './usage-split'

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

/** Counter reports of a run of records: Interim-Updates and Stops that carry both octet counts. */
function reportsOf(records: readonly KeyedRecord[]) {
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
async function applyDeltas(tx: Tx, table: 'usage_daily' | 'usage_monthly', deltas: Delta[]): Promise<void> {
  const rows = deltas
    .filter((d) => !isZero(d))
    .sort((a, b) => (a.userId === b.userId ? a.period.localeCompare(b.period) : Number(a.userId) - Number(b.userId)))
  if (rows.length === 0) return
  const period = table === 'usage_daily' ? 'day' : 'month'
  const values = sql.join(
    rows.map(
      (d) =>
        sql`(${d.userId}::bigint, ${d.period}::date, ${d.inputOctets.toString()}::numeric, ${d.outputOctets.toString()}::numeric, ${d.sessionTime.toString()}::bigint, ${d.sessions}::integer)`,
    ),
  )
  await sql`
    insert into ${sql.table(table)} as t (user_id, ${sql.id(period)}, input_octets, output_octets, session_time, sessions)
    values ${values}
    on conflict (user_id, ${sql.id(period)}) do update set
      input_octets = t.input_octets + excluded.input_octets,
      output_octets = t.output_octets + excluded.output_octets,
      session_time = t.session_time + excluded.session_time,
      sessions = t.sessions + excluded.sessions`.execute(tx)
  // A period a session's share left (its start moved across midnight, say) keeps no empty row:
  // the rollups are the same whatever order got them there. Only a decrease can empty one.
  const shrunk = rows.filter((d) => d.inputOctets < 0n || d.outputOctets < 0n || d.sessionTime < 0n || d.sessions < 0)
  if (shrunk.length === 0) return
  await sql`
    delete from ${sql.table(table)}
    where (user_id, ${sql.id(period)}) in (${sql.join(shrunk.map((d) => sql`(${d.userId}::bigint, ${d.period}::date)`))})
      and input_octets = 0 and output_octets = 0 and session_time = 0 and sessions = 0`.execute(tx)
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

/**
 * Keeps usage in step with the sessions a batch wrote: stores the batch's counter reports, splits
 * each touched session's usage by day afresh from all its reports, and moves the daily and monthly
 * rollups by the difference from its previous split. A replay adds no report and changes no split,
 * so it changes nothing; reports in any order give the same splits. Users who pass their monthly
 * quota get one audit event per month.
 */
export async function updateUsage(
  tx: Tx,
  records: readonly KeyedRecord[],
  sessionKeys: readonly string[],
): Promise<NewAuditEvent[]> {
  if (sessionKeys.length === 0) return []
  const sessions = await tx
    .selectFrom('sessions')
    .select(['id', 'session_key', 'user_id', 'start_time', 'session_time'])
    .where('session_key', 'in', [...sessionKeys])
    .execute()
  const idOf = new Map(sessions.map((s) => [s.session_key, String(s.id)]))
  const reports = reportsOf(records).filter((r) => idOf.has(r.key))
  if (reports.length > 0) {
    // One report per session and Acct-Session-Time; two that disagree keep the greater counters.
    const values = sql.join(
      reports.map(
        (r) => sql`(${idOf.get(r.key)}::bigint, ${r.sessionTime}::bigint, ${r.input}::numeric, ${r.output}::numeric)`,
      ),
    )
    await sql`
      insert into session_usage_points as p (session_id, session_time, input_octets, output_octets)
      select distinct on (1, 2) * from (values ${values}) v order by 1, 2, 3 desc, 4 desc
      on conflict (session_id, session_time) do update set
        input_octets = greatest(p.input_octets, excluded.input_octets),
        output_octets = greatest(p.output_octets, excluded.output_octets)`.execute(tx)
  }

  const ids = sessions.map((s) => String(s.id))
  const points = await tx
    .selectFrom('session_usage_points')
    .select(['session_id', 'session_time', 'input_octets', 'output_octets'])
    .where('session_id', 'in', ids)
    .execute()
  const pointsOf = new Map<string, { sessionTime: number; inputOctets: bigint; outputOctets: bigint }[]>()
  for (const p of points) {
    const list = pointsOf.get(String(p.session_id)) ?? []
    list.push({
      sessionTime: Number(p.session_time),
      inputOctets: BigInt(p.input_octets),
      outputOctets: BigInt(p.output_octets),
    })
    pointsOf.set(String(p.session_id), list)
  }
  const fresh = new Map<string, Share[]>()
  for (const s of sessions) {
    if (s.user_id === null) continue
    const shares = splitUsageByDay(
      s.start_time.getTime(),
      Number(s.session_time ?? 0),
      pointsOf.get(String(s.id)) ?? [],
    ).map((d: DayShare) => ({ ...d, userId: String(s.user_id), sessionTime: BigInt(d.sessionTime) }))
    fresh.set(String(s.id), shares)
  }
  const previous = await tx.selectFrom('session_usage_days').selectAll().where('session_id', 'in', ids).execute()
  const before = previous.map((p) => ({
    userId: String(p.user_id),
    day: p.day,
    inputOctets: BigInt(p.input_octets),
    outputOctets: BigInt(p.output_octets),
    sessionTime: BigInt(p.session_time),
    sessions: p.sessions,
  }))
  const after = [...fresh.values()].flat()
  const daily = new Map<string, Delta>()
  const monthly = new Map<string, Delta>()
  for (const [deltas, byMonth] of [
    [daily, false],
    [monthly, true],
  ] as const) {
    addShares(deltas, before, -1n, byMonth)
    addShares(deltas, after, 1n, byMonth)
  }
  if ([...daily.values()].every(isZero)) return []

  await tx.deleteFrom('session_usage_days').where('session_id', 'in', ids).execute()
  const rows = [...fresh].flatMap(([sessionId, shares]) =>
    shares.map((s) => ({
      session_id: sessionId,
      day: s.day,
      user_id: s.userId,
      input_octets: s.inputOctets.toString(),
      output_octets: s.outputOctets.toString(),
      session_time: s.sessionTime.toString(),
      sessions: s.sessions,
    })),
  )
  if (rows.length > 0) await tx.insertInto('session_usage_days').values(rows).execute()
  await applyDeltas(tx, 'usage_daily', [...daily.values()])
  await applyDeltas(tx, 'usage_monthly', [...monthly.values()])

  const grown = [...monthly.values()].filter((d) => d.inputOctets + d.outputOctets > 0n)
  if (grown.length === 0) return []
  const crossings = await sql<{ user_id: string; username: string; month: string; total: string; quota: string }>`
    with candidates as (
      select m.user_id, u.username, m.month, m.input_octets + m.output_octets as total,
        ${effectiveMonthlyQuota(sql.ref('u.id'), sql.ref('u.username'))} as quota
      from usage_monthly m
      join users u on u.id = m.user_id
      where exists (select 1 from usage_quotas)
        and (m.user_id, m.month) in (${sql.join(grown.map((d) => sql`(${d.userId}::bigint, ${d.period}::date)`))})
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
