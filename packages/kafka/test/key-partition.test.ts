import fc from 'fast-check'
import { compatibilityPartitioner } from '@platformatic/kafka'
import { describe, expect, it } from 'vitest'
import { keyPartition } from '../src/key-partition'

/** The Kafka client's Java-compatible partitioner: murmur2 made positive; the client takes the modulo. */
const javaPartition = (key: string, partitions: number) =>
  compatibilityPartitioner({ topic: 't', value: Buffer.alloc(0) }, Buffer.from(key)) % partitions

describe('keyPartition', () => {
  it("should give every key the partition Kafka's Java client gives it", () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ unit: 'grapheme', maxLength: 80 }), fc.string({ minLength: 1000, maxLength: 1400 })),
        fc.integer({ min: 1, max: 100 }),
        (key, partitions) => {
          expect(keyPartition(key, partitions)).toBe(javaPartition(key, partitions))
        },
      ),
      { numRuns: 5000 },
    )
  })
})
