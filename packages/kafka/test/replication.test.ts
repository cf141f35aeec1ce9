import { describe, expect, it } from 'vitest'
import { resolveReplication, TopicReplicationError } from '@radstream/kafka'

const unset = { replicationFactor: undefined, minInsyncReplicas: undefined }

describe('the replication of a topic radstream creates', () => {
  it('should default to 3 replicas and 2 in sync on 3 brokers or more, and to what there is below', () => {
    expect(resolveReplication(unset, 5)).toEqual({ replicationFactor: 3, minInsyncReplicas: 2 })
    expect(resolveReplication(unset, 3)).toEqual({ replicationFactor: 3, minInsyncReplicas: 2 })
    expect(resolveReplication(unset, 2)).toEqual({ replicationFactor: 2, minInsyncReplicas: 2 })
    expect(resolveReplication(unset, 1)).toEqual({ replicationFactor: 1, minInsyncReplicas: 1 })
  })

  it('should take what is configured', () => {
    expect(resolveReplication({ replicationFactor: 3, minInsyncReplicas: 3 }, 3)).toEqual({
      replicationFactor: 3,
      minInsyncReplicas: 3,
    })
    expect(resolveReplication({ replicationFactor: 2, minInsyncReplicas: undefined }, 5)).toEqual({
      replicationFactor: 2,
      minInsyncReplicas: 2,
    })
  })

  it('should refuse what the cluster cannot honour, naming the setting', () => {
    expect(() => resolveReplication({ replicationFactor: 3, minInsyncReplicas: undefined }, 1)).toThrow(
      new TopicReplicationError('KAFKA_REPLICATION_FACTOR=3 but the Kafka cluster has 1 broker'),
    )
    expect(() =>
      resolveReplication({ replicationFactor: undefined, minInsyncReplicas: 2 }, 1, 'KAFKA_DEAD_LETTER_'),
    ).toThrow('KAFKA_DEAD_LETTER_MIN_INSYNC_REPLICAS=2 exceeds the replication factor 1 (the cluster has 1 broker)')
  })
})
