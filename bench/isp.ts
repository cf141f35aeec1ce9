import { parseArgs } from 'node:util'
import { sql } from 'kysely'
import { createDb, ensureMonthPartitions, type Db } from '@radstream/db'
import { closeStaleChunk } from '@radstream/sessionizer'
import { seedAgedSessions, simulatedRecord, type AgedSessions } from './lib/aged-sessions'
import { benchSettings, kafkaBrokerPids } from './lib/bench-stack'
import { allAnswered, Fleet } from './lib/fleet'
import { pidsNamed, ResourceMeter, startService, stopService, waitUntilOk } from './lib/processes'
import { sessionizerProgress } from './lib/sessionizer-progress'
import { CADENCE_SECONDS } from './lib/simulated-nas'
import { fmt, summarize, table } from './lib/stats'
import { sessionKey } from '../services/sessionizer/src/session-key'

/**
 * An ISP's day (`npm run bench -- --workload isp`): open sessions of every age sending
 * Interim-Updates at a 5-minute cadence, from many NAS, into tables grown to millions of rows.
 * Sessions of each age bucket (a new session, 10, 1,000 and 8,640 earlier reports: 30 days at
 * 5 minutes) are seeded by the shortcut of lib/aged-sessions.ts; then, round after round and
 * bucket after bucket in turn, every session of a bucket sends its next Interim-Update through the
 * real pipeline (simulated NAS -> collector -> Kafka -> sessionizer -> PostgreSQL), and the run
 * is timed until the sessionizer has committed it. Then the tables grow (closed sessions and open
 * ones, a tenth open) and the rounds run again. Printed: the end-to-end rate, CPU per packet by
 * process, PostgreSQL's statement time per packet (pg_stat_database's active_time), the share of
 * HOT session updates, a stale sweep's time, and the issue's ratios.
 */
const { values } = parseArgs({
  options: {
    sessions: { type: 'string', default: '2000' },
    ages: { type: 'string', default: '10,1000,8640' },
    'table-sizes': { type: 'string', default: '0,1000000,10000000' },
    rounds: { type: 'string', default: '3' },
    'nas-per-bucket': { type: 'string', default: '4' },
    window: { type: 'string', default: '32' },
  },
  allowPositionals: true,
})
const SESSIONS = Number(values.sessions)
const AGES = values.ages!.split(',').map(Number)
const SIZES = values['table-sizes']!.split(',').map(Number)
const ROUNDS = Number(values.rounds)
const NAS_PER_BUCKET = Number(values['nas-per-bucket'])
const SESSIONS_PER_NAS = Math.ceil(SESSIONS / NAS_PER_BUCKET)
// Long enough that no measured packet is a Stop.
const STEPS_PER_SESSION = Math.max(...AGES) + ROUNDS * SIZES.length + 10
const run = Date.now().toString(36)
const log = (message: string) => console.error(`isp: ${message}`)

interface Bucket {
  readonly name: string
  /** Reports each session had before the first round (0: new sessions, made afresh each round). */
  readonly reports: number
  /** The first of its NAS numbers; new sessions take new NAS each round. */
  firstNas: number
  /** The step its sessions send next. */
  nextStep: number
}

interface Measured {
  readonly bucket: string
  readonly size: number
  readonly round: number
  readonly perSecond: number
  readonly cpuUsPerPacket: Record<string, number>
  readonly statementUsPerPacket: number
}

const { settings, env } = await benchSettings(run, { SESSIONIZER_PARTITIONS_CONCURRENTLY: '2' })
const db = createDb({ url: settings.database.url, poolSize: 2 })
const families = (bucket: Bucket): AgedSessions[] =>
  Array.from({ length: NAS_PER_BUCKET }, (_, i) => ({
    index: bucket.firstNas + i,
    run,
    users: SESSIONS_PER_NAS,
    sessions: SESSIONS_PER_NAS,
    reports: bucket.nextStep - 1,
    stepsPerSession: STEPS_PER_SESSION,
    lastHeard: Math.floor(Date.now() / 1000) - 30,
  }))

let nasInUse = 0
const takeNas = () => {
  const first = nasInUse
  nasInUse += NAS_PER_BUCKET
  return first
}
const buckets: Bucket[] = [
  { name: 'new', reports: 0, firstNas: takeNas(), nextStep: 1 },
  ...AGES.map((reports) => ({ name: `${reports} reports`, reports, firstNas: takeNas(), nextStep: reports + 1 })),
]

