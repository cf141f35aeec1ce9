import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client'

/** The sessionizer's Prometheus metrics, in a registry of its own (several sessionizers per process in tests). */
export class SessionizerMetrics {
  readonly registry = new Registry()
  /** Read at each scrape from the sessionizer's assignment watch. */
  unassignedMs: () => number = () => 0
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

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'radstream_sessionizer_' })
  }

  private unassignedSecondsNow(): void {
    this.unassignedSeconds.set(this.unassignedMs() / 1000)
  }
}
