import { parseArgs } from 'node:util'
import { loadSettings } from '@radstream/config'
import { ensureLocalCluster } from '@radstream/stack'
import { runScript } from './lib/processes'
import { fmt, table } from './lib/stats'

/**
 * One broker against the local 3-node cluster (replication 3, min.insync.replicas 2), same load,
 * same run (`--rate N` or `--max`): bench/ingest.ts alternating between them for `--rounds` rounds, so the VM's drift
 * falls on both alike. Prints each round and the cluster's figures as ratios of the single broker's.
 */
const { values } = parseArgs({
  options: {
    rate: { type: 'string', default: '2500' },
    max: { type: 'boolean', default: false },
    duration: { type: 'string', default: '30' },
    rounds: { type: 'string', default: '2' },
  },
})
const CLUSTER_PORTS = [9192, 9202, 9212]

interface IngestResult {
  brokers: number
  ackedPerSecond: number
  endToEndPerSecond: number
  ackLatencyMs: { p50: number; p99: number }
  recorded: { lost: number }
  resources: Record<string, { cpuCores: number }>
}

function ingest(args: string[]): Promise<IngestResult> {
  return runScript<IngestResult>('ingest.ts', args)
}

const settings = loadSettings()
await ensureLocalCluster({
  ports: CLUSTER_PORTS,
  partitions: settings.kafka.partitions,
  log: (m) => console.error(`stack: ${m}`),
})
const clusterBrokers = CLUSTER_PORTS.map((p) => `127.0.0.1:${p}`).join(',')
const load = [...(values.max ? ['--max'] : ['--rate', values.rate!]), '--duration', values.duration!]
const rows: (string | number)[][] = [
  ['round', 'Kafka', 'acked/s', 'end to end/s', 'ack p50 / p99 ms', 'Kafka CPU cores', 'lost'],
]
const single: IngestResult[] = []
const cluster: IngestResult[] = []
for (let round = 1; round <= Number(values.rounds); round++) {
  for (const [name, runs, args] of [
    ['1 broker', single, load],
    ['3 brokers, RF 3, min ISR 2', cluster, [...load, '--brokers', clusterBrokers]],
  ] as const) {
    const result = await ingest([...args])
    runs.push(result)
    rows.push([
      round,
      name,
      fmt(result.ackedPerSecond, 0),
      fmt(result.endToEndPerSecond, 0),
      `${fmt(result.ackLatencyMs.p50, 2)} / ${fmt(result.ackLatencyMs.p99, 2)}`,
      fmt(result.resources.kafka?.cpuCores ?? Number.NaN, 2),
      result.recorded.lost,
    ])
  }
}
const mean = (runs: IngestResult[], pick: (r: IngestResult) => number) =>
  runs.reduce((sum, r) => sum + pick(r), 0) / runs.length
const ratio = (pick: (r: IngestResult) => number) => fmt(mean(cluster, pick) / mean(single, pick), 2)
console.log(table(rows))
console.log(
  table([
    ['cluster / single broker (means)', 'ratio'],
    ['acked/s', ratio((r) => r.ackedPerSecond)],
    ['end to end/s', ratio((r) => r.endToEndPerSecond)],
    ['ack p99', ratio((r) => r.ackLatencyMs.p99)],
    ['Kafka CPU', ratio((r) => r.resources.kafka?.cpuCores ?? Number.NaN)],
  ]),
)
if ([...single, ...cluster].some((r) => r.recorded.lost > 0)) process.exitCode = 1
