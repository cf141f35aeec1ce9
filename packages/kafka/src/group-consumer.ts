import {
  Consumer,
  MessagesStreamFallbackModes,
  MessagesStreamModes,
  type ConsumerGroupJoinPayload,
  type Message,
  type MessagesStream,
} from '@platformatic/kafka'
import { KafkaAdmin } from './admin'
import type { Kafka } from './client'
import { PartitionProgress } from './partition-progress'

/** A record as the consumer hands it over (the client's own message object, seen through this). */
export interface ConsumedRecord {
  readonly partition: number
  readonly offset: bigint
  readonly key: Buffer | null | undefined
  readonly value: Buffer | null | undefined
  /** Milliseconds since the epoch, as the producer stamped it. */
  readonly timestamp: bigint
}

/** Records of one partition, in the order Kafka gave them. */
export interface RecordBatch {
  readonly topic: string
  readonly partition: number
  readonly records: readonly ConsumedRecord[]
}

export interface GroupConsumerOptions {
  readonly groupId: string
  readonly topic: string
  readonly sessionTimeoutMs: number
  readonly rebalanceTimeoutMs: number
  readonly minBytes: number
  readonly maxWaitMs: number
  /** Partitions whose batches are handled at once. */
  readonly concurrency: number
  /** Records a batch holds at most. */
  readonly maxBatch: number
  /**
   * How long records may wait in Kafka for a partition this member holds while nothing arrives
   * before the stream is opened again (default: rebalanceTimeoutMs, the longest a healthy
   * rebalance may keep a member from fetching).
   */
  readonly stallMs?: number
  /** Handles a batch; once it resolves its offsets are committed. A rejection retries it later. */
  readonly onBatch: (batch: RecordBatch) => Promise<void>
  /** The partitions of the topic this member holds, after each join of the group. */
  readonly onAssigned?: (partitions: readonly number[]) => void
  /** A batch committed: `fetchedBehind` records of its partition are fetched and waiting. */
  readonly onCommitted?: (batch: RecordBatch, fetchedBehind: number) => void
  /** A batch failed; it is tried again after `retryInMs`. */
  readonly onBatchFailed?: (error: unknown, details: { partition: number; records: number; retryInMs: number }) => void
  /** Something went wrong in Kafka that the consumer mends itself (it retries); said for the log. */
  readonly onTrouble?: (details: Record<string, unknown>, message: string) => void
}

const FETCH_MAX_BYTES = 8 * 1024 * 1024
const FETCH_MAX_PARTITION_BYTES = 1024 * 1024
/** How many fetched records may wait, per partition handled at once, before fetching pauses. */
const BUFFERED_BATCHES = 4
const RETRY_FIRST_MS = 500
const RETRY_MAX_MS = 30_000
/** How long a gap in a partition's handled offsets may last before the stream is started again. */
const GAP_PATIENCE_MS = 10_000
/**
 * How long a request to Kafka on the handling path (a commit, the offsets it asks for) may take.
 * The client retries without end, and a request to a broker that died can wait for ever: a batch
 * in hand would then hold its partition (and the stall check its turn) until the process ends.
 */
const REQUEST_PATIENCE_MS = 20_000

class KafkaRequestTimeout extends Error {
  override readonly name = 'KafkaRequestTimeout'
}

/** `request`, or a KafkaRequestTimeout naming `what` after REQUEST_PATIENCE_MS. */
function withPatience<T>(what: string, request: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new KafkaRequestTimeout(`${what}: no answer from Kafka in ${REQUEST_PATIENCE_MS} ms`)),
      REQUEST_PATIENCE_MS,
    )
  })
  return Promise.race([request, timeout]).finally(() => clearTimeout(timer))
}

interface PartitionState {
  /** Replaced, not emptied, when dropped: a batch in hand knows its records left it. */
  queue: ConsumedRecord[]
  /** Undefined until the group's committed offset is known (asked once the first batch is handled). */
  progress: PartitionProgress | undefined
  busy: boolean
  retryAt: number
  retryDelayMs: number
  gapSince: number | undefined
}

/**
 * A consumer group member that hands over records a partition's batch at a time and commits a
 * partition's offset only once everything before it is handled: records are handled at least once,
 * whatever the client delivers again around a rebalance or a restart. Fetching runs apart from the
 * handling (the client fetches ahead and heartbeats on its own), paused while `BUFFERED_BATCHES`
 * batches per handled partition wait.
 */
