/**
 * A report of a session's counters: Acct-Session-Time and the 64-bit octet totals then. A report
 * may carry one counter without the other (null): each counter is a series of its own.
 */
export interface UsagePoint {
  readonly sessionTime: number
  readonly inputOctets: bigint | null
  readonly outputOctets: bigint | null
}

/** One counter's value at an Acct-Session-Time. */
export interface Reading {
  readonly sessionTime: number
  readonly value: bigint
}

/** A change to a session's shares of one day (or, for a whole split, the shares themselves). */
export interface DayChange {
  inputOctets: bigint
  outputOctets: bigint
  sessionTime: bigint
}

/** A session's share of one UTC day. */
export interface DayShare {
  /** YYYY-MM-DD, UTC. */
  readonly day: string
  readonly inputOctets: bigint
  readonly outputOctets: bigint
  readonly sessionTime: number
  /** 1 on the day the session started, else 0. */
  readonly sessions: number
}

const DAY_MS = 86_400_000
const COUNTER_WRAP = 1n << 32n

// Formatting a date is most of a split's cost, and a batch's sessions share a few days.
const dayNames = new Map<number, string>()

function dayOf(ms: number): string {
  const day = Math.floor(ms / DAY_MS)
  let name = dayNames.get(day)
  if (name === undefined) {
    if (dayNames.size >= 4096) dayNames.clear()
    name = new Date(day * DAY_MS).toISOString().slice(0, 10)
    dayNames.set(day, name)
  }
  return name
}

/**
 * Splits `total` over [fromMs, toMs] by the time each UTC day overlaps it: floor of the share
 * for every day but the last, which takes the remainder, so the parts add up exactly. An empty
 * interval gives everything to the day of its end.
 */
function splitInterval(fromMs: number, toMs: number, total: bigint): Map<string, bigint> {
  const parts = new Map<string, bigint>()
  if (toMs <= fromMs) return parts.set(dayOf(toMs), total)
  const length = BigInt(toMs - fromMs)
  let given = 0n
  for (let dayStart = Math.floor(fromMs / DAY_MS) * DAY_MS; dayStart < toMs; dayStart += DAY_MS) {
    const dayEnd = dayStart + DAY_MS
    const day = dayOf(dayStart)
    if (dayEnd >= toMs) {
      parts.set(day, total - given)
    } else {
      const share = (total * BigInt(dayEnd - Math.max(fromMs, dayStart))) / length
      parts.set(day, share)
      given += share
    }
  }
  return parts
}

/**
 * Counters that went down between two reports: a NAS that sends no Gigawords wrapped its 32-bit
 * counter; the traffic is the distance forward to the lower value.
 */
function increase(from: bigint, to: bigint): bigint {
  if (to >= from) return to - from
  const behind = from - to
  return (COUNTER_WRAP - (behind % COUNTER_WRAP)) % COUNTER_WRAP
}

/** The readings of one counter in a set of reports, in Acct-Session-Time order. */
export function readingsOf(points: readonly UsagePoint[], counter: 'inputOctets' | 'outputOctets'): Reading[] {
  const readings: Reading[] = []
  for (const point of points) {
    const value = point[counter]
    if (value !== null) readings.push({ sessionTime: point.sessionTime, value })
  }
  return readings.sort((a, b) => a.sessionTime - b.sessionTime)
}

function addInto(into: Map<string, bigint>, parts: Map<string, bigint>, sign: 1n | -1n = 1n): void {
  for (const [day, value] of parts) into.set(day, (into.get(day) ?? 0n) + sign * value)
}

/**
 * One counter's traffic by UTC day from readings in Acct-Session-Time order, each a distinct
 * time. Readings sit on the session's own clock (start + Acct-Session-Time); the traffic between
 * two consecutive readings is spread evenly over the time between them, from the start (and 0
 * octets) for the first.
 */
function counterShares(startMs: number, readings: readonly Reading[]): Map<string, bigint> {
  const shares = new Map<string, bigint>()
  let previous: Reading = { sessionTime: 0, value: 0n }
  for (const reading of readings) {
    const from = startMs + previous.sessionTime * 1000
    const to = startMs + reading.sessionTime * 1000
    addInto(shares, splitInterval(from, to, increase(previous.value, reading.value)))
    previous = reading
  }
  return shares
}

/** The part of [start, start + seconds] in each UTC day. */
function timeShares(startMs: number, seconds: number): Map<string, bigint> {
  return splitInterval(startMs, startMs + seconds * 1000, BigInt(seconds))
}

