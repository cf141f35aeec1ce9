import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client'
import type { PartitionLag } from './consumer-lag'

/** The sessionizer's Prometheus metrics, in a registry of its own (several sessionizers per process in tests). */
export class SessionizerMetrics {
  readonly registry = new Registry()
  /** Read at each scrape from the sessionizer's assignment watch. */
  unassignedMs: () => number = () => 0
  /** Read at each scrape: the group's lag on every partition of the topic. */
  lag: () => Promise<readonly PartitionLag[]> = async () => []
  /** Read at each scrape: every NAS's learnt cadence (nas_cadences). */
  nasCadences: () => Promise<readonly { nas: string; seconds: number }[]> = async () => []
  readonly nasCadence = new Gauge({
    name: 'radstream_sessionizer_nas_cadence_seconds',
    help: "Each NAS's interim cadence as its sessions show it (the median of its last sessions' interim gaps); the stale sweep uses it for sessions with too few reports of their own unless the NAS is registered with an interval",
    labelNames: ['nas'] as const,
    registers: [this.registry],
    collect: async () => {
      const cadences = await this.nasCadences()
      this.nasCadence.reset()
      for (const { nas, seconds } of cadences) this.nasCadence.set({ nas }, seconds)
    },
  })
  readonly assignedPartitions = new Gauge({
    name: 'radstream_sessionizer_assigned_partitions',
    help: 'Partitions of the accounting topic this sessionizer holds in its consumer group',
    registers: [this.registry],
  })
  readonly unassignedSeconds = new Gauge({
    name: 'radstream_sessionizer_unassigned_seconds',
    help: 'How long this sessionizer has been a member of its group without a partition of its topic (0 while it holds one)',
    registers: [this.registry],
    collect: () => this.unassignedSecondsNow(),
  })
  readonly lockWaitSeconds = new Histogram({
    name: 'radstream_sessionizer_lock_wait_seconds',
    help: 'Time a batch waited for the locks it takes: the keying lock (shared unless the batch holds records keyed as before NAS keying) and its audit lane; 0 when no other batch holds them',
    buckets: [0.0001, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    registers: [this.registry],
  })
  readonly batches = new Counter({
    name: 'radstream_sessionizer_batches_total',
    help: 'Kafka batches written to PostgreSQL and committed',
    registers: [this.registry],
  })
  readonly recordsApplied = new Counter({
    name: 'radstream_sessionizer_records_applied_total',
    help: 'Accounting records applied to sessions (replays included)',
    registers: [this.registry],
  })
  readonly deadLettered = new Counter({
    name: 'radstream_sessionizer_records_dead_lettered_total',
    help: 'Records sent to the dead-letter topic',
    registers: [this.registry],
  })

  readonly lagRecords = new Gauge({
    name: 'radstream_sessionizer_consumer_lag_records',
    help: "Records of the accounting topic not yet in PostgreSQL: the group's committed offset to the high watermark, by partition",
    labelNames: ['partition'] as const,
    registers: [this.registry],
    collect: () => this.collectLagOnce(),
  })
  readonly lagSeconds = new Gauge({
    name: 'radstream_sessionizer_consumer_lag_seconds',
    help: 'Age of the oldest record not yet in PostgreSQL on a partition this sessionizer holds (0 when caught up)',
    labelNames: ['partition'] as const,
    registers: [this.registry],
    collect: () => this.collectLagOnce(),
  })
  readonly transactionSeconds = new Histogram({
    name: 'radstream_sessionizer_transaction_seconds',
    help: "Time to write one batch's transaction to PostgreSQL, retries included",
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  })
  readonly sweeps = new Counter({
    name: 'radstream_sessionizer_sweeps_total',
    help: 'Maintenance jobs run, by job (stale, retention, audit_verify) and outcome (ok, failed)',
    labelNames: ['sweep', 'outcome'] as const,
    registers: [this.registry],
  })
  readonly staleClosed = new Counter({
    name: 'radstream_sessionizer_stale_sessions_closed_total',
    help: 'Open sessions closed as Lost-Carrier by the stale sweep',
    registers: [this.registry],
  })
  readonly auditSeals = new Counter({
    name: 'radstream_sessionizer_audit_seals_total',
    help: "Seals of the audit lanes' heads written to the seal topic by this sessionizer",
    registers: [this.registry],
  })
  readonly auditEventsVerified = new Counter({
    name: 'radstream_sessionizer_audit_events_verified_total',
    help: 'Audit events whose hash and link the chain check recomputed',
    registers: [this.registry],
  })
  readonly auditChainBroken = new Gauge({
    name: 'radstream_sessionizer_audit_chain_broken',
    help: '1 while the last audit chain check found a broken link (an event changed, missing or unlinked), else 0',
    registers: [this.registry],
  })
  readonly expiredRemoved = new Counter({
    name: 'radstream_sessionizer_expired_rows_removed_total',
    help: 'Rows past the retention removed by the retention sweep, by table',
    labelNames: ['table'] as const,
    registers: [this.registry],
  })

  readonly partitionsDropped = new Counter({
    name: 'radstream_sessionizer_partitions_dropped_total',
    help: 'Partitions past their retention dropped by the retention sweep (months; the counter reports: day buckets), by table',
    labelNames: ['table'] as const,
    registers: [this.registry],
  })

  readonly reportsCarried = new Counter({
    name: 'radstream_sessionizer_usage_reports_carried_total',
    help: 'Counter reports copied to a later day bucket with their live session when its bucket was settled',
    registers: [this.registry],
  })

  readonly sessionsArchived = new Counter({
    name: 'radstream_sessionizer_sessions_archived_total',
    help: 'Sealed sessions moved from the live sessions table into the session history',
    registers: [this.registry],
  })
  readonly archivedPackets = new Counter({
    name: 'radstream_sessionizer_archived_session_packets_total',
    help: 'Packets of sessions already in the session history, which change nothing',
    registers: [this.registry],
  })
  readonly sessionsCarried = new Counter({
    name: 'radstream_sessionizer_usage_sessions_carried_total',
    help: 'Sessions still live carried to a later day bucket of counter reports when their bucket was settled',
    registers: [this.registry],
  })

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'radstream_sessionizer_' })
  }

  private lagCollection: Promise<void> | undefined

  /** Both lag gauges are filled by one collection, whichever of them a scrape reads first. */
  private collectLagOnce(): Promise<void> {
    this.lagCollection ??= this.collectLag().finally(() => (this.lagCollection = undefined))
    return this.lagCollection
  }

  private async collectLag(): Promise<void> {
    // Kafka unreachable: no lag series rather than a stale one (the scrape itself still answers).
    const partitions = await this.lag().catch(() => [])
    this.lagRecords.reset()
    this.lagSeconds.reset()
    for (const { partition, records, seconds } of partitions) {
      this.lagRecords.set({ partition: String(partition) }, records)
      if (seconds !== undefined) this.lagSeconds.set({ partition: String(partition) }, seconds)
    }
  }

  private unassignedSecondsNow(): void {
    this.unassignedSeconds.set(this.unassignedMs() / 1000)
  }
}