/** Seeds a bucket's sessions as they stand before its next step. */
async function seed(bucket: Bucket): Promise<void> {
  const started = performance.now()
  for (const family of families(bucket)) await seedAgedSessions(db, family)
  log(`seeded ${SESSIONS} sessions of ${bucket.name} in ${fmt((performance.now() - started) / 1000, 1)} s`)
}

/**
 * Grows the sessions to `size` rows, a tenth of them open (with their liveness), spread over 30
 * days: those closed more than 8 days ago in the session history, where the retention sweep would
 * have moved them (a week's reports' retention and the day of their bucket), the rest live.
 */
async function growTo(size: number): Promise<void> {
  const { rows } = await sql<{ n: string }>`select count(*) as n from session_records`.execute(db)
  const have = Number(rows[0]!.n)
  if (have >= size) return
  const started = performance.now()
  await sql`insert into users (username) select 'filler-' || g from generate_series(1, 100000) g on conflict do nothing`.execute(
    db,
  )
  await ensureMonthPartitions(db, 'session_history', new Date(Date.now() - 31 * 86_400_000), new Date())
  const CHUNK = 1_000_000
  for (let from = have; from < size; from += CHUNK) {
    const to = Math.min(size, from + CHUNK)
    for (const [table, archived] of [
      ['sessions', false],
      ['session_history', true],
    ] as const) {
      await sql`
      insert into ${sql.table(table)} (${sql.raw(archived ? 'id, usage_bucket, ' : '')}session_key, user_id, username,
        session_id, nas_ip_address, nas_source_address, nas_port_id, nas_port_type, start_time, start_time_from_start,
        update_time, stop_time, session_time, input_octets, output_octets, framed_ip_address, framed_ip_address_time,
        closed_by, terminate_cause, least_interim_session_time, next_interim_session_time)
      select ${sql.raw(archived ? `nextval(pg_get_serial_sequence('sessions', 'id')), '-infinity', ` : '')}'filler-' || g,
        u.id, u.username, 'filler-' || g, ('198.18.' || (g % 200) || '.1')::inet, '127.0.0.2',
        (g % 4000)::text, 'Virtual', t.start, true, t.start + t.length, t.stop,
        extract(epoch from t.length)::bigint, g * 1000, g * 3000,
        ('100.' || (64 + g % 64) || '.' || (g / 256 % 256) || '.' || (g % 256))::inet, t.start,
        case when g % 10 <> 0 then 'Stop' end, case when g % 10 <> 0 then 'User-Request' end, 300, 600
      from generate_series(${from + 1}::bigint, ${to}::bigint) g
      cross join lateral (select now() - interval '30 days' * ((g * 7919) % 1000) / 1000 as start,
        interval '1 minute' * (10 + g % 600) as length) t0
      cross join lateral (select t0.*, case when g % 10 <> 0 then t0.start + t0.length end as stop) t
      join users u on u.username = 'filler-' || (1 + g % 100000)
      where coalesce(t.stop < now() - interval '8 days', false) = ${archived}`.execute(db)
    }
  }
  // The open ones report every hour: none is due for the stale sweep during the run.
  await sql`
    insert into session_liveness (session_id, cadence, heard_at)
    select id, 3600, now() from sessions where session_key like 'filler-%' and stop_time is null
    on conflict do nothing`.execute(db)
  await sql`vacuum analyze`.execute(db)
  log(`grew sessions to ${size} rows in ${fmt((performance.now() - started) / 1000, 0)} s`)
}

/** PostgreSQL's statement time in the benchmark's database so far, in ms (flushed by its backends within 10 s). */
async function activeMs(): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, 11_000))
  const { rows } = await sql<{ ms: number }>`
    select active_time as ms from pg_stat_database where datname = current_database()`.execute(db)
  return Number(rows[0]!.ms)
}

async function sessionUpdates(): Promise<{ updated: number; hot: number }> {
  const { rows } = await sql<{ updated: string; hot: string }>`
    select n_tup_upd as updated, n_tup_hot_upd as hot from pg_stat_user_tables where relname = 'sessions'`.execute(db)
  return { updated: Number(rows[0]!.updated), hot: Number(rows[0]!.hot) }
}

