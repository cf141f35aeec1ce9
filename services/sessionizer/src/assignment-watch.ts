export interface AssignmentWatchOptions {
  /** How long a member may hold no partition before it is reported: one rebalance. */
  readonly graceMs: number
  readonly onIdle: (idleMs: number) => void
  readonly onAssigned: (partitions: number) => void
}

/**
 * Tells whether this group member holds partitions of its topic. A member that holds none for
 * longer than a rebalance while the topic has partitions writes nothing, and says nothing on its
 * own: the group has more members than the topic has partitions, or it is shared with consumers
 * of another topic (two deployments with one SESSIONIZER_GROUP_ID: one of them silently stops).
 */
export class AssignmentWatch {
  private holding: number | undefined
  private idleSince: number | undefined
  private reported = false
  private readonly timer: NodeJS.Timeout

  constructor(private readonly options: AssignmentWatchOptions) {
    this.timer = setInterval(() => this.check(), Math.min(5000, Math.max(250, options.graceMs / 4)))
    this.timer.unref()
  }

  /** How many partitions of the topic this member holds after a join of its group. */
  assigned(partitions: number): void {
    this.holding = partitions
    this.options.onAssigned(partitions)
    if (partitions > 0) {
      this.idleSince = undefined
      this.reported = false
    } else {
      this.idleSince ??= Date.now()
    }
  }

  /** Milliseconds this member has held no partition (0 while it holds some or has not joined yet). */
  get idleMs(): number {
    return this.idleSince === undefined ? 0 : Date.now() - this.idleSince
  }

  /** Ready: joined, and holding a partition, or idle for less than a rebalance. */
  get ready(): boolean {
    return this.holding !== undefined && this.idleMs <= this.options.graceMs
  }

  private check(): void {
    if (this.idleMs > this.options.graceMs && !this.reported) {
      this.reported = true
      this.options.onIdle(this.idleMs)
    }
  }

  stop(): void {
    clearInterval(this.timer)
  }
}
