import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  readingsOf,
  splitChange,
  splitUsageByDay,
  type DayShare,
  type Reading,
  type UsagePoint,
} from '../src/usage-split'

const at = (iso: string) => Date.parse(iso)
const point = (sessionTime: number, input: bigint | number, output: bigint | number = 0) => ({
  sessionTime,
  inputOctets: BigInt(input),
  outputOctets: BigInt(output),
})

describe('splitting a session’s usage by UTC day', () => {
  it('should give each day of an interval across midnight its share by the time it holds', () => {
    // 23:00 start; an Interim-Update at 01:00 (7200 s) reports 7200 octets: 3600 before midnight.
    const shares = splitUsageByDay(at('2025-03-31T23:00:00Z'), 7200, [point(7200, 7200, 720)])
    expect(shares).toEqual([
      { day: '2025-03-31', inputOctets: 3600n, outputOctets: 360n, sessionTime: 3600, sessions: 1 },
      { day: '2025-04-01', inputOctets: 3600n, outputOctets: 360n, sessionTime: 3600, sessions: 0 },
    ])
  })

  it('should split each interval between reports on its own, not the session as a whole', () => {
    // Quiet until 23:50 (3000 octets by then), heavy after: the second interval crosses midnight.
    const shares = splitUsageByDay(at('2025-03-31T23:00:00Z'), 4200, [point(3000, 3000), point(4200, 15_000)])
    // 23:50 -> 00:10 carries 12,000 octets: 6,000 on each side of midnight.
    expect(shares.map((s) => [s.day, s.inputOctets, s.sessionTime])).toEqual([
      ['2025-03-31', 9000n, 3600],
      ['2025-04-01', 6000n, 600],
    ])
  })

  it('should add up to the session’s totals exactly, whatever the rounding, over several days', () => {
    const shares = splitUsageByDay(at('2025-03-30T21:17:13Z'), 200_001, [
      point(77_777, 10_000_000_001n, 7),
      point(200_001, 99_999_999_999n, 13),
    ])
    expect(shares.map((s) => s.day)).toEqual(['2025-03-30', '2025-03-31', '2025-04-01', '2025-04-02'])
    expect(shares.reduce((sum, s) => sum + s.inputOctets, 0n)).toBe(99_999_999_999n)
    expect(shares.reduce((sum, s) => sum + s.outputOctets, 0n)).toBe(13n)
    expect(shares.reduce((sum, s) => sum + s.sessionTime, 0)).toBe(200_001)
  })

  it('should give the same shares for reports in any order', () => {
    const reports = [point(600, 100), point(1200, 400), point(1800, 900), point(2400, 1600)]
    const start = at('2025-05-05T23:30:00Z')
    const reference = splitUsageByDay(start, 2400, reports)
    expect(splitUsageByDay(start, 2400, [...reports].reverse())).toEqual(reference)
    expect(splitUsageByDay(start, 2400, [reports[2]!, reports[0]!, reports[3]!, reports[1]!])).toEqual(reference)
  })

  it('should count 64-bit totals (Gigawords) as they are, and a 32-bit counter that wrapped as its distance forward', () => {
    const gigawords = splitUsageByDay(at('2025-01-01T10:00:00Z'), 120, [
      point(60, (1n << 32n) - 100n),
      point(120, (1n << 32n) + 900n),
    ])
    expect(gigawords[0]!.inputOctets).toBe((1n << 32n) + 900n)
    // A NAS without Gigawords: 4294967196 then 900 is 1000 octets more, not a loss.
    const wrapped = splitUsageByDay(at('2025-01-01T10:00:00Z'), 120, [point(60, (1n << 32n) - 100n), point(120, 900n)])
    expect(wrapped[0]!.inputOctets).toBe((1n << 32n) - 100n + 1000n)
  })

  it('should count a session without reports once, on its start day, with its time', () => {
    expect(splitUsageByDay(at('2025-02-28T12:00:00Z'), 0, [])).toEqual([
      { day: '2025-02-28', inputOctets: 0n, outputOctets: 0n, sessionTime: 0, sessions: 1 },
    ])
  })
})

/** A reports table in memory: one report per Acct-Session-Time, the greater of two values per counter. */
class StoredReports {
  private readonly byTime = new Map<number, UsagePoint>()

  store(points: readonly UsagePoint[]): void {
    const greater = (a: bigint | null, b: bigint | null) => (a === null ? b : b === null || a > b ? a : b)
    for (const p of points) {
      const old = this.byTime.get(p.sessionTime)
      this.byTime.set(
        p.sessionTime,
        old
          ? {
              sessionTime: p.sessionTime,
              inputOctets: greater(old.inputOctets, p.inputOctets),
              outputOctets: greater(old.outputOctets, p.outputOctets),
            }
          : p,
      )
    }
  }