/**
 * A session's traffic and time by UTC day, from its start and every counter report it has: an
 * Interim-Update covering midnight gives each day its share by the minutes it holds. Time is the
 * part of [start, start + sessionTime] in each day. The same start and reports give the same
 * shares, whatever order they came in. The reference that the incremental split (splitChange)
 * must equal.
 */
export function splitUsageByDay(startMs: number, sessionTime: number, points: readonly UsagePoint[]): DayShare[] {
  const input = counterShares(startMs, readingsOf(points, 'inputOctets'))
  const output = counterShares(startMs, readingsOf(points, 'outputOctets'))
  const lastSeconds = points.reduce((most, p) => Math.max(most, p.sessionTime), sessionTime)
  const time = timeShares(startMs, lastSeconds)
  const startDay = dayOf(startMs)
  const days = new Set([startDay, ...input.keys(), ...output.keys(), ...time.keys()])
  return [...days].sort().map((day) => ({
    day,
    inputOctets: input.get(day) ?? 0n,
    outputOctets: output.get(day) ?? 0n,
    sessionTime: Number(time.get(day) ?? 0n),
    sessions: day === startDay ? 1 : 0,
  }))
}

/**
 * How one counter's shares change when `incoming` readings join the stored ones. `stored` need not
 * be every stored reading: for each incoming one, the stored readings just before and after it and
 * at its own time are enough. Every interval the incoming readings split or move has its ends among
 * those, and any other pair of neighbours in `stored` is the same pair before and after, so it
 * cancels. Two readings of one time keep the greater value, as the reports table does.
 */
function counterChange(startMs: number, stored: readonly Reading[], incoming: readonly Reading[]): Map<string, bigint> {
  const merged = new Map(stored.map((r) => [r.sessionTime, r.value]))
  for (const r of incoming) {
    const value = merged.get(r.sessionTime)
    if (value === undefined || r.value > value) merged.set(r.sessionTime, r.value)
  }
  const after = [...merged].map(([sessionTime, value]) => ({ sessionTime, value }))
  after.sort((a, b) => a.sessionTime - b.sessionTime)
  const change = counterShares(startMs, after)
  addInto(
    change,
    counterShares(
      startMs,
      [...stored].sort((a, b) => a.sessionTime - b.sessionTime),
    ),
    -1n,
  )
  return change
}

/** What the incremental split needs of one session, besides its start. */
export interface SplitStep {
  /** The session's time (the greatest Acct-Session-Time) before and after the reports. */
  readonly sessionTimeBefore: number
  readonly sessionTimeAfter: number
  /** For each counter, the stored readings around the incoming ones (see counterChange). */
  readonly storedInput: readonly Reading[]
  readonly storedOutput: readonly Reading[]
  readonly incoming: readonly UsagePoint[]
}

/**
 * The change a session's day shares take from new reports and a longer session time, start and
 * user unchanged: work in proportion to the new reports, however many the session had. Days the
 * session newly reaches are in `newDays` (their row is made even with nothing in it, as the full
 * split has it); a day whose shares do not move is left out. Applied to the shares of
 * splitUsageByDay before, it gives splitUsageByDay after, exactly (usage-split.test.ts).
 */
export function splitChange(
  startMs: number,
  step: SplitStep,
): { changes: Map<string, DayChange>; newDays: Set<string> } {
  const input = counterChange(startMs, step.storedInput, readingsOf(step.incoming, 'inputOctets'))
  const output = counterChange(startMs, step.storedOutput, readingsOf(step.incoming, 'outputOctets'))
  const before = Math.max(step.sessionTimeBefore, 0)
  const after = step.incoming.reduce(
    (most, p) => Math.max(most, p.sessionTime),
    Math.max(step.sessionTimeAfter, before),
  )
  const time = new Map<string, bigint>()
  const newDays = new Set<string>()
  if (after !== before) {
    const previous = timeShares(startMs, before)
    const next = timeShares(startMs, after)
    addInto(time, next)
    addInto(time, previous, -1n)
    for (const day of next.keys()) if (!previous.has(day) && day !== dayOf(startMs)) newDays.add(day)
  }
  const changes = new Map<string, DayChange>()
  for (const day of new Set([...input.keys(), ...output.keys(), ...time.keys()])) {
    const change = {
      inputOctets: input.get(day) ?? 0n,
      outputOctets: output.get(day) ?? 0n,
      sessionTime: time.get(day) ?? 0n,
    }
    const moved = change.inputOctets !== 0n || change.outputOctets !== 0n || change.sessionTime !== 0n
    if (moved || newDays.has(day)) changes.set(day, change)
  }
  return { changes, newDays }
}
