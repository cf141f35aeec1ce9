import { keyPartition, SendError, type AcknowledgedPartition, type RecordToSend } from '@radstream/kafka'
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

/** What the sink sends through: RecordProducer, or a stand-in that answers as a test needs. */
export interface RecordSender {
  send(records: readonly RecordToSend[]): Promise<readonly AcknowledgedPartition[]>
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
 * Publishes to Kafka in batches, one send at a time: records that arrive while a send is out wait
 * for it and then leave together, so batches grow with load instead of queueing as many tiny
 * requests. Each publish resolves when the broker has acknowledged its record's partition with
 * acks=all. A send goes out as one produce request per leader broker; when some fail, the records
 * of the partitions that were acknowledged are answered and the rest are refused: unanswered, the
 * NAS sends them again.
 */
export class KafkaRecordSink implements RecordSink {
  private waiting: Waiting[] = []
  private timer: NodeJS.Timeout | undefined
  private inFlight: Promise<void> | undefined

  constructor(
    private readonly producer: RecordSender,
    private readonly writability: KafkaWritability,
    private readonly options: KafkaRecordSinkOptions,
  ) {}

  publish(record: OutgoingRecord): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ record, resolve, reject })
      if (this.inFlight) return // leaves with the next batch, when the send out returns
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

  private async sendBatch(batch: readonly Waiting[]): Promise<void> {
    const { topic } = this.options
    const partitions = batch.map((w) => keyPartition(w.record.key, this.options.partitions))
    let acknowledged: ReadonlySet<number>
    let failure: unknown
    try {
      const answer = await this.producer.send(
        batch.map((w, i) => ({ topic, partition: partitions[i]!, key: w.record.key, value: w.record.value })),
      )
      acknowledged = new Set(answer.map((p) => p.partition))
    } catch (error) {
      failure = error
      acknowledged = new Set(error instanceof SendError ? error.acknowledged.map((p) => p.partition) : [])
    }
    let refused = false
    batch.forEach((w, i) => {
      const partition = partitions[i]!
      if (acknowledged.has(partition)) return w.resolve()
      refused = true
      w.reject(failure ?? new Error(`Kafka's answer did not acknowledge partition ${partition} of ${topic}`))
    })
    if (refused) this.writability.failed()
    else this.writability.acknowledged()
  }

  async close(): Promise<void> {
    this.sendNext()
    while (this.inFlight) await this.inFlight
    await this.producer.close()
  }
}
