/** How many failed attempts a window allows, per client id at one address and per address. */
export interface FailureLimits {
  readonly perClientAndAddress: number
  readonly perAddress: number
  readonly windowMs: number
}

/** Past this many keys, the oldest are forgotten first: memory stays bounded under a flood. */
const MAX_KEYS = 100_000

/**
 * Failed token requests in a sliding window. An address that fails too often for one client id is
 * refused for that client id; one that fails too often overall (guessing ids) is refused for all.
 * Counted by address, never by client id alone: an attacker elsewhere cannot lock a legitimate
 * client out, and a refusal lasts until the oldest counted failure leaves the window.
 */
export class FailureThrottle {
  private readonly failures = new Map<string, number[]>()

  constructor(
    private readonly limits: FailureLimits,
    private readonly now: () => number = Date.now,
  ) {}

  /** Seconds until `clientId` may try again from `address`; 0 when it may now. */
  retryAfterSeconds(clientId: string, address: string): number {
    const waits = [
      this.wait(`${address} ${clientId}`, this.limits.perClientAndAddress),
      this.wait(address, this.limits.perAddress),
    ]
    return Math.max(...waits)
  }

  recordFailure(clientId: string, address: string): void {
    for (const key of [`${address} ${clientId}`, address]) {
      const times = this.recent(key)
      times.push(this.now())
      this.failures.delete(key)
      this.failures.set(key, times)
    }
    while (this.failures.size > MAX_KEYS) this.failures.delete(this.failures.keys().next().value!)
  }

  /** A success from an address forgets its failures for that client id. */
  recordSuccess(clientId: string, address: string): void {
    this.failures.delete(`${address} ${clientId}`)
  }

  private recent(key: string): number[] {
    const since = this.now() - this.limits.windowMs
    return (this.failures.get(key) ?? []).filter((at) => at > since)
  }

  private wait(key: string, limit: number): number {
    const times = this.recent(key)
    if (times.length < limit) return 0
    const oldestCounted = times[times.length - limit]!
    return Math.max(1, Math.ceil((oldestCounted + this.limits.windowMs - this.now()) / 1000))
  }
}
