/** A report of a session's counters: Acct-Session-Time and the 64-bit octet totals then. */
export interface UsagePoint {
  readonly sessionTime: number
  readonly inputOctets: bigint
  readonly outputOctets: bigint
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

/**
 * A session's traffic and time by UTC day, from its start and its counter reports. Reports sit on
 * the session's own clock (start + Acct-Session-Time); the traffic between two consecutive reports
 * is spread evenly over the time between them (from the start for the first), so an
 * Interim-Update covering midnight gives each day its share by the minutes it holds. Time is the
 * part of [start, start + sessionTime] in each day. The same start and reports give the same
 * shares, whatever order they came in.
 */
export function splitUsageByDay(startMs: number, sessionTime: number, points: readonly UsagePoint[]): DayShare[] {
  const input = new Map<string, bigint>()
  const output = new Map<string, bigint>()
  const add = (into: Map<string, bigint>, parts: Map<string, bigint>) => {
    for (const [day, value] of parts) into.set(day, (into.get(day) ?? 0n) + value)
  }
  let previous: UsagePoint = { sessionTime: 0, inputOctets: 0n, outputOctets: 0n }
  for (const point of [...points].sort((a, b) => a.sessionTime - b.sessionTime)) {
    const from = startMs + previous.sessionTime * 1000
    const to = startMs + point.sessionTime * 1000
    add(input, splitInterval(from, to, increase(previous.inputOctets, point.inputOctets)))
    add(output, splitInterval(from, to, increase(previous.outputOctets, point.outputOctets)))
    previous = point
  }
  const lastSeconds = Math.max(sessionTime, previous.sessionTime)
  const time = splitInterval(startMs, startMs + lastSeconds * 1000, BigInt(lastSeconds))
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
