import { ProduceAcks, Producer } from '@platformatic/kafka'
import type { Kafka } from './client'

/** A record to write: its partition is the caller's choice (keyPartition), never the client's. */
export interface RecordToSend {
  readonly topic: string
  readonly partition: number
  readonly key: string | Buffer | null | undefined
  readonly value: Buffer | string
}

/** A partition the cluster has written a send's records to, with acks=all. */
export interface AcknowledgedPartition {
  readonly topic: string
  readonly partition: number
  readonly offset: bigint
}

/**
 * A send that failed, maybe in part: one send goes out as one produce request per leader broker,
 * and the partitions some of them acknowledged are in `acknowledged`.
 */
export class SendError extends Error {
  override readonly name = 'SendError'

  constructor(
    message: string,
    readonly acknowledged: readonly AcknowledgedPartition[],
    options: { cause: unknown },
  ) {
    super(message, options)
  }
}

export interface RecordProducerOptions {
  /** Exactly once per partition: the broker drops a retried request it already wrote. */
  readonly idempotent: boolean
  /** Tries of a failed request; bounded, so a dead broker becomes a failed send in seconds. */
  readonly retries?: number | boolean
}

const buffer = (data: string | Buffer | null | undefined) =>
  typeof data === 'string' ? Buffer.from(data) : (data ?? undefined)

/**
 * Writes records to Kafka with acks=all. After a failed send the idempotent client starts a new
 * producer id of its own (its sequence numbers begin again), so the next send is not refused for
 * numbers the broker never saw.
 */
export class RecordProducer {
  private readonly producer: Producer<Buffer, Buffer, Buffer, Buffer>

  constructor(kafka: Kafka, purpose: string, options: RecordProducerOptions) {
    this.producer = new Producer({
      ...kafka.clientOptions(purpose, options.retries),
      idempotent: options.idempotent,
      acks: ProduceAcks.ALL,
      // Stale leaders are looked up again and the records sent to the new one.
      repeatOnStaleMetadata: true,
    })
  }

  /** Resolves once every record is acknowledged; else throws SendError naming what was. */
  async send(records: readonly RecordToSend[]): Promise<AcknowledgedPartition[]> {
    try {
      const result = await this.producer.send({
        messages: records.map((r) => ({
          topic: r.topic,
          partition: r.partition,
          key: buffer(r.key),
          value: buffer(r.value)!,
        })),
      })
      return result.offsets ?? []
    } catch (error) {
      const produced = (error as { produced?: { offsets?: AcknowledgedPartition[] } }).produced
      throw new SendError(`Kafka did not acknowledge the send: ${(error as Error).message}`, produced?.offsets ?? [], {
        cause: error,
      })
    }
  }

  async close(): Promise<void> {
    await this.producer.close()
  }
}