  all(): UsagePoint[] {
    return [...this.byTime.values()]
  }

  /** What usage-store.ts reads for a batch: per counter, the readings before, after and at each incoming time. */
  around(incoming: readonly UsagePoint[], counter: 'inputOctets' | 'outputOctets'): Reading[] {
    const readings = readingsOf(this.all(), counter)
    const picked = new Map<number, Reading>()
    for (const { sessionTime } of incoming) {
      const before = readings.filter((r) => r.sessionTime < sessionTime).at(-1)
      const after = readings.find((r) => r.sessionTime > sessionTime)
      const at = readings.find((r) => r.sessionTime === sessionTime)
      for (const r of [before, after, at]) if (r) picked.set(r.sessionTime, r)
    }
    return [...picked.values()]
  }
}

/** Day shares as session_usage_days keeps them, moved by splitChange's changes. */
function applyChanges(rows: Map<string, DayShare>, change: ReturnType<typeof splitChange>): void {
  for (const [day, c] of change.changes) {
    const row = rows.get(day) ?? { day, inputOctets: 0n, outputOctets: 0n, sessionTime: 0, sessions: 0 }
    rows.set(day, {
      ...row,
      inputOctets: row.inputOctets + c.inputOctets,
      outputOctets: row.outputOctets + c.outputOctets,
      sessionTime: row.sessionTime + Number(c.sessionTime),
    })
  }
}

describe('the incremental split', () => {
  const counter = fc.oneof(
    { weight: 1, arbitrary: fc.constant(null) },
    { weight: 6, arbitrary: fc.bigInt({ min: 0n, max: (1n << 33n) - 1n }) },
  )
  const report = fc.record({
    // Minutes apart up to four days, so that intervals cross midnights; a few at 0.
    sessionTime: fc.integer({ min: 0, max: 5760 }).map((m) => m * 60),
    inputOctets: counter,
    outputOctets: counter,
  })

  it('should equal the full split after every batch, for any order, replay, batch boundary and missing counter', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: Date.parse('2025-01-01T00:00:00Z'), max: Date.parse('2025-12-31T00:00:00Z') }),
        fc.array(fc.array(report, { maxLength: 6 }), { minLength: 1, maxLength: 12 }),
        fc.boolean(),
        (startMs, batches, replay) => {
          const stored = new StoredReports()
          const rows = new Map(splitUsageByDay(startMs, 0, []).map((d) => [d.day, d]))
          let sessionTime = 0
          const all = replay ? [...batches, ...batches.slice().reverse()] : batches
          for (const batch of all) {
            const after = batch.reduce((most, p) => Math.max(most, p.sessionTime), sessionTime)
            applyChanges(
              rows,
              splitChange(startMs, {
                sessionTimeBefore: sessionTime,
                sessionTimeAfter: after,
                storedInput: stored.around(batch, 'inputOctets'),
                storedOutput: stored.around(batch, 'outputOctets'),
                incoming: batch,
              }),
            )
            stored.store(batch)
            sessionTime = after
            const full = splitUsageByDay(startMs, sessionTime, stored.all())
            expect([...rows.values()].sort((a, b) => a.day.localeCompare(b.day))).toEqual(full)
          }
        },
      ),
      { numRuns: 300 },
    )
  })

  it('should read and write in proportion to the new reports, not the session’s age', () => {
    const start = at('2025-03-01T00:00:00Z')
    // A 30-day session at 5-minute interims: 8,640 reports; one more touches one interval.
    const history = Array.from({ length: 8640 }, (_, i) => point((i + 1) * 300, (i + 1) * 1000, (i + 1) * 2000))
    const stored = new StoredReports()
    stored.store(history)
    const next = [point(8641 * 300, 8641 * 1000, 8641 * 2000)]
    const change = splitChange(start, {
      sessionTimeBefore: 8640 * 300,
      sessionTimeAfter: 8641 * 300,
      storedInput: stored.around(next, 'inputOctets'),
      storedOutput: stored.around(next, 'outputOctets'),
      incoming: next,
    })
    expect(stored.around(next, 'inputOctets')).toHaveLength(1)
    expect([...change.changes.entries()]).toEqual([
      ['2025-03-31', { inputOctets: 1000n, outputOctets: 2000n, sessionTime: 300n }],
    ])
  })

  it('should count a report that carries one counter for that counter', () => {
    const start = at('2025-03-01T10:00:00Z')
    const shares = splitUsageByDay(start, 600, [
      { sessionTime: 300, inputOctets: 500n, outputOctets: 70n },
      { sessionTime: 600, inputOctets: 1500n, outputOctets: null },
    ])
    expect(shares).toEqual([
      { day: '2025-03-01', inputOctets: 1500n, outputOctets: 70n, sessionTime: 600, sessions: 1 },
    ])
  })
})
