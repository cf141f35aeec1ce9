import { spawnSync, type ChildProcess } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { createApiClient, createDb } from '@radstream/db'
import { scratchTopic } from '@radstream/kafka'
import {
  ensureLocalCluster,
  ensureLocalKafka,
  run as runCommand,
  stopLocalCluster,
  stopLocalKafka,
} from '@radstream/stack'
import { benchSettings } from '../../bench/lib/bench-stack'
import { Fleet } from '../../bench/lib/fleet'
import { startService, stopService, waitUntilOk } from '../../bench/lib/processes'
import { accessToken } from '../support/api-client'
import { fmt, table } from '../../bench/lib/stats'
import { waitRecorded } from '../../bench/lib/verify'
import { AckedTimeline } from './acked-timeline'
import {
  CLUSTER_PARTITIONS,
  killActiveController,
  killBusiestLeader,
  killOneOfEach,
  runClusterFaults,
  twoOfThreeDown,
  type Fault,
} from './cluster-faults'
import { differences, referenceContent } from './reference-run'

/**
 * `npm run test:chaos`: each fault under a steady load from the project's load generator, then
 * the promise RFC 2866 makes checked: every acknowledged packet is in PostgreSQL exactly once, and
 * every session, user and audit row equals that of an undisturbed run of the same packets.
 * Faults: SIGKILL of the collector, SIGKILL of the sessionizer, a Kafka restart, PostgreSQL
 * refusing connections for 20 s; on a 3-node cluster of its own, SIGKILL of the busiest partition
 * leader and of the active controller, 2 of 3 brokers down, and one of two collectors and
 * sessionizers killed; then the collector fuzz test with 1,000,000 datagrams. Prints tables;
 * exits 1 if anything acknowledged was lost or duplicated. Stops this machine's PostgreSQL
 * for 20 s and restarts the local broker: run it on a development or CI machine only.
 */
const { values } = parseArgs({ options: { only: { type: 'string' }, rate: { type: 'string', default: '500' } } })

interface Services {
  collector: ChildProcess
  sessionizer: ChildProcess
  api: ChildProcess
}

