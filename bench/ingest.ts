import { parseArgs } from 'node:util'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { createDb } from '@radstream/db'
import { benchSettings, kafkaBrokerPids } from './lib/bench-stack'
import { pidsNamed, ResourceMeter, startService, stopService, waitUntilOk } from './lib/processes'
import { Fleet } from './lib/fleet'
import { sampleLockWaits } from './lib/lock-waits'
import { PrometheusText } from './lib/prometheus'
import { fmt, summarize, table } from './lib/stats'
import { waitRecorded } from './lib/verify'

/**
 * Ingest benchmark: simulated NAS -> collector -> Kafka -> sessionizer -> PostgreSQL, every hop a
 * real process. Fixed rate (--rate) for latency at a given load, or as fast as it goes (--max).
 */
const { values } = parseArgs({
  options: {
    rate: { type: 'string' },
    max: { type: 'boolean', default: false },
    duration: { type: 'string', default: '60' },
    nas: { type: 'string', default: '50' },
    window: { type: 'string', default: '32' },
    interims: { type: 'string', default: '2' },
    'retransmit-ms': { type: 'string', default: '1000' },
    'partitions-concurrently': { type: 'string', default: '2' },
    // Another Kafka: e.g. the local 3-node cluster, 127.0.0.1:9192,127.0.0.1:9202,127.0.0.1:9212.
    brokers: { type: 'string' },
    // The first second of a run answers in up to ~300 ms (JIT, the first produce requests, new
    // sockets): kept apart, so that the percentiles describe the steady state.
    warmup: { type: 'string', default: '5' },
  },
})
if (!values.max && !values.rate) throw new Error('give --rate <packets per second> or --max')
const rate = values.max ? Number.POSITIVE_INFINITY : Number(values.rate)
const duration = Number(values.duration)
const nasCount = Number(values.nas)
const interims = Number(values.interims)
const run = Date.now().toString(36)

const { settings, env } = await benchSettings(run, {
  SESSIONIZER_PARTITIONS_CONCURRENTLY: values['partitions-concurrently']!,
  ...(values.brokers && { KAFKA_BROKERS: values.brokers }),
})
const collector = startService('collector', env)
const sessionizer = startService('sessionizer', env)
await waitUntilOk(`http://127.0.0.1:${env.COLLECTOR_METRICS_PORT}/readyz`, 'the collector')
await new Promise((resolve) => setTimeout(resolve, 2000)) // the sessionizer joins its group

const expectedRate = Number.isFinite(rate) ? rate : 25_000
const sessionsPerNas = Math.ceil(((expectedRate * duration) / nasCount / (interims + 2)) * 1.3)
const fleet = new Fleet({
  run,
  port: settings.collector.port,
  secret: Buffer.from('bench-secret'),
  nasCount,
  window: Number(values.window),
  rate,
  sessionsPerNas,
  interimsPerSession: interims,
  retransmitMs: Number(values['retransmit-ms']),
})

const meter = new ResourceMeter({
  collector: () => [collector.pid!],
  sessionizer: () => [sessionizer.pid!],
  generator: () => [process.pid],
  kafka: () => kafkaBrokerPids(settings),
  postgres: () => pidsNamed('postgres'),
})
console.error(
  `ingest: ${nasCount} NAS, window ${values.window}, ${Number.isFinite(rate) ? `${rate} packets/s` : 'as fast as possible'}, ${duration} s`,
)
meter.begin()
// Whether any batch waits for another's lock while every partition writes at once.
const lockDb = createDb({ url: settings.database.url, poolSize: 1 })
const lockSampler = sampleLockWaits(lockDb)
// The generator's own delays count in the latencies it measures; they are reported beside them.
const generatorLoop = monitorEventLoopDelay({ resolution: 5 })
generatorLoop.enable()
const started = performance.now()
const warmupSeconds = Number(values.warmup)
await fleet.start(warmupSeconds * 1000)
await new Promise((resolve) => setTimeout(resolve, duration * 1000))
const sendSeconds = (performance.now() - started) / 1000
const unanswered = await fleet.stop(30_000)
const ackedAt = performance.now()
generatorLoop.disable()
const collectorMetrics = await PrometheusText.fetch(`http://127.0.0.1:${env.COLLECTOR_METRICS_PORT}/metrics`)
const collectorView = {
  publishP99AtMostMs: (collectorMetrics.bucketBound('radstream_collector_publish_seconds', 0.99) ?? NaN) * 1000,
  eventLoopLagP99Ms: (collectorMetrics.value('radstream_collector_nodejs_eventloop_lag_p99_seconds') ?? NaN) * 1000,
  eventLoopLagMaxMs: (collectorMetrics.value('radstream_collector_nodejs_eventloop_lag_max_seconds') ?? NaN) * 1000,
}
const generatorLoopLag = { p99Ms: generatorLoop.percentile(99) / 1e6, maxMs: generatorLoop.max / 1e6 }

