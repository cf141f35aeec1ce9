import { keyPartition, type Producer } from '@radstream/kafka'
import type { KafkaWritability } from './kafka-writability'

export interface OutgoingRecord {
  readonly key: string
  readonly value: Buffer
}

/** Where the collector puts a record; publish resolves only once the record is durable. */
export interface RecordSink {
  publish(record: OutgoingRecord): Promise<void>
  close(): Promise<void>
}

interface Waiting {
  readonly record: OutgoingRecord
  readonly resolve: () => void
  readonly reject: (error: unknown) => void
}

export interface KafkaRecordSinkOptions {
  readonly topic: string
  /** The topic's partition count, for keying records to partitions the way Kafka's clients do. */
  readonly partitions: number
  /** How long a record may wait for others to share its produce request when none is in flight. */
  readonly lingerMs: number
  readonly maxBatch: number
}

/**
 * Publishes to Kafka in batches, one produce request at a time (the idempotent producer keeps one
 * in flight anyway): records that arrive while a request is out wait for it and then leave
 * together, so batches grow with load instead of queueing as many tiny requests. Each publish
 * resolves when the broker has acknowledged its batch with acks=all.
 *
 * A send that fails after kafkajs's retries (a partition leader lost, say) leaves kafkajs's
 * idempotent producer with sequence numbers the broker never saw, and every later send to that
 * partition fails with OUT_OF_ORDER_SEQUENCE_NUMBER for ever (kafkajs issue 598; seen here when a
 * cluster node was killed). So a failed send discards its producer and the next batch goes out
 * on a new one: a new producer id whose sequences start again, as the Java client bumps its epoch.
 */
export class KafkaRecordSink implements RecordSink {
  private waiting: Waiting[] = []
  private timer: NodeJS.Timeout | undefined
  private inFlight: Promise<void> | undefined
  private producer: Promise<Producer> | undefined

  constructor(
    private readonly newProducer: () => Producer,
    private readonly writability: KafkaWritability,
    private readonly options: KafkaRecordSinkOptions,
  ) {}

  /** Connects the first producer, so that a collector that cannot reach Kafka fails at start. */
  async start(): Promise<void> {
    await this.connected()
  }

  /** The connected producer; a new one when the last was discarded or never connected. */
  private connected(): Promise<Producer> {
    if (!this.producer) {
      const producer = this.newProducer()
      this.producer = producer.connect().then(() => producer)
      this.producer.catch(() => (this.producer = undefined))
    }
    return this.producer
  }

  private discardProducer(): void {
    const old = this.producer
    this.producer = undefined
    void old?.then((producer) => producer.disconnect()).catch(() => undefined)
  }

  publish(record: OutgoingRecord): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ record, resolve, reject })
      if (this.inFlight) return // leaves with the next batch, when the request out returns
      if (this.waiting.length >= this.options.maxBatch) this.sendNext()
      else this.timer ??= setTimeout(() => this.sendNext(), this.options.lingerMs)
    })
  }

  private sendNext(): void {
    clearTimeout(this.timer)
    this.timer = undefined
    if (this.inFlight || this.waiting.length === 0) return
    const batch = this.waiting.splice(0, this.options.maxBatch)
    this.inFlight = this.sendBatch(batch).finally(() => {
      this.inFlight = undefined
      this.sendNext()
    })
  }

  /**
   * The batch in one send: kafkajs makes one produce request per leader broker. It resolves only
   * for partitions the broker acknowledged: kafkajs retries a failed request only to brokers that
   * have not answered yet, so when a failed partition's new leader had already answered for
   * another partition, the failed partition's records are never sent again and the send still
   * resolves (seen here after a partition leader was killed). Its answer then lacks that
   * partition, and those records are refused: unanswered, the NAS sends them again.
   */
  private async sendBatch(batch: readonly Waiting[]): Promise<void> {
    let producer: Producer
    try {
      producer = await this.connected()
    } catch (error) {
      this.writability.failed()
      batch.forEach((w) => w.reject(error))
      return
    }
    const partitions = batch.map((w) => keyPartition(w.record.key, this.options.partitions))
    let acknowledged: ReadonlySet<number>
    try {
      const answer = await producer.send({
        topic: this.options.topic,
        acks: -1,
        messages: batch.map((w, i) => ({ key: w.record.key, value: w.record.value, partition: partitions[i] })),
      })
      acknowledged = new Set(answer.filter((p) => p.errorCode === 0).map((p) => p.partition))
    } catch (error) {
      batch.forEach((w) => w.reject(error))
      this.discardProducer()
      this.writability.failed()
      return
    }
    let refused = false
    batch.forEach((w, i) => {
      const partition = partitions[i]!
      if (acknowledged.has(partition)) return w.resolve()
      refused = true
      w.reject(new Error(`Kafka's answer did not acknowledge partition ${partition} of ${this.options.topic}`))
    })
    if (refused) {
      this.discardProducer()
      this.writability.failed()
    } else {
      this.writability.acknowledged()
    }
  }

  async close(): Promise<void> {
    this.sendNext()
    while (this.inFlight) await this.inFlight
    await (await this.producer?.catch(() => undefined))?.disconnect()
  }
}
