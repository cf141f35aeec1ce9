import type { ChildProcess } from 'node:child_process'
import { createDb, emptyTables, ensureDatabaseExists, migrateToLatest, upsertNasClient } from '@radstream/db'
import { createKafka, withAdmin } from '@radstream/kafka'
import { activeControllerPort, ensureLocalCluster, freePort, stopLocalKafka } from '@radstream/stack'
import { Fleet } from '../../bench/lib/fleet'
import { peakRssMb, startService, stopService, waitUntilOk } from '../../bench/lib/processes'
import { waitRecorded, type RecordedCheck } from '../../bench/lib/verify'
import { AckedTimeline } from './acked-timeline'
import { differences, referenceContent } from './reference-run'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const SECRET = 'cluster-secret'
/** The partitions of the accounting topic on the cluster: two led by each node. */
export const CLUSTER_PARTITIONS = 6

/** A running pipeline on a local cluster, as a fault sees it. */
export interface FaultContext {
  readonly ports: readonly number[]
  readonly topic: string
  readonly brokers: string
  readonly collectors: ChildProcess[]
  readonly sessionizers: ChildProcess[]
  readonly collectorMetricsPorts: readonly number[]
  /** Fleet-wide acknowledgements so far. */
  acked(): number
  /** Starts the cluster's nodes that are not running (only those on `only`, when given). */
  restartNodes(only?: readonly number[]): Promise<void>
  /** Starts collector i again (same ports) after it was killed. */
  restartCollector(i: number): ChildProcess
  log(message: string): void
}

/** One step under load; resolves with what it measured. */
export interface Fault {
  readonly name: string
  run(context: FaultContext, timeline: AckedTimeline): Promise<Record<string, number | string | boolean>>
}

export interface ClusterRunOptions {
  readonly ports: readonly number[]
  /** The run's database is made (or emptied) here, and a reference database beside it. */
  readonly databaseUrl: string
  readonly run: string
  readonly topic: string
  readonly rate: number
  readonly nasPerCollector: number
  readonly collectors: number
  readonly sessionizers: number
  readonly faults: readonly Fault[]
  /** Extra environment for every service (replication settings, say). */
  readonly env?: Record<string, string>
  readonly log: (message: string) => void
}

export interface ClusterRunResult {
  readonly check: RecordedCheck
  readonly unanswered: number
  readonly rowsUnlike: number
  readonly sessions: number
  readonly faults: { name: string; measured: Record<string, number | string | boolean> }[]
}

async function emptyDatabase(url: string): Promise<void> {
  await ensureDatabaseExists(url)
  const db = createDb({ url, poolSize: 1 })
  try {
    await migrateToLatest(db)
    await emptyTables(db)
    await upsertNasClient(db, { network: '127.0.0.1', secret: SECRET, name: 'cluster fault fleet' })
  } finally {
    await db.destroy()
  }
}

/** The node that leads the most partitions of `topic`: losing it moves the most leaders. */
export async function busiestLeaderPort(brokers: string, topic: string, ports: readonly number[]): Promise<number> {
  const kafka = createKafka({ brokers: brokers.split(','), clientId: 'radstream-cluster-faults' })
  const partitions = await withAdmin(kafka, (admin) => admin.partitions(topic))
  const led = new Map<number, number>()
  for (const p of partitions) led.set(p.leader, (led.get(p.leader) ?? 0) + 1)
  const [leader] = [...led.entries()].sort((a, b) => b[1] - a[1])[0] ?? [1]
  return ports[leader - 1]!
}

/** Waits until every partition of `topic` has all its replicas in sync again (a restarted node caught up). */
export async function waitFullyInSync(
  brokers: string,
  topic: string,
  replicas: number,
  timeoutMs = 90_000,
): Promise<number> {
  const started = Date.now()
  const kafka = createKafka({ brokers: brokers.split(','), clientId: 'radstream-cluster-faults' })
  return withAdmin(kafka, async (admin) => {
    for (;;) {
      const partitions = await admin.partitions(topic)
      if (partitions.every((p) => p.isr.length >= replicas)) return (Date.now() - started) / 1000
      if (Date.now() - started > timeoutMs)
        throw new Error(`${topic}: replicas not back in sync after ${timeoutMs / 1000} s`)
      await sleep(250)
    }
  })
}