// End to end: until PostgreSQL holds the effect of every acknowledged packet.
const db = createDb({ url: settings.database.url, poolSize: 1 })
const check = await waitRecorded(db, run, fleet.nas, 300_000)
const doneAt = performance.now()
const resources = meter.end()
const lockWaits = await lockSampler.stop()
await Promise.all([db.destroy(), lockDb.destroy()])
const sessionizerMetrics = await PrometheusText.fetch(`http://127.0.0.1:${env.SESSIONIZER_METRICS_PORT}/metrics`)
const batchLocks = {
  batches: sessionizerMetrics.value('radstream_sessionizer_lock_wait_seconds_count') ?? 0,
  waitedMsInAll: (sessionizerMetrics.value('radstream_sessionizer_lock_wait_seconds_sum') ?? 0) * 1000,
  waitP99AtMostMs: (sessionizerMetrics.bucketBound('radstream_sessionizer_lock_wait_seconds', 0.99) ?? NaN) * 1000,
  // A batch holds its locks until it commits: its transaction's time is how long it holds any.
  heldP50AtMostMs: (sessionizerMetrics.bucketBound('radstream_sessionizer_transaction_seconds', 0.5) ?? NaN) * 1000,
  heldP99AtMostMs: (sessionizerMetrics.bucketBound('radstream_sessionizer_transaction_seconds', 0.99) ?? NaN) * 1000,
}
await Promise.all([stopService(collector), stopService(sessionizer)])

const { sent, acked, retransmitted } = fleet
const latency = summarize(fleet.latencies())
const warmupLatency = summarize(fleet.warmupLatencies())
const e2eSeconds = (doneAt - started) / 1000
const result = {
  mode: Number.isFinite(rate) ? `rate ${rate}/s` : 'max',
  brokers: settings.kafka.brokers.length,
  durationSeconds: duration,
  nas: nasCount,
  window: Number(values.window),
  sent,
  acked,
  retransmitted,
  unanswered,
  ackedPerSecond: acked / sendSeconds,
  ackLatencyMs: latency,
  warmupSeconds,
  warmupAckLatencyMs: warmupLatency,
  collectorView,
  generatorLoopLag,
  endToEndPerSecond: acked / e2eSeconds,
  catchUpSeconds: (doneAt - ackedAt) / 1000,
  databaseMatches: check.complete && check.duplicated === 0,
  lockWaits,
  batchLocks,
  recorded: check,
  resources,
}
console.log(
  table([
    ['metric', 'value'],
    ['mode', result.mode],
    ['Kafka brokers', result.brokers],
    ['packets sent (first transmissions)', sent],
    ['packets acked', acked],
    ['retransmissions', retransmitted],
    ['unanswered at the end', unanswered],
    ['acked packets/s', fmt(result.ackedPerSecond, 0)],
    [
      `ack latency p50 / p99 / max (ms), after ${warmupSeconds} s warm-up`,
      `${fmt(latency.p50, 2)} / ${fmt(latency.p99, 2)} / ${fmt(latency.max, 1)}`,
    ],
    [
      'ack latency p50 / p99 / max (ms), warm-up',
      `${fmt(warmupLatency.p50, 2)} / ${fmt(warmupLatency.p99, 2)} / ${fmt(warmupLatency.max, 1)}`,
    ],
    ['collector: receive -> Kafka ack p99 (ms, at most)', fmt(collectorView.publishP99AtMostMs, 0)],
    [
      'event-loop delay p99 / max (ms): collector, generator',
      `${fmt(collectorView.eventLoopLagP99Ms, 1)} / ${fmt(collectorView.eventLoopLagMaxMs, 1)}, ${fmt(generatorLoopLag.p99Ms, 1)} / ${fmt(generatorLoopLag.maxMs, 1)}`,
    ],
    ['end-to-end packets/s (acked, in PostgreSQL)', fmt(result.endToEndPerSecond, 0)],
    ['catch-up after the last ack (s)', fmt(result.catchUpSeconds, 2)],
    [
      'acked packets reflected in PostgreSQL',
      `${check.recorded} of ${check.acked} (lost ${check.lost}, duplicate rows ${check.duplicated})`,
    ],
    [
      'PostgreSQL lock waits of the sessionizer (pg_locks every 50 ms)',
      `${lockWaits.samplesWithWaits} of ${lockWaits.samples} samples${
        Object.keys(lockWaits.byLockType).length
          ? ` (${Object.entries(lockWaits.byLockType)
              .map(([type, n]) => `${type} ${n}`)
              .join(', ')})`
          : ''
      }`,
    ],
    [
      'batches: lock wait in all (ms), p99 at most (ms)',
      `${batchLocks.batches} batches: ${fmt(batchLocks.waitedMsInAll, 1)}, ${fmt(batchLocks.waitP99AtMostMs, 1)}`,
    ],
    [
      'batches: locks held (transaction) p50 / p99 at most (ms)',
      `${fmt(batchLocks.heldP50AtMostMs, 0)} / ${fmt(batchLocks.heldP99AtMostMs, 0)}`,
    ],
    ...Object.entries(resources).map(([name, r]) => [
      `${name}: CPU cores / peak RSS MB`,
      `${fmt(r.cpuCores, 2)} / ${fmt(r.peakRssMb, 0)}`,
    ]),
  ]),
)
console.log(JSON.stringify(result))
if (!result.databaseMatches) {
  console.error('ingest: PostgreSQL does not hold every acknowledged packet')
  process.exitCode = 1
}
