import { sql, type RawBuilder } from 'kysely'
import type { Db } from '@radstream/db'
import { ApiError } from '../errors'
import { ofNas, ofReseller } from './queries'

/** One step of a timeline: sessions open at its first instant, and those started and stopped within it. */
export interface TimelineStep {
  readonly at: Date
  readonly concurrent: number
  readonly started: number
  readonly stopped: number
}

export interface TerminateCauseCount {
  readonly cause: string
  readonly sessions: number
}

export interface ActivityFilter {
  readonly nasIpAddress?: string | null | undefined
  /** A reseller sees only its users' sessions; undefined: every session. */
  readonly resellerId: number | undefined
}

/** Enough for a day at one-minute steps on a wall screen; more would be wider than any chart. */
export const MAX_TIMELINE_STEPS = 1440
/** A week: the window's sessions are read, so its length bounds the cost. */
const MAX_WINDOW_MS = 7 * 86_400_000
/** How far back a timeline may start: it reads every start and stop from its start until now. */
const MAX_TIMELINE_AGE_MS = 7 * 86_400_000

const badInput = (message: string) => new ApiError('BAD_USER_INPUT', message)

/** The confinement of every activity query, as SQL on the sessions table aliased `s`. */
function scope(filter: ActivityFilter): RawBuilder<boolean> {
  const conditions = [ofReseller(filter.resellerId, 's')]
  if (filter.nasIpAddress) conditions.push(ofNas(filter.nasIpAddress, 's'))
  return sql<boolean>`${sql.join(conditions, sql` and `)}`
}

function checkWindow(from: Date, to: Date): void {
  if (!(to > from)) throw badInput('to: must be after from')
  if (to.getTime() - from.getTime() > MAX_WINDOW_MS) throw badInput('to: at most 7 days after from')
}

interface MarkRow {
  started: boolean
  /** i such that the instant lies in (from + (i-1)·step, from + i·step]; past the window: steps + 1. */
  after_index: number
  /** i such that the instant lies in [from + i·step, from + (i+1)·step); at or after `to`: steps. */
  in_index: number
  count: string
}

/**
 * Sessions over [from, to) in steps: open at each step's first instant t (started at or before t,
 * not stopped by then), and started and stopped within the step. Open at t is counted back from
 * now, as open sessions + stops after t − starts after t, so the window's own starts and stops
 * (two index ranges) and the open sessions (a partial index) are all that is read, however many
 * sessions came before.
 */
export async function sessionTimeline(
  db: Db,
  window: { from: Date; to: Date; stepSeconds: number },
  filter: ActivityFilter,
): Promise<TimelineStep[]> {
  const { from, to, stepSeconds } = window
  checkWindow(from, to)
  // Counted back from now: every start and stop since `from` is read, so `from` is what bounds the cost.
  if (Date.now() - from.getTime() > MAX_TIMELINE_AGE_MS) throw badInput('from: at most 7 days ago')
  if (!Number.isInteger(stepSeconds) || stepSeconds < 60) throw badInput('stepSeconds: a whole number, at least 60')
  const steps = Math.ceil((to.getTime() - from.getTime()) / (stepSeconds * 1000))
  if (steps > MAX_TIMELINE_STEPS)
    throw badInput(`stepSeconds: the window would have more than ${MAX_TIMELINE_STEPS} steps`)
  const where = scope(filter)
  const marks = sql<MarkRow>`
    with marks as (
      select s.start_time as at, true as started from sessions s where s.start_time >= ${from} and ${where}
      union all
      select s.stop_time, false from sessions s where s.stop_time >= ${from} and ${where}
    ), indexed as (
      -- date_part's double precision, not extract's numeric: a quarter of the time over 100,000 marks.
      select started, at < ${to} as in_window,
        (date_part('epoch', at) - date_part('epoch', ${from}::timestamptz)) / ${stepSeconds} as position
      from marks
    )
    select started, least(ceil(position), ${steps + 1})::int as after_index,
      case when in_window then floor(position)::int else ${steps} end as in_index, count(*) as count
    from indexed group by 1, 2, 3`
  const [openNow, markRows] = await Promise.all([onlineSessionCount(db, filter), marks.execute(db)])
  // afterStep[i]: starts (−) and stops (+) in (from + (i−1)·step, from + i·step], the last past the window.
  const afterStep = new Array<number>(steps + 2).fill(0)
  const timeline = Array.from({ length: steps }, (_, i) => ({
    at: new Date(from.getTime() + i * stepSeconds * 1000),
    concurrent: 0,
    started: 0,
    stopped: 0,
  }))
  for (const mark of markRows.rows) {
    const count = Number(mark.count)
    afterStep[mark.after_index]! += mark.started ? -count : count
    const step = timeline[mark.in_index]
    if (step) {
      if (mark.started) step.started += count
      else step.stopped += count
    }
  }
  let openAt = openNow
  for (let i = steps + 1; i >= 0; i--) {
    if (i < steps) timeline[i]!.concurrent = openAt
    openAt += afterStep[i]!
  }
  return timeline
}

/** Sessions stopped in [from, to) by Acct-Terminate-Cause, most first; no cause given: "unknown". */
export async function terminateCauses(
  db: Db,
  window: { from: Date; to: Date },
  filter: ActivityFilter,
): Promise<TerminateCauseCount[]> {
  checkWindow(window.from, window.to)
  const { rows } = await sql<{ cause: string; sessions: string }>`
    select coalesce(s.terminate_cause, 'unknown') as cause, count(*) as sessions from sessions s
    where s.stop_time >= ${window.from} and s.stop_time < ${window.to} and ${scope(filter)}
    group by 1 order by 2 desc, 1`.execute(db)
  return rows.map((row) => ({ cause: row.cause, sessions: Number(row.sessions) }))
}

/** Sessions open now (a count on the open sessions' partial index). */
export async function onlineSessionCount(db: Db, filter: ActivityFilter): Promise<number> {
  const { rows } = await sql<{ open: string }>`
    select count(*) as open from sessions s where s.stop_time is null and ${scope(filter)}`.execute(db)
  return Number(rows[0]!.open)
}