/** Every session of the bucket holds the step it just sent (by its key, as the sessionizer finds it). */
async function checkBucket(bucket: Bucket, step: number): Promise<void> {
  const keys = families(bucket).flatMap((family) =>
    Array.from({ length: family.sessions }, (_, s) => sessionKey(simulatedRecord(family, s, step))),
  )
  const { rows } = await sql<{ n: string }>`
    select count(*) as n from sessions where session_key = any(${keys}::text[])
      and stop_time is null and session_time >= ${step * CADENCE_SECONDS}`.execute(db)
  if (Number(rows[0]!.n) !== keys.length)
    throw new Error(`${bucket.name}: ${rows[0]!.n} of ${keys.length} sessions hold step ${step}`)
}

const collector = startService('collector', env)
const sessionizer = startService('sessionizer', env)
await waitUntilOk(`http://127.0.0.1:${env.COLLECTOR_METRICS_PORT}/readyz`, 'the collector')
await waitUntilOk(`http://127.0.0.1:${env.SESSIONIZER_METRICS_PORT}/readyz`, 'the sessionizer')
const progress = await sessionizerProgress(settings)
const meter = () =>
  new ResourceMeter({
    collector: () => [collector.pid!],
    sessionizer: () => [sessionizer.pid!],
    kafka: () => kafkaBrokerPids(settings),
    postgres: () => pidsNamed('postgres'),
  })

/** One Interim-Update from every session of the bucket, timed until PostgreSQL has it. */
async function measure(bucket: Bucket, size: number, round: number): Promise<Measured> {
  if (bucket.reports === 0) {
    bucket.firstNas = takeNas()
    bucket.nextStep = 1
  }
  const step = bucket.nextStep
  const fleet = new Fleet({
    run,
    port: settings.collector.port,
    secret: Buffer.from('bench-secret'),
    nasCount: NAS_PER_BUCKET,
    window: Number(values.window),
    rate: Number.POSITIVE_INFINITY,
    sessionsPerNas: SESSIONS_PER_NAS,
    interimsPerSession: STEPS_PER_SESSION - 2,
    usersPerNas: SESSIONS_PER_NAS,
    firstStep: step,
    steps: 1,
    retransmitMs: 1000,
    firstNas: bucket.firstNas,
  })
  if (bucket.reports === 0) await seed(bucket)
  const packets = NAS_PER_BUCKET * SESSIONS_PER_NAS
  const activeBefore = await activeMs()
  const resources = meter()
  resources.begin()
  const started = performance.now()
  await fleet.start()
  await allAnswered(fleet, packets, 600_000)
  await fleet.stop(1000)
  while (!(await progress.caughtUp())) await new Promise((resolve) => setTimeout(resolve, 20))
  const seconds = (performance.now() - started) / 1000
  const used = resources.end()
  const activeAfter = await activeMs()
  await checkBucket(bucket, step)
  bucket.nextStep++
  const result = {
    bucket: bucket.name,
    size,
    round,
    perSecond: packets / seconds,
    cpuUsPerPacket: Object.fromEntries(
      Object.entries(used).map(([group, r]) => [group, (r.cpuCores * seconds * 1e6) / packets]),
    ),
    statementUsPerPacket: ((activeAfter - activeBefore) * 1000) / packets,
  }
  log(
    `${size} rows, round ${round}, ${bucket.name}: ${fmt(result.perSecond, 0)} packets/s, ${fmt(result.statementUsPerPacket, 0)} us of statements a packet`,
  )
  return result
}

/** A stale sweep's chunk with nothing due, in a transaction rolled back: its time in ms, median of 5. */
async function sweepMs(): Promise<number> {
  const times: number[] = []
  for (let i = 0; i < 5; i++) {
    const started = performance.now()
    await db
      .transaction()
      .execute(async (tx) => {
        await closeStaleChunk(tx, { interimMultiplier: 3, withoutInterimSeconds: 86_400, minSilenceSeconds: 60 }, 1000)
        throw new RollBack()
      })
      .catch((error) => {
        if (!(error instanceof RollBack)) throw error
      })
    times.push(performance.now() - started)
  }
  return summarize(times).p50
}
class RollBack extends Error {}