export class GroupConsumer {
  private readonly consumer: Consumer<Buffer, Buffer, Buffer, Buffer>
  private readonly admin: KafkaAdmin
  private readonly partitions = new Map<number, PartitionState>()
  private stream: MessagesStream<Buffer, Buffer, Buffer, Buffer> | undefined
  private buffered = 0
  private running = 0
  private stopping = false
  private scheduled = false
  /** Paused by backpressure (fetched records waiting), when nothing arriving is expected. */
  private held = false
  private lastArrivalAt = Date.now()
  private stallCheck: Promise<void> | undefined
  /** Counts the streams asked for, so that one given up on is closed when it comes. */
  private openings = 0
  private readonly idle: (() => void)[] = []
  private readonly timer: NodeJS.Timeout

  constructor(
    kafka: Kafka,
    private readonly options: GroupConsumerOptions,
  ) {
    this.consumer = new Consumer({
      ...kafka.clientOptions('consumer', true),
      retryDelay: 1000,
      groupId: options.groupId,
      sessionTimeout: options.sessionTimeoutMs,
      rebalanceTimeout: options.rebalanceTimeoutMs,
      heartbeatInterval: Math.min(3000, Math.floor(options.sessionTimeoutMs / 3)),
      minBytes: options.minBytes,
      maxWaitTime: options.maxWaitMs,
      // The Java client's defaults: a fetch response is decoded whole, so it is kept to what a few
      // batches hold (the library's own default is 50 MB for each partition).
      maxBytes: FETCH_MAX_BYTES,
      maxBytesPerPartition: FETCH_MAX_PARTITION_BYTES,
      autocommit: false,
    })
    this.admin = new KafkaAdmin(kafka, true)
    this.consumer.on('consumer:group:join', (payload: ConsumerGroupJoinPayload) => this.joined(payload))
    this.consumer.on('consumer:heartbeat:error', (payload: { error?: unknown }) =>
      options.onTrouble?.({ err: payload?.error }, 'Kafka consumer heartbeat failed; it rejoins its group'),
    )
    this.timer = setInterval(() => {
      this.schedule()
      void this.checkGaps()
      this.stallCheck ??= this.checkStalled().finally(() => (this.stallCheck = undefined))
    }, 250)
    this.timer.unref()
  }

  get maxBuffered(): number {
    return BUFFERED_BATCHES * this.options.maxBatch * this.options.concurrency
  }

  /**
   * Joins the group and starts fetching; resolves once the stream is open. What the client refuses
   * at the start (credentials, a topic it may not read) fails it; only a stream that does not open
   * in time is asked for again.
   */
  async start(): Promise<void> {
    await this.openUntilOpen((error) => error instanceof KafkaRequestTimeout)
  }

  /** Opens a stream, trying again each second after a failure `retried` accepts, until the consumer stops. */
  private async openUntilOpen(retried: (error: unknown) => boolean = () => true): Promise<void> {
    while (!this.stopping) {
      try {
        await this.openStream()
        return
      } catch (error) {
        if (!retried(error)) throw error
        this.options.onTrouble?.({ err: error }, 'Kafka consumer could not open a stream; trying again')
        await new Promise((resolve) => setTimeout(resolve, 1000))
      }
    }
  }

  private async openStream(): Promise<void> {
    const opening = ++this.openings
    const consumed = this.consumer.consume({
      topics: [this.options.topic],
      mode: MessagesStreamModes.COMMITTED,
      fallbackMode: MessagesStreamFallbackModes.EARLIEST,
      autocommit: false,
    })
    // A stream that opens after its opening was given up on (a newer one is on its way) is closed.
    consumed.then(
      (late) => {
        if (opening !== this.openings || this.stopping) void late.close().catch(() => undefined)
      },
      () => undefined,
    )
    const stream = await withPatience('opening a stream', consumed)
    if (opening !== this.openings) return
    this.stream = stream
    this.lastArrivalAt = Date.now()
    stream.on('data', (message: Message<Buffer, Buffer, Buffer, Buffer>) => this.received(message))
    stream.on('error', (error: unknown) => {
      if (this.stopping || this.stream !== stream) return
      this.options.onTrouble?.({ err: error }, 'Kafka consumer stream failed; opening a new one')
      void this.reopenStream(stream)
    })
  }

