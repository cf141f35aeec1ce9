import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client'

/** The collector's Prometheus metrics, in a registry of its own (several collectors per process in tests). */
export class CollectorMetrics {
  readonly registry = new Registry()
  readonly received = new Counter({
    name: 'radstream_collector_datagrams_received_total',
    help: 'UDP datagrams read from the accounting socket',
    registers: [this.registry],
  })
  readonly dropped = new Counter({
    name: 'radstream_collector_datagrams_dropped_total',
    help: 'Datagrams discarded without an answer, by reason',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  })
  readonly duplicates = new Counter({
    name: 'radstream_collector_duplicates_total',
    help: 'Retransmissions answered from the duplicate cache or joined to the request in flight',
    registers: [this.registry],
  })
  readonly published = new Counter({
    name: 'radstream_collector_records_published_total',
    help: 'Records acknowledged by Kafka (acks=all)',
    registers: [this.registry],
  })
  readonly responses = new Counter({
    name: 'radstream_collector_responses_sent_total',
    help: 'Accounting-Responses sent, by the request they answer',
    labelNames: ['request'] as const,
    registers: [this.registry],
  })
  readonly inFlight = new Gauge({
    name: 'radstream_collector_in_flight_records',
    help: 'Records waiting for the Kafka acknowledgement',
    registers: [this.registry],
  })
  readonly publishSeconds = new Histogram({
    name: 'radstream_collector_publish_seconds',
    help: 'Time from reading a datagram to Kafka acknowledging its record',
    buckets: [
      0.001, 0.0025, 0.005, 0.01, 0.015, 0.02, 0.025, 0.03, 0.04, 0.05, 0.075, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
    ],
    registers: [this.registry],
  })
  readonly kafkaWritable = new Gauge({
    name: 'radstream_collector_kafka_writable',
    help: '1 while the collector can record to Kafka (and so answers), else 0',
    registers: [this.registry],
  })
  readonly undecodable = new Counter({
    name: 'radstream_collector_undecodable_total',
    help: 'Authenticated Accounting-Requests the codec could not decode, kept raw and answered (they are dead-lettered)',
    registers: [this.registry],
  })
  readonly timesIgnored = new Counter({
    name: 'radstream_collector_time_attributes_ignored_total',
    help: 'Acct-Delay-Time or Event-Timestamp values beyond belief, ignored for the event time (by attribute)',
    labelNames: ['attribute'] as const,
    registers: [this.registry],
  })
  readonly nasClients = new Gauge({
    name: 'radstream_collector_nas_clients',
    help: 'NAS addresses and CIDR blocks in the registry',
    registers: [this.registry],
  })

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'radstream_collector_' })
  }
}