const results: Measured[] = []
const sweeps = new Map<number, number>()
const hotShare = new Map<number, number>()
let exitCode = 0
try {
  for (const bucket of buckets) if (bucket.reports > 0) await seed(bucket)
  for (const size of SIZES) {
    await growTo(size)
    const updatesBefore = await sessionUpdates()
    for (let round = 1; round <= ROUNDS; round++) {
      // Each round in another order, so that no bucket always follows the same one.
      const order = round % 2 === 1 ? buckets : [...buckets].reverse()
      for (const bucket of order) results.push(await measure(bucket, size, round))
    }
    const updatesAfter = await sessionUpdates()
    hotShare.set(size, (updatesAfter.hot - updatesBefore.hot) / (updatesAfter.updated - updatesBefore.updated))
    sweeps.set(size, await sweepMs())
  }

  const median = (bucket: string, size: number | undefined, pick: (m: Measured) => number) =>
    summarize(results.filter((m) => m.bucket === bucket && (size === undefined || m.size === size)).map(pick)).p50
  const cpu = (m: Measured) => Object.values(m.cpuUsPerPacket).reduce((a, b) => a + b, 0)
  const groups = Object.keys(results[0]!.cpuUsPerPacket)
  console.log(
    table([
      [
        'sessions rows',
        'bucket',
        'packets/s',
        ...groups.map((g) => `${g} us`),
        'CPU us a packet',
        'statement us a packet',
      ],
      ...SIZES.flatMap((size) =>
        buckets.map((b) => [
          size,
          b.name,
          fmt(
            median(b.name, size, (m) => m.perSecond),
            0,
          ),
          ...groups.map((g) =>
            fmt(
              median(b.name, size, (m) => m.cpuUsPerPacket[g]!),
              0,
            ),
          ),
          fmt(median(b.name, size, cpu), 0),
          fmt(
            median(b.name, size, (m) => m.statementUsPerPacket),
            0,
          ),
        ]),
      ),
    ]),
  )
  console.log(
    table([
      ['sessions rows', 'HOT share of session updates', 'stale sweep, nothing due (ms)'],
      ...SIZES.map((size) => [size, `${fmt(100 * hotShare.get(size)!, 0)} %`, fmt(sweeps.get(size)!, 1)]),
    ]),
  )
  const oldest = `${Math.max(...AGES)} reports`
  const young = `${Math.min(...AGES)} reports`
  const [smallest, largest] = [Math.min(...SIZES), Math.max(...SIZES)]
  // Age against age over every table size's rounds: one burst of 2,000 packets takes about a second
  // end to end, and its time moves by a fifth from burst to burst on this VM, far more than its CPU.
  const rateRatio = median(oldest, undefined, (m) => m.perSecond) / median('new', undefined, (m) => m.perSecond)
  const ageCpuRatio = median(oldest, undefined, cpu) / median(young, undefined, cpu)
  const sizeCpuRatio = median(young, largest, cpu) / median(young, smallest, cpu)
  console.log(
    table([
      ['goal (issue 26)', 'measured (medians)', 'met'],
      [
        `${oldest}: rate >= 0.8x a new session's (all sizes' rounds)`,
        `${fmt(rateRatio, 2)}x`,
        rateRatio >= 0.8 ? 'yes' : 'no',
      ],
      [
        `${oldest}: CPU <= 1.2x ${young} (all sizes' rounds)`,
        `${fmt(ageCpuRatio, 2)}x`,
        ageCpuRatio <= 1.2 ? 'yes' : 'no',
      ],
      [
        `${young}: CPU at ${largest} rows <= 1.2x at ${smallest}`,
        `${fmt(sizeCpuRatio, 2)}x`,
        sizeCpuRatio <= 1.2 ? 'yes' : 'no',
      ],
    ]),
  )
  console.log(
    JSON.stringify({ sessions: SESSIONS, ages: AGES, sizes: SIZES, results, rateRatio, ageCpuRatio, sizeCpuRatio }),
  )
} catch (error) {
  console.error(`isp: ${(error as Error).stack}`)
  exitCode = 1
} finally {
  await Promise.all([stopService(collector), stopService(sessionizer)])
  await Promise.all([db.destroy(), progress.close()])
}
process.exitCode = exitCode
