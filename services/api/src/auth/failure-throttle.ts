/** How many failed attempts a window allows, per client id at one address and per address. */
export interface FailureLimits {
  readonly perClientAndAddress: number
  readonly perAddress: number
  readonly windowMs: number
}

/** Past this many keys, the least recently used are forgotten first: memory stays bounded under a flood. */
const MAX_KEYS = 100_000

/**
 * Token attempts in a sliding window. An address that fails too often for one client id is
 * refused for that client id; one that fails too often overall (guessing ids) is refused for all.
 * Counted by address, never by client id alone: an attacker elsewhere cannot lock a legitimate
 * client out, and a refusal lasts until the oldest counted attempt leaves the window.
 *
 * An attempt counts from the moment it begins, before its secret is hashed, and is forgotten only
 * if it succeeds: a burst of parallel guesses is counted as it arrives, not after the work. Keys
 * leave once their last attempt is out of the window (the least recently used are checked on every
 * attempt), and the caller bounds a client id's length, so the map's memory is bounded too.
 */
export class FailureThrottle {
  private readonly attempts = new Map<string, number[]>()

  constructor(
    private readonly limits: FailureLimits,
    private readonly now: () => number = Date.now,
  ) {}

  /** Seconds until `clientId` may try again from `address`; 0 when it may now. */
  retryAfterSeconds(clientId: string, address: string): number {
    return Math.max(
      this.wait(`${address} ${clientId}`, this.limits.perClientAndAddress),
      this.wait(address, this.limits.perAddress),
    )
  }

  /** Counts an attempt as a failure until `succeeded` says otherwise; returns its time, for that. */
  begin(clientId: string, address: string): number {
    const at = this.now()
    for (const key of [`${address} ${clientId}`, address]) {
      const times = this.recent(key)
      times.push(at)
      // Re-inserted: the map's order is least recently attempted first.
      this.attempts.delete(key)
      this.attempts.set(key, times)
    }
    this.forgetIdle()
    return at
  }

  /** The attempt begun at `at` succeeded: it does not count, and the address's failures for that client id are forgotten. */
  succeeded(clientId: string, address: string, at: number): void {
    this.withdraw(clientId, address, at)
    this.attempts.delete(`${address} ${clientId}`)
  }

  /** The attempt begun at `at` was no guess (it could not be checked): it does not count. */
  withdraw(clientId: string, address: string, at: number): void {
    for (const key of [`${address} ${clientId}`, address]) {
      const times = this.attempts.get(key)
      const index = times?.lastIndexOf(at) ?? -1
      if (index >= 0) times!.splice(index, 1)
    }
  }

  /** How many keys are held (for tests of the bound). */
  get size(): number {
    return this.attempts.size
  }

  private forgetIdle(): void {
    const since = this.now() - this.limits.windowMs
    for (const [key, times] of this.attempts) {
      if (this.attempts.size <= MAX_KEYS && (times.at(-1) ?? 0) > since) break
      this.attempts.delete(key)
    }
  }

  private recent(key: string): number[] {
    const since = this.now() - this.limits.windowMs
    return (this.attempts.get(key) ?? []).filter((at) => at > since)
  }

  private wait(key: string, limit: number): number {
    const times = this.recent(key)
    if (times.length < limit) return 0
    const oldestCounted = times[times.length - limit]!
    return Math.max(1, Math.ceil((oldestCounted + this.limits.windowMs - this.now()) / 1000))
  }
}
