import { describe, expect, it } from 'vitest'
import { splitUsageByDay } from '../src/usage-split'

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