interface Scenario {
  readonly name: string
  /** Breaks something at t = 5 s; resolves when it is repaired. May probe the API meanwhile. */
  readonly fault: (
    services: Services,
    restart: (name: keyof Services) => ChildProcess,
    probe: () => Promise<string>,
  ) => Promise<string>
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** SIGKILL of one service mid-work, and a new process in its place 2 s later. */
function killAndRestart(service: 'collector' | 'sessionizer'): Scenario['fault'] {
  return async (services, restart) => {
    services[service].kill('SIGKILL')
    await sleep(2000)
    services[service] = restart(service)
    return ''
  }
}

const scenarios: Scenario[] = [
  { name: 'SIGKILL collector, restart after 2 s', fault: killAndRestart('collector') },
  { name: 'SIGKILL sessionizer mid-batch, restart after 2 s', fault: killAndRestart('sessionizer') },
  {
    name: 'restart the Kafka broker',
    fault: async () => {
      await stopLocalKafka(9092, () => undefined)
      await sleep(2000)
      await ensureLocalKafka({ port: 9092, controllerPort: 9093, partitions: 6, log: () => undefined })
      return ''
    },
  },
  {
    name: 'PostgreSQL refuses connections for 20 s',
    fault: async (_services, _restart, probe) => {
      const versions = readdirSync('/etc/postgresql')
      for (const version of versions)
        await runCommand('pg_ctlcluster', ['--skip-systemctl-redirect', version, 'main', 'stop', '-m', 'fast'])
      await sleep(3000)
      const during = await probe()
      await sleep(17_000)
      for (const version of versions)
        await runCommand('pg_ctlcluster', ['--skip-systemctl-redirect', version, 'main', 'start'])
      return during
    },
  },
]

const rows: (string | number)[][] = [
  ['fault', 'acked', 'recorded', 'lost', 'duplicated', 'rows unlike undisturbed', 'recovery s', 'API while down'],
]
let failed = false
for (const scenario of scenarios.filter((s) => !values.only || s.name.includes(values.only))) {
  const runId = `chaos${Date.now().toString(36)}`
  const { settings, env } = await benchSettings(runId, {
    SESSIONIZER_SESSION_TIMEOUT_MS: '6000',
    NAS_REFRESH_MS: '1000',
  })
  const adminDb = createDb({ url: settings.database.url, poolSize: 1 })
  const admin = await createApiClient(adminDb, { name: `chaos-${runId}`, scopes: ['admin'] })
  await adminDb.destroy()
  const services: Services = {
    collector: startService('collector', env),
    sessionizer: startService('sessionizer', env),
    api: startService('api', env),
  }
  const restart = (name: keyof Services) => startService(name, env)
  const apiBase = `http://127.0.0.1:${env.PORT}`
  await waitUntilOk(`http://127.0.0.1:${env.COLLECTOR_METRICS_PORT}/readyz`, 'the collector')
  await sleep(2000)
  const token = await accessToken(apiBase, admin)
  const probe = async () => {
    const response = await fetch(`${apiBase}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: '{ getOnlineSessions(first: 1) { id } }' }),
    }).catch((error: Error) => ({ status: 0, text: async () => error.message }))
    return `${response.status} ${(await response.text()).slice(0, 80)}`
  }

  const fleet = new Fleet({
    run: runId,
    port: settings.collector.port,
    secret: Buffer.from('bench-secret'),
    nasCount: 10,
    window: 16,
    rate: Number(values.rate),
    sessionsPerNas: 400,
    interimsPerSession: 2,
    retransmitMs: 1000,
    keepAnswered: true,
  })
  const timeline = new AckedTimeline(() => fleet.acked)
  await fleet.start()
  await sleep(5000)
  const faultAt = Date.now()
  const during = await scenario.fault(services, restart, probe)
  const repairedAt = Date.now()
  await sleep(10_000)
  const unanswered = await fleet.stop(90_000)
  timeline.stop()
  const db = createDb({ url: settings.database.url, poolSize: 1 })
  const check = await waitRecorded(db, runId, fleet.nas, 120_000)
  await Promise.all(Object.values(services).map((child) => stopService(child)))
  const reference = await referenceContent(
    settings.database.url,
    fleet.nas.flatMap((nas) => nas.answered),
  )
  const unlike = await differences(db, reference)
  await db.destroy()
  const rowsUnlike = unlike.sessions + unlike.users + unlike.usage + unlike.auditEvents + unlike.counters
  if (!check.complete || check.duplicated > 0 || unanswered > 0 || rowsUnlike > 0) failed = true
  rows.push([
    scenario.name,
    check.acked,
    check.recorded,
    check.lost,
    check.duplicated,
    `${rowsUnlike} (of ${reference.sessions.length} sessions)`,
    // From the fault until the NAS fleet is acknowledged at half its rate before it.
    fmt(timeline.recoverySeconds(faultAt, repairedAt), 1),
    during || '-',
  ])
  console.error(`chaos: ${scenario.name}: ${JSON.stringify({ ...check, unanswered, unlike })}`)
}
console.log(table(rows))

// The same promise on a 3-node cluster (replication 3, min.insync.replicas 2) of the chaos run's own.
// Below the kernel's ephemeral range (32768 up): a client's outgoing connection could hold a port of a
// killed node and stop it coming back.
const clusterPorts = [27092, 27102, 27112]
const clusterRuns: { name: string; faults: Fault[]; collectors: number; sessionizers: number; nas: number }[] = [
  {
    name: 'cluster: leader, then controller',
    faults: [killBusiestLeader, killActiveController],
    collectors: 1,
    sessionizers: 1,
    nas: 10,
  },
  { name: 'cluster: 2 of 3 brokers down', faults: [twoOfThreeDown], collectors: 1, sessionizers: 1, nas: 10 },
  // Scale out: 3 sessionizers in one group and 2 collectors, 40 NAS over the partitions.
  {
    name: 'cluster: 2 collectors, 3 sessionizers, 40 NAS',
    faults: [killOneOfEach],
    collectors: 2,
    sessionizers: 3,
    nas: 40,
  },
]
const selected = clusterRuns.filter((r) => !values.only || r.name.includes(values.only))
if (selected.length > 0) {
  await ensureLocalCluster({
    ports: clusterPorts,
    partitions: CLUSTER_PARTITIONS,
    log: (m) => console.error(`stack: ${m}`),
  })
  const clusterRows: (string | number)[][] = [
    ['run', 'acked', 'lost', 'duplicated', 'rows unlike undisturbed', 'unanswered', 'measured'],
  ]
  for (const clusterRun of selected) {
    const { settings } = await benchSettings(`cluster${Date.now().toString(36)}`)
    const result = await runClusterFaults({
      ports: clusterPorts,
      databaseUrl: settings.database.url,
      run: `chaos${Date.now().toString(36)}`,
      topic: scratchTopic('radius.accounting.bench-', 'cluster'),
      rate: Number(values.rate),
      nasPerCollector: clusterRun.nas / clusterRun.collectors,
      collectors: clusterRun.collectors,
      sessionizers: clusterRun.sessionizers,
      faults: clusterRun.faults,
      env: { KAFKA_REPLICATION_FACTOR: '3', KAFKA_MIN_INSYNC_REPLICAS: '2' },
      log: (m) => console.error(`chaos: ${m}`),
    })
    const { check } = result
    if (!check.complete || check.duplicated > 0 || result.unanswered > 0 || result.rowsUnlike > 0) failed = true
    if (
      result.faults.some(
        (f) => Number(f.measured.ackedWhileDown ?? 0) > 0 || Number(f.measured.readyWhileDown ?? 0) > 0,
      )
    ) {
      failed = true
    }
    clusterRows.push([
      clusterRun.name,
      check.acked,
      check.lost,
      check.duplicated,
      `${result.rowsUnlike} (of ${result.sessions} sessions)`,
      result.unanswered,
      result.faults.map((f) => `${f.name}: ${JSON.stringify(f.measured)}`).join('; '),
    ])
  }
  await stopLocalCluster(clusterPorts, () => undefined)
  console.log(table(clusterRows))
}

// The long hostile-input run: the collector fuzz test with a million datagrams instead of 100,000.
if (!values.only) {
  const fuzz = spawnSync('npx', ['vitest', 'run', 'services/collector/test/fuzz.test.ts'], {
    stdio: 'inherit',
    env: { ...process.env, FUZZ_DATAGRAMS: '1000000' },
  })
  if (fuzz.status !== 0) failed = true
}
if (failed) {
  console.error(
    'chaos: an acknowledged packet was lost or duplicated, a row differs from the undisturbed run, or a NAS was left unanswered',
  )
  process.exitCode = 1
}
