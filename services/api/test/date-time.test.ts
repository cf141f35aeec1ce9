import { describe, expect, it } from 'vitest'
import { formatDateTime } from '../src/graphql/date-time'

/** What the contract's format is, by its definition: toISOString without a zero millisecond part. */
const iso = (date: Date) => date.toISOString().replace('.000Z', 'Z')

describe('formatDateTime', () => {
  it('should write every instant as toISOString does, without zero milliseconds', () => {
    const edges = [
      0,
      1,
      999,
      1000,
      86_399_999,
      86_400_000,
      -1,
      -86_400_001,
      Date.UTC(2000, 1, 29, 23, 59, 59, 999),
      Date.UTC(2000, 2, 1),
      Date.UTC(2100, 1, 28, 12),
      Date.UTC(2100, 2, 1),
      Date.UTC(2024, 11, 31, 23, 59, 59),
      Date.UTC(2025, 0, 1),
      Date.UTC(1999, 11, 31, 23, 59, 59, 10),
      Date.UTC(9999, 11, 31, 23, 59, 59, 999),
      Date.UTC(10000, 0, 1),
      Date.UTC(1969, 11, 31, 23, 59, 59),
    ]
    // Whole seconds (what RADIUS carries) and any millisecond, over 1900-2200.
    const random = Array.from({ length: 50_000 }, (_, i) => {
      const ms = Date.UTC(1900, 0, 1) + Math.floor(Math.random() * 300 * 365.25 * 86_400_000)
      return i % 2 === 0 ? ms - (ms % 1000) : ms
    })
    for (const time of [...edges, ...random]) {
      const date = new Date(time)
      expect(formatDateTime(date), `${time}`).toBe(iso(date))
    }
  })
})
