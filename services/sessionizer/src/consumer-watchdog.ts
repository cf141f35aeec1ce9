import type { Consumer } from '@radstream/kafka'

/**
 * Notices a Kafka consumer that has silently stopped. After a pause longer than its session
 * timeout (a VM freeze, a stop-the-world stall, SIGSTOP) the coordinator expels the member, and
 * kafkajs 2.2's rejoin can then hang for good with no error and no crash event (measured here:
 * "re-joining the group", then nothing; kafkajs issue #1277 reports the same).
 *
 * A healthy consumer fetches every few hundred milliseconds even on an idle topic, heartbeats every
 * few seconds, and a rebalance ends within its rebalance timeout. So a consumer with no fetch,
 * heartbeat, join or finished batch for `stallMs`, and no batch of its own still running (a batch
 * waiting for PostgreSQL is not a stall of Kafka's), is stuck, and `onStall` is called.
 */
export class ConsumerWatchdog {
  private lastSignAt = Date.now()
  private batchesRunning = 0
  private timer: NodeJS.Timeout | undefined

  constructor(
    private readonly stallMs: number,
    private readonly onStall: (silentMs: number) => void,
  ) {}

  /** Starts listening to a consumer (the first, or the one that replaced a stuck one). */
  watch(consumer: Consumer): void {
    const { FETCH, HEARTBEAT, GROUP_JOIN } = consumer.events
    for (const event of [FETCH, HEARTBEAT, GROUP_JOIN]) consumer.on(event, () => this.sign())
    this.sign()
    this.timer ??= setInterval(() => this.check(), Math.max(1000, this.stallMs / 10))
    this.timer.unref()
  }

  /** Runs a batch: the watchdog waits while it runs, however long, and counts its end as a sign of life. */
  async during<T>(batch: () => Promise<T>): Promise<T> {
    this.batchesRunning++
    try {
      return await batch()
    } finally {
      this.batchesRunning--
      this.sign()
    }
  }

  private sign(): void {
    this.lastSignAt = Date.now()
  }

  private check(): void {
    const silentMs = Date.now() - this.lastSignAt
    if (this.batchesRunning > 0 || silentMs < this.stallMs) return
    this.lastSignAt = Date.now() // one call per stall, not one per check
    this.onStall(silentMs)
  }

  stop(): void {
    clearInterval(this.timer)
  }
}