  /** A new stream in place of `old`: it starts again from the group's committed offsets. */
  private async reopenStream(old: MessagesStream<Buffer, Buffer, Buffer, Buffer>): Promise<void> {
    if (this.stream !== old) return
    this.stream = undefined
    await old.close().catch(() => undefined)
    this.held = false
    for (const state of this.partitions.values()) this.dropQueue(state)
    await this.openUntilOpen()
  }

  private joined(payload: ConsumerGroupJoinPayload): void {
    const mine = new Set(payload.assignments?.find((a) => a.topic === this.options.topic)?.partitions ?? [])
    for (const [partition, state] of this.partitions) {
      if (mine.has(partition)) continue
      // Taken away: its fetched records are another member's now. A batch in hand finishes and
      // commits (everything before its offset is handled), which is harmless.
      this.dropQueue(state)
      this.partitions.delete(partition)
    }
    for (const partition of mine) if (!this.partitions.has(partition)) this.partitions.set(partition, newState())
    this.options.onAssigned?.([...mine].sort((a, b) => a - b))
  }

  private received(message: Message<Buffer, Buffer, Buffer, Buffer>): void {
    const state = this.partitions.get(message.partition)
    // Fetched before a rebalance took the partition away.
    if (!state || this.stopping) return
    this.lastArrivalAt = Date.now()
    // Handled already (the client delivers again from the committed offset after a rejoin).
    if (state.progress && message.offset < state.progress.next) return
    state.queue.push(message)
    if (++this.buffered >= this.maxBuffered) {
      this.held = true
      this.stream?.pause()
    }
    this.scheduleSoon()
  }

  /** Starts batches after the records of the current fetch response have all arrived. */
  private scheduleSoon(): void {
    if (this.scheduled) return
    this.scheduled = true
    setImmediate(() => {
      this.scheduled = false
      this.schedule()
    })
  }

  private schedule(): void {
    if (this.stopping) return
    const now = Date.now()
    for (const [partition, state] of this.partitions) {
      if (this.running >= this.options.concurrency) break
      if (state.busy || state.queue.length === 0 || state.retryAt > now) continue
      void this.runBatch(partition, state)
    }
  }

  private async runBatch(partition: number, state: PartitionState): Promise<void> {
    state.busy = true
    this.running++
    const queue = state.queue
    const records = queue.slice(0, this.options.maxBatch)
    const batch: RecordBatch = { topic: this.options.topic, partition, records }
    try {
      await this.options.onBatch(batch)
    } catch (error) {
      state.retryAt = Date.now() + state.retryDelayMs
      this.options.onBatchFailed?.(error, { partition, records: records.length, retryInMs: state.retryDelayMs })
      state.retryDelayMs = Math.min(RETRY_MAX_MS, state.retryDelayMs * 2)
      this.batchEnded(state)
      return
    }
    state.retryDelayMs = RETRY_FIRST_MS
    state.retryAt = 0
    if (state.queue === queue) {
      queue.splice(0, records.length)
      this.buffered -= records.length
    }
    try {
      await this.commit(partition, state, records)
      this.options.onCommitted?.(batch, state.queue.length)
    } catch (error) {
      // The records are in PostgreSQL; a later commit covers them, a crash first replays them.
      this.options.onTrouble?.({ err: error, partition }, 'committing the offset of a handled batch failed')
    } finally {
      this.batchEnded(state)
    }
  }

  private batchEnded(state: PartitionState): void {
    state.busy = false
    this.running--
    if (this.held && this.buffered < this.maxBuffered / 2) {
      this.held = false
      this.stream?.resume()
    }
    if (this.running === 0) this.idle.splice(0).forEach((wake) => wake())
    this.scheduleSoon()
  }

  /** Gaps of partitions with no batch in hand that would mend nothing else. */
  private async checkGaps(): Promise<void> {
    for (const [partition, state] of this.partitions) {
      const since = state.gapSince
      if (state.busy || !state.progress || since === undefined || Date.now() - since <= GAP_PATIENCE_MS) continue
      await this.mendGap(partition, state, state.progress).catch((error: unknown) =>
        this.options.onTrouble?.({ err: error, partition }, 'asking Kafka for committed offsets failed'),
      )
    }
  }

