/** Samples a NAS fleet's acknowledged count every 100 ms, to tell when acks stopped and resumed. */
export class AckedTimeline {
  private readonly samples: { at: number; acked: number }[] = []
  private readonly timer: NodeJS.Timeout

  constructor(private readonly acked: () => number) {
    this.timer = setInterval(() => this.samples.push({ at: Date.now(), acked: this.acked() }), 100)
  }

  stop(): void {
    clearInterval(this.timer)
  }

  /** Packets acknowledged per second between two instants (0 when too few samples). */
  rate(from: number, to: number): number {
    const a = this.samples.find((t) => t.at >= from)
    const b = [...this.samples].reverse().find((t) => t.at <= to)
    return a && b && b.at > a.at ? ((b.acked - a.acked) * 1000) / (b.at - a.at) : 0
  }

  /**
   * Seconds from `faultAt` until the fleet is acknowledged at half its rate of the 3 s before the
   * fault, looking from `from` on (the repair, for a fault repaired by hand); NaN if never.
   */
  recoverySeconds(faultAt: number, from = faultAt): number {
    const before = this.rate(faultAt - 3000, faultAt)
    for (let t = from - 1000; t < Date.now(); t += 250) {
      if (this.rate(Math.max(t, faultAt), t + 1000) >= before / 2) return (t + 1000 - faultAt) / 1000
    }
    return Number.NaN
  }
}
