import { sql, type RawBuilder } from 'kysely'
import type { Db } from '@radstream/db'
import { ApiError } from '../errors'
import { ofNas } from './queries'

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
/** A week: a row a minute and lane of the window is read, so its length bounds the cost. */
const MAX_WINDOW_MS = 7 * 86_400_000
/** How far back a timeline may start: it reads every minute from its start until now (and the rollups keep 8 days). */
const MAX_TIMELINE_AGE_MS = 7 * 86_400_000

const badInput = (message: string) => new ApiError('BAD_USER_INPUT', message)

const MINUTE_MS = 60_000
const floorToMinute = (instant: Date) => new Date(Math.floor(instant.getTime() / MINUTE_MS) * MINUTE_MS)

/** A reseller's own rollup rows, else those of all (reseller 0); of one NAS when asked. On the rollup aliased `a`. */
function rollupScope(filter: ActivityFilter): RawBuilder<boolean> {
  const reseller = sql<boolean>`a.reseller_id = ${filter.resellerId ?? 0}`
  return filter.nasIpAddress ? sql<boolean>`${ofNas(filter.nasIpAddress, 'a')} and ${reseller}` : reseller
}

/** The per-minute rollup (migration 0019) that answers for a filter: one NAS's, else every lane's. */
const minuteRollup = (filter: ActivityFilter) =>
  filter.nasIpAddress ? sql`activity_by_nas a` : sql`activity_by_lane a`

/** from and to in whole minutes (the rollups' grain), checked. */
function minuteWindow(from: Date, to: Date): { from: Date; to: Date } {
  if (!(to > from)) throw badInput('to: must be after from')
  if (to.getTime() - from.getTime() > MAX_WINDOW_MS) throw badInput('to: at most 7 days after from')
  const window = { from: floorToMinute(from), to: floorToMinute(to) }
  if (!(window.to > window.from)) throw badInput('to: must be in a later minute than from')
  return window
}

/**
 * Sessions over [from, to) in steps, counted in whole UTC minutes (from and to are taken at the
 * start of their minute, steps are whole minutes): open at each step's first instant t (started
 * before t, not stopped before t), and started and stopped within the step. Read from the
 * per-minute rollups: open at t is counted back from now, as open sessions + stops since t −
 * starts since t, so what is read is a row per minute and lane from `from` on, however many
 * sessions there are.
 */
export async function sessionTimeline(
  db: Db,
  window: { from: Date; to: Date; stepSeconds: number },
  filter: ActivityFilter,
): Promise<TimelineStep[]> {
  const { from, to } = minuteWindow(window.from, window.to)
  // Counted back from now: every minute since `from` is read, so `from` is what bounds the cost.
  if (Date.now() - from.getTime() > MAX_TIMELINE_AGE_MS) throw badInput('from: at most 7 days ago')
  const { stepSeconds } = window
  if (!Number.isInteger(stepSeconds) || stepSeconds < 60 || stepSeconds % 60 !== 0)
    throw badInput('stepSeconds: a whole number of minutes, at least 60')
  const stepMs = stepSeconds * 1000
  const steps = Math.ceil((to.getTime() - from.getTime()) / stepMs)
  if (steps > MAX_TIMELINE_STEPS)
    throw badInput(`stepSeconds: the window would have more than ${MAX_TIMELINE_STEPS} steps`)
  // The window's minutes one by one; those from `to` until now (all a timeline of the past reads)
  // as one sum, the row whose minute is null.
  const minutes = sql<{ minute: Date | null; started: string; stopped: string }>`
    select case when a.minute < ${to} then a.minute end as minute, sum(a.started) as started, sum(a.stopped) as stopped
    from ${minuteRollup(filter)}
    where ${rollupScope(filter)} and a.cause = '' and a.minute >= ${from}
    group by 1`
  const [openNow, rows] = await Promise.all([onlineSessionCount(db, filter), minutes.execute(db)])
  const timeline = Array.from({ length: steps }, (_, i) => ({
    at: new Date(from.getTime() + i * stepMs),
    concurrent: 0,
    started: 0,
    stopped: 0,
  }))
  // sinceStep[i]: stops − starts in step i (the last entry: from `to` on).
  const sinceStep = new Array<number>(steps + 1).fill(0)
  for (const row of rows.rows) {
    const [started, stopped] = [Number(row.started), Number(row.stopped)]
    const step = row.minute === null ? steps : Math.floor((row.minute.getTime() - from.getTime()) / stepMs)
    sinceStep[step]! += stopped - started
    if (step < steps) {
      timeline[step]!.started += started
      timeline[step]!.stopped += stopped
    }
  }
  let openAt = openNow
  for (let i = steps; i >= 0; i--) {
    openAt += sinceStep[i]!
    if (i < steps) timeline[i]!.concurrent = openAt
  }
  return timeline
}

/** Sessions stopped in [from, to) (whole minutes, as the timeline) by Acct-Terminate-Cause, most first; no cause given: "unknown". */
export async function terminateCauses(
  db: Db,
  window: { from: Date; to: Date },
  filter: ActivityFilter,
): Promise<TerminateCauseCount[]> {
  const { from, to } = minuteWindow(window.from, window.to)
  const { rows } = await sql<{ cause: string; sessions: string }>`
    select a.cause, sum(a.stopped) as sessions from ${minuteRollup(filter)}
    where ${rollupScope(filter)} and a.cause > '' and a.minute >= ${from} and a.minute < ${to}
    group by 1 having sum(a.stopped) > 0 order by 2 desc, 1`.execute(db)
  return rows.map((row) => ({ cause: row.cause, sessions: Number(row.sessions) }))
}

/** Sessions open now, from the per-NAS counters: a row per NAS, not a row per session. */
export async function onlineSessionCount(db: Db, filter: ActivityFilter): Promise<number> {
  const { rows } = await sql<{ open: string | null }>`
    select sum(a.open) as open from open_sessions_by_nas a where ${rollupScope(filter)}`.execute(db)
  return Number(rows[0]!.open ?? 0)
}
