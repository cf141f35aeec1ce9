import type { CollectorMetrics } from './metrics'

/**
 * Whether the collector can record to Kafka right now: the broker answered the last probe and the
 * last produce request did not fail. Status-Server is answered only while this holds (RFC 5997).
 */
export class KafkaWritability {
  private probeOk = false
  private lastAck = 0
  private lastFailure = 0
  private timer: NodeJS.Timeout | undefined

  constructor(
    private readonly probe: () => Promise<boolean>,
    private readonly metrics: CollectorMetrics,
  ) {}

  get writable(): boolean {
    return this.probeOk && this.lastFailure <= this.lastAck
  }

  acknowledged(): void {
    this.lastAck = Date.now()
    this.update()
  }

  failed(): void {
    this.lastFailure = Date.now()
    this.update()
  }

  async start(intervalMs: number): Promise<void> {
    await this.check()
    this.timer = setInterval(() => void this.check(), intervalMs)
    this.timer.unref()
  }

  stop(): void {
    clearInterval(this.timer)
  }

  private async check(): Promise<void> {
    this.probeOk = await this.probe().catch(() => false)
    // A broker that answers again after a failed send is writable again once a probe says so.
    if (this.probeOk && this.lastFailure > this.lastAck) this.lastAck = this.lastFailure
    this.update()
  }

  private update(): void {
    this.metrics.kafkaWritable.set(this.writable ? 1 : 0)
  }
}