/** SIGKILL of a node, a wait until acks resume, the node restarted and back in sync. */
export function killNode(name: string, choose: (context: FaultContext) => Promise<number>): Fault {
  return {
    name,
    async run(context, timeline) {
      const port = await choose(context)
      const faultAt = Date.now()
      await stopLocalKafka(port, context.log, { crash: true })
      let recovery = Number.NaN
      for (let waited = 0; waited < 60_000 && !Number.isFinite(recovery); waited += 500) {
        await sleep(500)
        recovery = timeline.recoverySeconds(faultAt)
      }
      await context.restartNodes()
      const resync = await waitFullyInSync(context.brokers, context.topic, 3)
      return { node: port, recoverySeconds: recovery, resyncSeconds: resync }
    },
  }
}

export const killBusiestLeader = killNode('SIGKILL the broker leading the most partitions', (c) =>
  busiestLeaderPort(c.brokers, c.topic, c.ports),
)

export const killActiveController = killNode('SIGKILL the active controller', async (c) => {
  const port = activeControllerPort(c.ports)
  if (port === undefined) throw new Error('no node knows the quorum leader')
  return port
})

/**
 * Two of three nodes down: no write can reach min.insync.replicas, so the collector must answer
 * nothing, say not ready and hold its memory; one node back, acks resume.
 */
export const twoOfThreeDown: Fault = {
  name: 'SIGKILL 2 of 3 brokers, then bring one back',
  async run(context) {
    const victims = context.ports.slice(1)
    for (const port of victims) await stopLocalKafka(port, context.log, { crash: true })
    // Records already in a produce request may still complete; after the collector's retries give
    // up (about 6 s) and the brokers are fenced, nothing more may be acknowledged.
    await sleep(15_000)
    const frozenAt = context.acked()
    let peakRss = 0
    const readiness: number[] = []
    for (let i = 0; i < 20; i++) {
      await sleep(500)
      for (const child of context.collectors) if (child.pid) peakRss = Math.max(peakRss, peakRssMb(child.pid))
      const status = await fetch(`http://127.0.0.1:${context.collectorMetricsPorts[0]}/readyz`).then(
        (r) => r.status,
        () => 0,
      )
      readiness.push(status)
    }
    const ackedWhileDown = context.acked() - frozenAt
    const back = Date.now()
    await context.restartNodes([victims[0]!])
    const resumed = context.acked()
    let resumeSeconds = Number.NaN
    for (let waited = 0; waited < 60_000; waited += 250) {
      if (context.acked() > resumed + 50) {
        resumeSeconds = (Date.now() - back) / 1000
        break
      }
      await sleep(250)
    }
    await context.restartNodes()
    await waitFullyInSync(context.brokers, context.topic, 3)
    return {
      ackedWhileDown,
      readyWhileDown: readiness.filter((s) => s === 200).length,
      peakCollectorRssMb: Math.round(peakRss),
      resumeSecondsAfterBrokerBack: resumeSeconds,
    }
  },
}

/**
 * SIGKILL of one collector (restarted 2 s later, its NAS retransmitting meanwhile) and one
 * sessionizer of the group (not restarted: the others take its partitions, and its last batch).
 */
export const killOneOfEach: Fault = {
  name: 'SIGKILL one of the collectors and one of the sessionizers',
  async run(context, timeline) {
    const faultAt = Date.now()
    context.collectors[0]!.kill('SIGKILL')
    context.sessionizers[0]!.kill('SIGKILL')
    await sleep(2000)
    context.collectors[0] = context.restartCollector(0)
    await sleep(8000)
    return { recoverySeconds: timeline.recoverySeconds(faultAt) }
  },
}

/**
 * A steady load from simulated NAS (with retransmission) through collectors and sessionizers on a
 * local cluster while `faults` run one after another; then every acknowledged packet must be in
 * PostgreSQL once, and the database must equal an undisturbed run of the acknowledged datagrams.
 */
