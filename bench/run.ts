import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

/**
 * `npm run bench`: capacity (as fast as it goes, 60 s), latency at a fixed 5,000 packets/s (the
 * target's load) and 2,500 packets/s (below this machine's capacity), 30 s each, then the query
 * benchmark on 10 million sessions and audit events, kafkajs against @platformatic/kafka
 * (bench/kafka-clients.ts), then one broker against the local 3-node
 * cluster (bench/cluster.ts); `--workload isp` runs an ISP's day (bench/isp.ts) instead. Extra arguments go to
 * each benchmark; run one alone with `npx tsx bench/ingest.ts ...` or `npx tsx bench/query.ts ...`.
 */
const compare = process.argv.indexOf('--compare')
const workload = process.argv.indexOf('--workload')
const runs: [string, string[]][] =
  compare !== -1
    ? [[comparison(process.argv[compare + 1]), process.argv.slice(compare + 2)]]
    : workload !== -1
      ? [[workloadScript(process.argv[workload + 1]), process.argv.slice(workload + 2)]]
      : everyBenchmark()

/** `--compare freeradius`: radstream and FreeRADIUS side by side (bench/compare-freeradius.ts) instead. */
function comparison(peer: string | undefined): string {
  if (peer !== 'freeradius') throw new Error(`--compare: the one peer is freeradius, got ${peer ?? 'nothing'}`)
  return 'compare-freeradius.ts'
}

/** `--workload isp`: an ISP's day (bench/isp.ts), sessions of every age in tables of millions of rows. */
function workloadScript(name: string | undefined): string {
  if (name !== 'isp') throw new Error(`--workload: the one workload is isp, got ${name ?? 'nothing'}`)
  return 'isp.ts'
}

function everyBenchmark(): [string, string[]][] {
  return [
    ['ingest.ts', ['--max', '--duration', '60']],
    ['ingest.ts', ['--rate', '5000', '--duration', '30']],
    ['ingest.ts', ['--rate', '2500', '--duration', '30']],
    ['query.ts', []],
    // The collector's Kafka client against @platformatic/kafka: CPU per record for the same records.
    ['kafka-clients.ts', []],
    // One broker against the local 3-node cluster, alternating, at a rate both sustain and as fast as it goes.
    ['cluster.ts', ['--rate', '2500', '--duration', '30']],
    ['cluster.ts', ['--max', '--duration', '30']],
  ]
}

for (const [script, args] of runs) {
  console.log(`\n== bench/${script} ${args.join(' ')}`)
  const code = await new Promise<number | null>((resolve) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', fileURLToPath(new URL(script, import.meta.url)), ...args],
      { stdio: 'inherit' },
    )
    child.on('close', resolve)
  })
  if (code !== 0) {
    console.error(`bench/${script} failed with ${code}`)
    process.exitCode = 1
  }
}
