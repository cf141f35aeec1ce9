import { Admin, ConfigResourceTypes, ListOffsetTimestamps } from '@platformatic/kafka'
import type { Kafka } from './client'
import { errorChain } from './errors'

/** A broker of the cluster, as its metadata names it. */
export interface ClusterBroker {
  readonly nodeId: number
  readonly host: string
  readonly port: number
}

/** One partition as the cluster's metadata reports it: its leader (-1: none) and replicas. */
export interface PartitionMetadata {
  readonly partition: number
  readonly leader: number
  readonly replicas: readonly number[]
  readonly isr: readonly number[]
}

/** The first and the next offset a partition holds: `high - low` records. */
export interface PartitionOffsets {
  readonly partition: number
  readonly low: number
  readonly high: number
}

export interface NewTopic {
  readonly topic: string
  readonly partitions: number
  readonly replicationFactor: number
  readonly configs?: Readonly<Record<string, string>>
}

/**
 * What radstream asks of a cluster's administration, in radstream's own terms: the client
 * library's types end here. One connection pool, closed by `close`.
 */
export class KafkaAdmin {
  private readonly admin: Admin

  constructor(kafka: Kafka, retries?: number | boolean) {
    this.admin = new Admin(kafka.clientOptions('admin', retries))
  }

  async brokers(): Promise<ClusterBroker[]> {
    const metadata = await this.admin.metadata({ topics: [], forceUpdate: true })
    return [...metadata.brokers].map(([nodeId, { host, port }]) => ({ nodeId, host, port }))
  }

  topics(): Promise<string[]> {
    return this.admin.listTopics()
  }

  /**
   * The topic's partitions in order, as the cluster's metadata has them now; none while the
   * broker asked does not know the topic (it may have just been created on another).
   */
  async partitions(topic: string): Promise<PartitionMetadata[]> {
    let metadata
    try {
      metadata = await this.admin.metadata({ topics: [topic], forceUpdate: true })
    } catch (error) {
      // The client turns the broker's UNKNOWN_TOPIC_OR_PARTITION into this UserError.
      if (errorChain(error).some((e) => e.message === `Unknown topic ${topic}.`)) return []
      throw error
    }
    const found = metadata.topics.get(topic)
    return (found?.partitions ?? []).map((p, partition) => ({
      partition,
      leader: p.leader,
      replicas: p.replicas,
      isr: p.isr,
    }))
  }

  /** Topic settings by name, those asked for only; a setting the broker does not report is absent. */
  async topicConfigs(topic: string, names: readonly string[]): Promise<Map<string, string>> {
    const [description] = await this.admin.describeConfigs({
      resources: [{ resourceType: ConfigResourceTypes.TOPIC, resourceName: topic, configurationKeys: [...names] }],
    })
    const found = new Map<string, string>()
    for (const config of description?.configs ?? [])
      if (typeof config.value === 'string') found.set(config.name, config.value)
    return found
  }

  async createTopic(spec: NewTopic): Promise<void> {
    await this.admin.createTopics({
      topics: [spec.topic],
      partitions: spec.partitions,
      replicas: spec.replicationFactor,
      configs: Object.entries(spec.configs ?? {}).map(([name, value]) => ({ name, value })),
    })
  }

  async deleteTopics(topics: readonly string[]): Promise<void> {
    if (topics.length > 0) await this.admin.deleteTopics({ topics: [...topics] })
  }

  /** Every partition's first and next offset. */
  async offsets(topic: string): Promise<PartitionOffsets[]> {
    const partitions = await this.partitions(topic)
    const ask = async (timestamp: bigint) => {
      const [listed] = await this.admin.listOffsets({
        topics: [{ name: topic, partitions: partitions.map((p) => ({ partitionIndex: p.partition, timestamp })) }],
      })
      return new Map(listed?.partitions.map((p) => [p.partitionIndex, Number(p.offset)]) ?? [])
    }
    const [low, high] = await Promise.all([ask(ListOffsetTimestamps.EARLIEST), ask(ListOffsetTimestamps.LATEST)])
    return partitions.map(({ partition }) => ({
      partition,
      low: low.get(partition) ?? 0,
      high: high.get(partition) ?? 0,
    }))
  }

  /** The group's committed offset of each partition of `topic` (-1: none committed). */
  async committedOffsets(groupId: string, topic: string): Promise<Map<number, number>> {
    const [group] = await this.admin.listConsumerGroupOffsets({ groups: [groupId] })
    const found = group?.topics.find((t) => t.name === topic)
    return new Map(found?.partitions.map((p) => [p.partitionIndex, Number(p.committedOffset)]) ?? [])
  }

  async deleteGroup(groupId: string): Promise<void> {
    await this.admin.deleteGroups({ groups: [groupId] })
  }

  async close(): Promise<void> {
    await this.admin.close()
  }
}

/** Runs `work` with an admin client of its own, closed after, whatever `work` did. */
export async function withAdmin<T>(
  kafka: Kafka,
  work: (admin: KafkaAdmin) => Promise<T>,
  retries?: number | boolean,
): Promise<T> {
  const admin = new KafkaAdmin(kafka, retries)
  try {
    return await work(admin)
  } finally {
    await admin.close().catch(() => undefined)
  }
}
