import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { PartitionProgress } from '../src/partition-progress'

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => BigInt(from + i))

describe('PartitionProgress', () => {
  it('should move next over handled runs, and not over a gap until it is handled', () => {
    const progress = new PartitionProgress(10n)
    expect(progress.handled(range(10, 20))).toBe(true)
    expect(progress.next).toBe(20n)
    expect(progress.handled(range(25, 30))).toBe(false)
    expect(progress.next).toBe(20n)
    expect(progress.hasGap).toBe(true)
    expect(progress.handled(range(20, 25))).toBe(true)
    expect(progress.next).toBe(30n)
    expect(progress.hasGap).toBe(false)
  })

  it('should ignore offsets already passed and let another member’s commit close a gap', () => {
    const progress = new PartitionProgress(100n)
    expect(progress.handled(range(50, 90))).toBe(false)
    expect(progress.handled(range(120, 130))).toBe(false)
    expect(progress.advanceTo(110n)).toBe(true)
    expect(progress.hasGap).toBe(true)
    expect(progress.advanceTo(120n)).toBe(true)
    expect(progress.next).toBe(130n)
    expect(progress.advanceTo(5n)).toBe(false)
  })

  it('should never pass an offset that was not handled, whatever the order and repeats of batches', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.integer({ min: 0, max: 60 }), { maxLength: 20 }), { maxLength: 30 }),
        (batches) => {
          const progress = new PartitionProgress(0n)
          const handled = new Set<number>()
          for (const batch of batches) {
            progress.handled(batch.map(BigInt))
            batch.forEach((o) => handled.add(o))
            let contiguous = 0
            while (handled.has(contiguous)) contiguous++
            expect(progress.next).toBe(BigInt(contiguous))
            expect(progress.hasGap).toBe([...handled].some((o) => o > contiguous))
          }
        },
      ),
      { numRuns: 2000 },
    )
  })
})
