import { KafkaAdmin, type Kafka } from '@radstream/kafka'

/** One partition's distance between Kafka and PostgreSQL. */
export interface PartitionLag {
  readonly partition: number
  /** Records between the group's committed offset and the high watermark. */
  readonly records: number
  /**
   * Age of the oldest record not yet in PostgreSQL, as far as this member knows (0 when caught
   * up); undefined on partitions another member holds.
   */
  readonly seconds: number | undefined
}

/** What this member knows of a partition it holds: the oldest record fetched and not committed. */
interface HeldPartition {
  oldestUncommittedMs: number | undefined
}

/**
 * How far PostgreSQL is behind Kafka. The record count comes from Kafka itself (committed offsets
 * against high watermarks, asked at most once per `cacheMs`), so it keeps rising while this
 * member is stuck; the age comes from the records this member has fetched, since Kafka cannot
 * say how old an unfetched record is without fetching it.
 */
export class ConsumerLag {
  private readonly held = new Map<number, HeldPartition>()
  private last: { at: number; lag: Promise<Map<number, number>> } | undefined
  private readonly admin: KafkaAdmin

  constructor(
    kafka: Kafka,
    private readonly topic: string,
    private readonly groupId: string,
    private readonly cacheMs = 1000,
  ) {
    this.admin = new KafkaAdmin(kafka)
  }

  /** The partitions this member holds now (after a join of its group), forgetting those taken away. */
  assigned(partitions: readonly number[]): void {
    const mine = new Set(partitions)
    for (const partition of this.held.keys()) if (!mine.has(partition)) this.held.delete(partition)
    for (const partition of mine)
      if (!this.held.has(partition)) this.held.set(partition, { oldestUncommittedMs: undefined })
  }

  /** A batch is in hand: its first record is the oldest not yet in PostgreSQL. */
  fetched(partition: number, firstTimestampMs: number): void {
    const held = this.heldPartition(partition)
    held.oldestUncommittedMs = Math.min(held.oldestUncommittedMs ?? firstTimestampMs, firstTimestampMs)
  }

  /**
   * A batch committed. With records still behind it, the next one is at least as young as the
   * last committed, which bounds its age until it is fetched.
   */
  committed(partition: number, lastTimestampMs: number, recordsBehind: number): void {
    this.heldPartition(partition).oldestUncommittedMs = recordsBehind > 0 ? lastTimestampMs : undefined
  }

  async partitions(now = Date.now()): Promise<PartitionLag[]> {
    const records = await this.recordLag()
    return [...records].map(([partition, behind]) => {
      const held = this.held.get(partition)
      if (!held) return { partition, records: behind, seconds: undefined }
      if (behind === 0) return { partition, records: 0, seconds: 0 }
      // Behind with nothing fetched yet (another partition's batch in hand, or a stuck fetch):
      // the oldest record is at least as old as the moment it was first seen behind.
      held.oldestUncommittedMs ??= now
      return { partition, records: behind, seconds: Math.max(0, (now - held.oldestUncommittedMs) / 1000) }
    })
  }

  private heldPartition(partition: number): HeldPartition {
    let held = this.held.get(partition)
    if (!held) this.held.set(partition, (held = { oldestUncommittedMs: undefined }))
    return held
  }

  private recordLag(): Promise<Map<number, number>> {
    if (!this.last || Date.now() - this.last.at > this.cacheMs) {
      const lag = this.askKafka()
      this.last = { at: Date.now(), lag }
      // A failed ask is not remembered: the next scrape asks again.
      lag.catch(() => (this.last = undefined))
    }
    return this.last.lag
  }

  private async askKafka(): Promise<Map<number, number>> {
    const [ends, committed] = await Promise.all([
      this.admin.offsets(this.topic),
      this.admin.committedOffsets(this.groupId, this.topic),
    ])
    const lag = new Map<number, number>()
    for (const end of ends) {
      // -1 or absent: nothing committed yet; the group starts from the beginning.
      const from = Math.max(committed.get(end.partition) ?? -1, end.low)
      lag.set(end.partition, Math.max(0, end.high - from))
    }
    return lag
  }

  close(): Promise<void> {
    return this.admin.close()
  }
}
