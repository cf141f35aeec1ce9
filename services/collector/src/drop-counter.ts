import type { Logger } from '@radstream/config'
import type { CollectorMetrics } from './metrics'

export type DropReason =
  | 'unknown_nas'
  | 'malformed'
  | 'bad_authenticator'
  | 'bad_message_authenticator'
  | 'unsupported_code'
  | 'publish_failed'
  | 'overloaded'
  | 'kafka_unwritable'
  | 'shutting_down'

/**
 * Counts silently dropped datagrams by reason (RFC 5080 2.3.3: discard, never answer) and logs at
 * most one line per reason per interval, so a flood cannot flood the log too.
 */
export class DropCounter {
  readonly counts = new Map<DropReason, number>()
  private readonly lastLogged = new Map<DropReason, number>()

  constructor(
    private readonly logger: Logger,
    private readonly metrics: CollectorMetrics,
    private readonly logIntervalMs = 10_000,
  ) {}

  /** Returns undefined, so a handler can `return drops.drop(...)` for "no answer". */
  drop(reason: DropReason, source: string, detail?: string): undefined {
    const count = (this.counts.get(reason) ?? 0) + 1
    this.counts.set(reason, count)
    this.metrics.dropped.inc({ reason })
    const now = Date.now()
    if (now - (this.lastLogged.get(reason) ?? 0) >= this.logIntervalMs) {
      this.lastLogged.set(reason, now)
      this.logger.warn({ reason, source, detail, dropped: count }, 'datagram dropped')
    }
    return undefined
  }

  total(): number {
    let sum = 0
    for (const count of this.counts.values()) sum += count
    return sum
  }
}
