import fc from 'fast-check'
import { Partitioners } from 'kafkajs'
import { describe, expect, it } from 'vitest'
import { keyPartition } from '../src/key-partition'

const kafkajs = Partitioners.DefaultPartitioner()
const metadata = (n: number) =>
  Array.from({ length: n }, (_, partitionId) => ({
    partitionId,
    leader: 0,
    replicas: [],
    isr: [],
    partitionErrorCode: 0,
  }))

describe('keyPartition', () => {
  it("should give every key the partition kafkajs's default partitioner gives it", () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ unit: 'grapheme', maxLength: 80 }), fc.string({ minLength: 1000, maxLength: 1400 })),
        fc.integer({ min: 1, max: 100 }),
        (key, partitions) => {
          expect(keyPartition(key, partitions)).toBe(
            kafkajs({ topic: 't', partitionMetadata: metadata(partitions), message: { key, value: null } }),
          )
        },
      ),
      { numRuns: 5000 },
    )
  })
})
