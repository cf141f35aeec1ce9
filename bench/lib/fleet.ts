import { SimulatedNas } from './simulated-nas'

export interface FleetOptions {
  readonly run: string
  readonly port: number
  readonly secret: Buffer
  readonly nasCount: number
  readonly window: number
  /** Packets per second across the fleet; Infinity for as fast as the windows allow. */
  readonly rate: number
  readonly sessionsPerNas: number
  readonly interimsPerSession: number
  /** Where each session begins and how many packets it sends (simulated-nas.ts); default all from the Start. */
  readonly firstStep?: number
  readonly steps?: number
  /** Distinct User-Names per NAS (default 500). */
  readonly usersPerNas?: number
  readonly retransmitMs: number
  /** Keep every answered datagram (for replaying them into a reference database). */
  readonly keepAnswered?: boolean
  /**
   * The number of the fleet's first NAS (its NAS-IP-Address and address pool derive from it): fleets
   * running together need their own, or they are one NAS handing each address to two live sessions.
   */
  readonly firstNas?: number
}

/** A fleet of simulated NAS sharing one pacing budget, driven by a 2 ms ticker. */
export class Fleet {
  readonly nas: SimulatedNas[]
  private tokens = 0
  private ticker: NodeJS.Timeout | undefined
  private turn = 0

  constructor(private readonly options: FleetOptions) {
    const mayStart = () => {
      if (!Number.isFinite(options.rate)) return true
      if (this.tokens < 1) return false
      this.tokens--
      return true
    }
    this.nas = Array.from(
      { length: options.nasCount },
      (_, index) =>
        new SimulatedNas({
          index: (options.firstNas ?? 0) + index,
          run: options.run,
          port: options.port,
          secret: options.secret,
          window: options.window,
          sessions: options.sessionsPerNas,
          interimsPerSession: options.interimsPerSession,
          ...(options.firstStep !== undefined && { firstStep: options.firstStep }),
          ...(options.steps !== undefined && { steps: options.steps }),
          users: options.usersPerNas ?? 500,
          retransmitMs: options.retransmitMs,
          keepAnswered: options.keepAnswered ?? false,
          mayStart,
        }),
    )
  }

  /** Starts sending; latencies of requests sent in the first `warmupMs` are kept apart. */
  async start(warmupMs = 0): Promise<void> {
    for (const nas of this.nas) await nas.open()
    const measureFrom = performance.now() + warmupMs
    for (const nas of this.nas) nas.measureFrom = measureFrom
    let last = performance.now()
    this.ticker = setInterval(() => {
      const now = performance.now()
      this.tokens = Math.min(
        this.tokens + ((now - last) / 1000) * this.options.rate,
        Math.max(100, this.options.rate / 50),
      )
      last = now
      this.spread()
    }, 2)
  }

  /**
   * As fast as possible, every NAS fills its window. At a fixed rate the budget goes round the
   * fleet one request at a time, starting at a different NAS each tick: else the first NAS in the
   * list would take it all, and a fleet of 50 would be a fleet of 2.
   */
  private spread(): void {
    if (!Number.isFinite(this.options.rate)) {
      for (const nas of this.nas) nas.pump()
      return
    }
    const count = this.nas.length
    for (let sent = 1; sent > 0 && this.tokens >= 1;) {
      sent = 0
      for (let i = 0; i < count && this.tokens >= 1; i++) sent += this.nas[(this.turn + i) % count]!.pump(1)
    }
    this.turn = (this.turn + 1) % count
  }

  /** Stops starting requests, then waits for the outstanding ones; returns how many stayed unanswered. */
  async stop(drainMs: number): Promise<number> {
    clearInterval(this.ticker)
    const unanswered = await Promise.all(this.nas.map((nas) => nas.drain(drainMs)))
    return unanswered.reduce((a, b) => a + b, 0)
  }

  get sent(): number {
    return this.nas.reduce((sum, nas) => sum + nas.sent, 0)
  }

  get acked(): number {
    return this.nas.reduce((sum, nas) => sum + nas.acked, 0)
  }

  get retransmitted(): number {
    return this.nas.reduce((sum, nas) => sum + nas.retransmitted, 0)
  }

  latencies(): number[] {
    return this.nas.flatMap((nas) => nas.latenciesMs)
  }

  warmupLatencies(): number[] {
    return this.nas.flatMap((nas) => nas.warmupLatenciesMs)
  }
}

/** Resolves once every session of the fleet has had all its packets answered, or rejects after `timeoutMs`. */
export async function allAnswered(fleet: Fleet, packets: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (fleet.acked < packets) {
    if (Date.now() > deadline)
      throw new Error(`only ${fleet.acked} of ${packets} packets answered in ${timeoutMs / 1000} s`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}