export async function runClusterFaults(options: ClusterRunOptions): Promise<ClusterRunResult> {
  const { log } = options
  await emptyDatabase(options.databaseUrl)
  const brokers = options.ports.map((p) => `127.0.0.1:${p}`).join(',')
  const collectorPorts = await Promise.all(Array.from({ length: options.collectors }, () => freePort()))
  const collectorMetricsPorts = await Promise.all(Array.from({ length: options.collectors }, () => freePort()))
  const baseEnv: Record<string, string> = {
    DATABASE_URL: options.databaseUrl,
    KAFKA_BROKERS: brokers,
    KAFKA_TOPIC: options.topic,
    KAFKA_TOPIC_PARTITIONS: String(CLUSTER_PARTITIONS),
    SESSIONIZER_GROUP_ID: `radstream-cluster-${options.run}`,
    SESSIONIZER_SESSION_TIMEOUT_MS: '6000',
    RADIUS_ACCT_HOST: '127.0.0.1',
    COLLECTOR_METRICS_HOST: '127.0.0.1',
    SESSIONIZER_METRICS_HOST: '127.0.0.1',
    SESSIONIZER_METRICS_PORT: '0',
    NAS_REFRESH_MS: '1000',
    LOG_LEVEL: process.env.CHAOS_LOG_LEVEL ?? 'fatal',
    STALE_SWEEP_INTERVAL_MS: '86400000',
    ...options.env,
  }
  const collectorEnv = (i: number) => ({
    ...baseEnv,
    RADIUS_ACCT_PORT: String(collectorPorts[i]),
    COLLECTOR_METRICS_PORT: String(collectorMetricsPorts[i]),
  })
  const sessionizers = Array.from({ length: options.sessionizers }, () => startService('sessionizer', baseEnv))
  const collectors = collectorPorts.map((_, i) => startService('collector', collectorEnv(i)))
  const all = () => [...collectors, ...sessionizers]
  try {
    for (const port of collectorMetricsPorts) await waitUntilOk(`http://127.0.0.1:${port}/readyz`, 'a collector')
    const fleets = collectorPorts.map(
      (port, i) =>
        new Fleet({
          run: `${options.run}c${i}`,
          port,
          secret: Buffer.from(SECRET),
          nasCount: options.nasPerCollector,
          firstNas: i * options.nasPerCollector,
          window: 16,
          rate: options.rate / options.collectors,
          sessionsPerNas: 100_000,
          interimsPerSession: 2,
          retransmitMs: 1000,
          keepAnswered: true,
        }),
    )
    const acked = () => fleets.reduce((sum, fleet) => sum + fleet.acked, 0)
    const timeline = new AckedTimeline(acked)
    for (const fleet of fleets) await fleet.start()
    await sleep(5000)
    const context: FaultContext = {
      ports: options.ports,
      topic: options.topic,
      brokers,
      collectors,
      sessionizers,
      collectorMetricsPorts,
      acked,
      restartNodes: async (only) => {
        await ensureLocalCluster({ ports: options.ports, partitions: CLUSTER_PARTITIONS, log, ...(only && { only }) })
      },
      restartCollector: (i) => startService('collector', collectorEnv(i)),
      log,
    }
    const faults: ClusterRunResult['faults'] = []
    for (const fault of options.faults) {
      log(`fault: ${fault.name}`)
      const measured = await fault.run(context, timeline)
      log(`fault: ${fault.name}: ${JSON.stringify(measured)}`)
      faults.push({ name: fault.name, measured })
      await sleep(3000)
    }
    const unanswered = (await Promise.all(fleets.map((fleet) => fleet.stop(90_000)))).reduce((a, b) => a + b, 0)
    timeline.stop()

    const db = createDb({ url: options.databaseUrl, poolSize: 1 })
    try {
      let check: RecordedCheck | undefined
      for (const [i, fleet] of fleets.entries()) {
        const one = await waitRecorded(db, `${options.run}c${i}`, fleet.nas, 120_000)
        check = check
          ? {
              acked: check.acked + one.acked,
              recorded: check.recorded + one.recorded,
              lost: check.lost + one.lost,
              duplicated: check.duplicated + one.duplicated,
              complete: check.complete && one.complete,
            }
          : one
      }
      const reference = await referenceContent(
        options.databaseUrl,
        fleets.flatMap((fleet) => fleet.nas.flatMap((nas) => nas.answered)),
        `${new URL(options.databaseUrl).pathname.slice(1)}_reference`,
      )
      const unlike = await differences(db, reference)
      return {
        check: check!,
        unanswered,
        rowsUnlike: unlike.sessions + unlike.users + unlike.usage + unlike.auditEvents + unlike.counters,
        sessions: reference.sessions.length,
        faults,
      }
    } finally {
      await db.destroy()
    }
  } finally {
    await Promise.all(all().map((child) => stopService(child)))
  }
}