  /**
   * A stream that stopped delivering while records wait for a partition this member holds: the
   * client's fetch loop can end without an error (seen once in a benchmark run: six partitions
   * assigned, records waiting, nothing fetched for minutes). A new stream starts again from the
   * committed offsets. An idle member whose partitions are all caught up is left alone.
   */
  private async checkStalled(): Promise<void> {
    const stallMs = this.options.stallMs ?? this.options.rebalanceTimeoutMs
    if (this.stopping || !this.stream || this.held || this.running > 0 || this.buffered > 0) {
      // Busy or holding back: a silence counts from when there is nothing left to do.
      this.lastArrivalAt = Date.now()
      return
    }
    if (Date.now() - this.lastArrivalAt <= stallMs || this.partitions.size === 0) return
    try {
      const positions = await this.positions()
      const waiting = [...this.partitions].filter(([partition, state]) => {
        const position = positions.get(partition)
        if (!position) return false
        const handled = state.progress?.next ?? BigInt(Math.max(position.committed ?? -1, position.low))
        return BigInt(position.high) > handled
      })
      if (waiting.length === 0) {
        this.lastArrivalAt = Date.now()
        return
      }
      this.options.onTrouble?.(
        { partitions: waiting.map(([partition]) => partition), silentMs: Date.now() - this.lastArrivalAt },
        'Kafka consumer received nothing while records wait; opening a new stream',
      )
      this.lastArrivalAt = Date.now()
      if (this.stream) await this.reopenStream(this.stream)
    } catch (error) {
      this.options.onTrouble?.({ err: error }, 'asking Kafka for offsets failed')
    }
  }

  /** Commits the partition's handled offset, once it is known that nothing before it is missing. */
  private async commit(partition: number, state: PartitionState, records: readonly ConsumedRecord[]): Promise<void> {
    state.progress ??= new PartitionProgress(await this.knownHandled(partition))
    const progress = state.progress
    const moved = progress.handled(records.map((r) => r.offset))
    if (progress.hasGap) {
      state.gapSince ??= Date.now()
      if (Date.now() - state.gapSince > GAP_PATIENCE_MS) await this.mendGap(partition, state, progress)
    } else {
      state.gapSince = undefined
    }
    if (!moved) return
    await withPatience(
      'committing an offset',
      this.consumer.commit({
        offsets: [{ topic: this.options.topic, partition, offset: progress.next, leaderEpoch: -1 }],
      }),
    )
  }

  /** Each partition's log start and end, and the group's committed offset (none: undefined). */
  private async positions(): Promise<Map<number, { low: number; high: number; committed: number | undefined }>> {
    const [ends, committed] = await withPatience(
      "the partitions' offsets",
      Promise.all([
        this.admin.offsets(this.options.topic),
        this.admin.committedOffsets(this.options.groupId, this.options.topic),
      ]),
    )
    return new Map(
      ends.map(({ partition, low, high }) => [partition, { low, high, committed: committed.get(partition) }]),
    )
  }

  /** Where the group has handled the partition up to: its committed offset, else the log's start. */
  private async knownHandled(partition: number): Promise<bigint> {
    const position = (await this.positions()).get(partition)
    const committed = position?.committed
    return BigInt(committed !== undefined && committed >= 0 ? committed : (position?.low ?? 0))
  }

  /**
   * A gap that does not fill: records another member handled and committed, or records Kafka's
   * retention deleted before anyone read them; else records the client passed over, fetched again
   * by a new stream (from the committed offset, which never passes a gap).
   */
  private async mendGap(partition: number, state: PartitionState, progress: PartitionProgress): Promise<void> {
    state.gapSince = undefined
    progress.advanceTo(await this.knownHandled(partition))
    if (!progress.hasGap) return
    this.options.onTrouble?.(
      { partition, next: String(progress.next) },
      'records of a partition were not delivered; fetching again from the committed offset',
    )
    if (this.stream) void this.reopenStream(this.stream)
  }

  private dropQueue(state: PartitionState): void {
    this.buffered -= state.queue.length
    state.queue = []
    state.progress = undefined
    state.gapSince = undefined
  }

  /** Finishes the batches in hand (handled, then committed), leaves the group and closes. */
  async stop(): Promise<void> {
    this.stopping = true
    clearInterval(this.timer)
    while (this.running > 0) await new Promise<void>((resolve) => this.idle.push(resolve))
    await this.stream?.close().catch(() => undefined)
    await this.consumer.close(true)
    await this.admin.close()
  }
}

function newState(): PartitionState {
  return { queue: [], progress: undefined, busy: false, retryAt: 0, retryDelayMs: RETRY_FIRST_MS, gapSince: undefined }
}
