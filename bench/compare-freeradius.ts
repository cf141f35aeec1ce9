import { readFile, readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import pg from 'pg'
import { sql } from 'kysely'
import { createDb, ensureDatabaseExists, type Db } from '@radstream/db'
import { ensureFreeradiusWithSql, freePort } from '@radstream/stack'
import { startFreeradius } from '../test/support/freeradius'
import { benchSettings, kafkaBrokerPids } from './lib/bench-stack'
import { allAnswered, Fleet } from './lib/fleet'
import { pidsNamed, ResourceMeter, startService, stopService, waitUntilOk } from './lib/processes'
import { fmt, summarize, table } from './lib/stats'
import { CADENCE_SECONDS } from './lib/simulated-nas'
import { checkRecorded } from './lib/verify'
import { sessionizerProgress } from './lib/sessionizer-progress'

/**
 * radstream against FreeRADIUS 3.2 on this machine, side by side in one run: the same fleet sent
 * to FreeRADIUS with stock rlm_sql on the same PostgreSQL (it answers after its INSERT or UPDATE
 * commits, so its ack rate is its end-to-end rate), to FreeRADIUS writing only its detail file, and
 * to radstream, alternating, round after round. Two loads of the same packet count: short sessions
 * (Start and Stop) and an interim-heavy one (Start, 300 Interim-Updates 5 minutes apart by their
 * Acct-Session-Time, Stop), which is what an operator's accounting mostly is. Every acknowledged
 * packet is then looked for where each side keeps it; one missing fails the run.
 */
const { values } = parseArgs({
  options: {
    // Short sessions; by default as many packets as the interim-heavy load.
    sessions: { type: 'string', default: '60400' },
    'interim-sessions': { type: 'string', default: '400' },
    interims: { type: 'string', default: '300' },
    'in-flight': { type: 'string', default: '128' },
    users: { type: 'string', default: '1000' },
    rounds: { type: 'string', default: '3' },
    // Then radstream alone at this fraction of the capacity it measured, for its ack latency.
    'latency-at': { type: 'string', default: '0.5' },
    'latency-seconds': { type: 'string', default: '20' },
  },
  allowPositionals: true,
})
/** What a fleet sends: so many sessions of so many Interim-Updates each. */
interface Load {
  readonly sessions: number
  readonly interims: number
}
const SHORT: Load = { sessions: Number(values.sessions), interims: 0 }
const INTERIM_HEAVY: Load = { sessions: Number(values['interim-sessions']), interims: Number(values.interims) }
const NAS_COUNT = 4
const WINDOW = Math.ceil(Number(values['in-flight']) / NAS_COUNT)
const SECRET = 'bench-secret'
const run = Date.now().toString(36)
const log = (message: string) => console.error(`compare: ${message}`)

/** A fleet of NAS_COUNT NAS, WINDOW requests in flight each, as fast as the answers come. */
function fleetFor(port: number, round: string, firstNas: number, load: Load, rate = Number.POSITIVE_INFINITY) {
  return new Fleet({
    run: `${run}-${round}`,
    port,
    secret: Buffer.from(SECRET),
    nasCount: NAS_COUNT,
    window: WINDOW,
    rate,
    sessionsPerNas: Math.ceil(load.sessions / NAS_COUNT),
    interimsPerSession: load.interims,
    usersPerNas: Math.ceil(Number(values.users) / NAS_COUNT),
    retransmitMs: 1000,
    firstNas,
  })
}

interface Measured {
  readonly ackedPerSecond: number
  readonly endToEndPerSecond: number
  readonly ackLatencyMs: ReturnType<typeof summarize>
  readonly retransmitted: number
  /** CPU microseconds per packet by process group, over the run until it was complete. */
  readonly cpuUsPerPacket: Record<string, number>
  readonly peakRssMb: Record<string, number>
}

/** Sends one fleet's packets, waits for every answer and for `recorded` to find them all. */
async function measure(
  fleet: Fleet,
  meter: ResourceMeter,
  recorded: () => Promise<{ lost: number; complete: boolean; detail: string }>,
): Promise<Measured> {
  const packets = fleet.nas.reduce((sum, nas) => sum + nas.answeredSteps.length * nas.stepsPerSession, 0)
  meter.begin()
  const started = performance.now()
  await fleet.start()
  await allAnswered(fleet, packets, 600_000)
  const ackedAt = performance.now()
  await fleet.stop(1000)
  const deadline = Date.now() + 300_000
  let check = await recorded()
  while (!check.complete && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50))
    check = await recorded()
  }
  const doneAt = performance.now()
  const resources = meter.end()
  if (!check.complete) throw new Error(`acknowledged packets missing: ${check.detail}`)
  const seconds = (doneAt - started) / 1000
  return {
    ackedPerSecond: packets / ((ackedAt - started) / 1000),
    endToEndPerSecond: packets / seconds,
    ackLatencyMs: summarize(fleet.latencies()),
    retransmitted: fleet.retransmitted,
    cpuUsPerPacket: Object.fromEntries(
      Object.entries(resources).map(([group, r]) => [group, (r.cpuCores * seconds * 1e6) / packets]),
    ),
    peakRssMb: Object.fromEntries(Object.entries(resources).map(([group, r]) => [group, r.peakRssMb])),
  }
}

// FreeRADIUS with rlm_sql on a scratch database with its own schema (Debian's schema.sql).
await ensureFreeradiusWithSql(log)
const freeradiusUrl = new URL(process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/radstream')
freeradiusUrl.pathname = '/radstream_bench_freeradius'
await ensureDatabaseExists(freeradiusUrl.toString())
const freeradiusDb: Db = createDb({ url: freeradiusUrl.toString(), poolSize: 1 })
const hasSchema = await sql<{ t: string | null }>`select to_regclass('radacct')::text as t`.execute(freeradiusDb)
if (!hasSchema.rows[0]?.t) {
  const client = new pg.Client({ connectionString: freeradiusUrl.toString() })
  await client.connect()
  await client.query(await readFile('/etc/freeradius/3.0/mods-config/sql/main/postgresql/schema.sql', 'utf8'))
  await client.end()
}

/** The stock acct_unique policy's key (FreeRADIUS's policy.d/accounting, without Class). */
const ACCT_UNIQUE = `policy {
  acct_unique {
    update request {
      &Acct-Unique-Session-Id := "%{md5:%{User-Name},%{Acct-Session-ID},%{%{NAS-IPv6-Address}:-%{NAS-IP-Address}},%{NAS-Identifier},%{NAS-Port-ID},%{NAS-Port}}"
    }
  }
}`

/** FreeRADIUS accounting on `port` with `accounting` as its accounting section; `modules` may use its folder. */
function startFreeradiusWith(name: string, port: number, accounting: string, modules: (dir: string) => string) {
  return startFreeradius(
    name,
    (dir) => `
client bench {
  ipaddr = 127.0.0.1
  secret = ${SECRET}
}
modules {
  # tolower, md5 and the like, which queries.conf and acct_unique use, as in the stock configuration.
  expr {
  }
${modules(dir)}
}
${ACCT_UNIQUE}
server default {
  listen {
    type = acct
    ipaddr = 127.0.0.1
    port = ${port}
  }
  preacct {
    acct_unique
  }
  accounting {
    ${accounting}
  }
}
`,
    // BENCH_FREERADIUS_DEBUG=1 runs it with -X, to see why a configuration does not load (not for figures).
    { debug: process.env.BENCH_FREERADIUS_DEBUG === '1', stockThreadPool: true },
  )
}

const url = freeradiusUrl
const sqlPort = await freePort()
const freeradiusSql = await startFreeradiusWith(
  'bench-sql',
  sqlPort,
  'sql',
  () => `  sql {
    dialect = "postgresql"
    driver = "rlm_sql_postgresql"
    server = "${url.hostname}"
    port = ${url.port || 5432}
    login = "${decodeURIComponent(url.username) || 'postgres'}"
    password = "${decodeURIComponent(url.password)}"
    radius_db = "radstream_bench_freeradius"
    acct_table1 = "radacct"
    acct_table2 = "radacct"
    postauth_table = "radpostauth"
    authcheck_table = "radcheck"
    groupcheck_table = "radgroupcheck"
    authreply_table = "radreply"
    groupreply_table = "radgroupreply"
    usergroup_table = "radusergroup"
    delete_stale_sessions = yes
    pool {
      start = 5
      min = 3
      max = 32
      spare = 10
      uses = 0
      retry_delay = 30
      lifetime = 0
      idle_timeout = 60
    }
    client_table = "nas"
    group_attribute = "SQL-Group"
    $INCLUDE /etc/freeradius/3.0/mods-config/sql/main/postgresql/queries.conf
  }`,
)
const detailPort = await freePort()
let detailDir = ''
const freeradiusDetail = await startFreeradiusWith('bench-detail', detailPort, 'detail', (dir) => {
  detailDir = join(dir, 'detail')
  return `  detail {
    filename = ${detailDir}/detail
    escape_filenames = no
    permissions = 0600
    header = "%t"
  }`
})

/**
 * Every acknowledged Start has its radacct row, every acknowledged Interim-Update or Stop its
 * session time (step k carries k cadences), and an acknowledged Stop has closed it.
 */
async function radacctHolds(fleet: Fleet) {
  const { rows } = await sql<{ acctsessionid: string; closed: boolean; seconds: number | null }>`
    select acctsessionid, acctstoptime is not null as closed, acctsessiontime as seconds from radacct
    where acctsessionid like ${`bench-${run}-%`}`.execute(freeradiusDb)
  const byId = new Map(rows.map((r) => [r.acctsessionid, r]))
  let lost = 0
  for (const nas of fleet.nas)
    nas.answeredSteps.forEach((steps, session) => {
      if (steps === 0) return
      const row = byId.get(nas.sessionId(session))
      const lastStep = steps - 1
      const held =
        row !== undefined &&
        (lastStep === 0 || Number(row.seconds ?? 0) >= lastStep * CADENCE_SECONDS) &&
        (steps < nas.stepsPerSession || row.closed)
      if (!held) lost++
    })
  return { lost, complete: lost === 0, detail: `${lost} sessions behind in radacct` }
}

/** Every acknowledged packet is a record in the detail file (one Acct-Session-Id line each). */
async function detailHolds(fleet: Fleet) {
  const folder = detailDir
  const files = await readdir(folder).catch(() => [])
  const written = new Map<string, number>()
  for (const file of files) {
    const text = await readFile(join(folder, file), 'utf8')
    for (const match of text.matchAll(/Acct-Session-Id = "(bench-[^"]+)"/g))
      written.set(match[1]!, (written.get(match[1]!) ?? 0) + 1)
  }
  let lost = 0
  for (const nas of fleet.nas)
    nas.answeredSteps.forEach((steps, session) => {
      lost += Math.max(0, steps - (written.get(nas.sessionId(session)) ?? 0))
    })
  return { lost, complete: lost === 0, detail: `${lost} packets not in the detail file` }
}

// radstream: collector and sessionizer as their own processes, on the local broker and PostgreSQL.
const { settings, env } = await benchSettings(run, { SESSIONIZER_PARTITIONS_CONCURRENTLY: '2' })
const collector = startService('collector', env)
const sessionizer = startService('sessionizer', env)
await waitUntilOk(`http://127.0.0.1:${env.COLLECTOR_METRICS_PORT}/readyz`, 'the collector')
await waitUntilOk(`http://127.0.0.1:${env.SESSIONIZER_METRICS_PORT}/readyz`, 'the sessionizer')
const radstreamDb = createDb({ url: settings.database.url, poolSize: 1 })
const progress = await sessionizerProgress(settings)

const freeradiusPids = () => pidsNamed('freeradius')
const meters = {
  sql: () => new ResourceMeter({ freeradius: freeradiusPids, postgres: () => pidsNamed('postgres') }),
  radstream: () =>
    new ResourceMeter({
      collector: () => [collector.pid!],
      sessionizer: () => [sessionizer.pid!],
      kafka: () => kafkaBrokerPids(settings),
      postgres: () => pidsNamed('postgres'),
    }),
}

/** One load sent to FreeRADIUS + rlm_sql. */
function measureSql(name: string, firstNas: number, load: Load): Promise<Measured> {
  const fleet = fleetFor(sqlPort, name, firstNas, load)
  return measure(fleet, meters.sql(), () => radacctHolds(fleet))
}

/** One load sent to radstream, complete once the sessionizer has committed all and PostgreSQL holds every packet. */
function measureRadstream(name: string, firstNas: number, load: Load): Promise<Measured> {
  const fleet = fleetFor(settings.collector.port, name, firstNas, load)
  return measure(fleet, meters.radstream(), async () => {
    if (!(await progress.caughtUp())) return { lost: NaN, complete: false, detail: 'the sessionizer is behind' }
    const check = await checkRecorded(radstreamDb, `${run}-${name}`, fleet.nas)
    return { ...check, detail: `${check.lost} packets not in PostgreSQL, ${check.duplicated} duplicate rows` }
  })
}

const rounds = Number(values.rounds)
const FLEETS_A_ROUND = 5
const results: {
  round: number
  sql: Measured
  detail: Measured
  radstream: Measured
  sqlInterims: Measured
  radstreamInterims: Measured
}[] = []
let exitCode = 0
try {
  for (let round = 1; round <= rounds; round++) {
    const firstNas = round * NAS_COUNT * FLEETS_A_ROUND
    const step = (what: string) => log(`round ${round} of ${rounds}: ${what}`)
    step('FreeRADIUS + rlm_sql, short sessions')
    const sqlRun = await measureSql(`s${round}`, firstNas, SHORT)
    step('FreeRADIUS detail file only, short sessions')
    const detailFleet = fleetFor(detailPort, `d${round}`, firstNas + NAS_COUNT, SHORT)
    const detailRun = await measure(detailFleet, new ResourceMeter({ freeradius: freeradiusPids }), () =>
      detailHolds(detailFleet),
    )
    step('radstream, short sessions')
    const radstreamRun = await measureRadstream(`r${round}`, firstNas + 2 * NAS_COUNT, SHORT)
    step('FreeRADIUS + rlm_sql, interim-heavy')
    const sqlInterims = await measureSql(`si${round}`, firstNas + 3 * NAS_COUNT, INTERIM_HEAVY)
    step('radstream, interim-heavy')
    const radstreamInterims = await measureRadstream(`ri${round}`, firstNas + 4 * NAS_COUNT, INTERIM_HEAVY)
    results.push({ round, sql: sqlRun, detail: detailRun, radstream: radstreamRun, sqlInterims, radstreamInterims })
  }

  const median = (pick: (r: (typeof results)[number]) => number) => summarize(results.map(pick)).p50
  const capacity = median((r) => r.radstream.ackedPerSecond)
  const latencyRate = Math.round(capacity * Number(values['latency-at']))
  log(`radstream at ${latencyRate} packets/s (${values['latency-at']} of its capacity) for its ack latency`)
  const latencySeconds = Number(values['latency-seconds'])
  // Sessions enough for the whole run and its 2 s warm-up, with room to spare.
  const pacedSessions = Math.ceil((latencyRate * (latencySeconds + 2) * 1.5) / 2)
  const paced = fleetFor(
    settings.collector.port,
    'latency',
    (rounds + 1) * NAS_COUNT * FLEETS_A_ROUND,
    { sessions: pacedSessions, interims: 0 },
    latencyRate,
  )
  await paced.start(2000)
  await new Promise((resolve) => setTimeout(resolve, latencySeconds * 1000))
  await paced.stop(10_000)
  const pacedLatency = summarize(paced.latencies())
  const collectorRss = Math.max(...results.map((r) => r.radstream.peakRssMb.collector ?? 0))

  const rows: (string | number)[][] = [
    [
      'round',
      'FreeRADIUS+SQL acked/s (= end to end)',
      'FreeRADIUS detail acked/s',
      'radstream acked/s',
      'radstream end to end/s',
      'end to end vs FreeRADIUS+SQL',
      'acked vs FreeRADIUS detail',
    ],
    ...results.map((r) => [
      r.round,
      fmt(r.sql.ackedPerSecond, 0),
      fmt(r.detail.ackedPerSecond, 0),
      fmt(r.radstream.ackedPerSecond, 0),
      fmt(r.radstream.endToEndPerSecond, 0),
      `${fmt(r.radstream.endToEndPerSecond / r.sql.ackedPerSecond, 2)}x`,
      `${fmt(r.radstream.ackedPerSecond / r.detail.ackedPerSecond, 2)}x`,
    ]),
  ]
  console.log(table(rows))
  console.log(
    table([
      [
        'round',
        'interim-heavy: FreeRADIUS+SQL acked/s (= end to end)',
        'radstream acked/s',
        'radstream end to end/s',
        'end to end vs FreeRADIUS+SQL',
        'radstream end to end vs its short sessions',
      ],
      ...results.map((r) => [
        r.round,
        fmt(r.sqlInterims.ackedPerSecond, 0),
        fmt(r.radstreamInterims.ackedPerSecond, 0),
        fmt(r.radstreamInterims.endToEndPerSecond, 0),
        `${fmt(r.radstreamInterims.endToEndPerSecond / r.sqlInterims.ackedPerSecond, 2)}x`,
        `${fmt(r.radstreamInterims.endToEndPerSecond / r.radstream.endToEndPerSecond, 2)}x`,
      ]),
    ]),
  )
  const cpu = (m: Measured) =>
    Object.entries(m.cpuUsPerPacket)
      .map(([group, us]) => `${group} ${fmt(us, 0)}`)
      .join(', ')
  console.log(
    table([
      ['CPU per packet (us), last round', 'by process'],
      ['FreeRADIUS + rlm_sql', cpu(results.at(-1)!.sql)],
      ['FreeRADIUS detail', cpu(results.at(-1)!.detail)],
      ['radstream', cpu(results.at(-1)!.radstream)],
      ['FreeRADIUS + rlm_sql, interim-heavy', cpu(results.at(-1)!.sqlInterims)],
      ['radstream, interim-heavy', cpu(results.at(-1)!.radstreamInterims)],
    ]),
  )
  const e2eRatio = median((r) => r.radstream.endToEndPerSecond / r.sql.ackedPerSecond)
  const detailRatio = median((r) => r.radstream.ackedPerSecond / r.detail.ackedPerSecond)
  const interimRatio = median((r) => r.radstreamInterims.endToEndPerSecond / r.sqlInterims.ackedPerSecond)
  const interimVsShort = median((r) => r.radstreamInterims.endToEndPerSecond / r.radstream.endToEndPerSecond)
  console.log(
    table([
      ['goal', 'measured (median of rounds)', 'met'],
      ['end to end >= 2.5x FreeRADIUS+SQL, short sessions', `${fmt(e2eRatio, 2)}x`, e2eRatio >= 2.5 ? 'yes' : 'no'],
      ['end to end >= 2x FreeRADIUS+SQL, interim-heavy', `${fmt(interimRatio, 2)}x`, interimRatio >= 2 ? 'yes' : 'no'],
      [
        'interim-heavy end to end >= 0.8x short sessions',
        `${fmt(interimVsShort, 2)}x`,
        interimVsShort >= 0.8 ? 'yes' : 'no',
      ],
      ['acked >= 0.5x FreeRADIUS detail-only', `${fmt(detailRatio, 2)}x`, detailRatio >= 0.5 ? 'yes' : 'no'],
      [
        `ack p99 <= 10 ms at ${latencyRate}/s (half of capacity)`,
        `${fmt(pacedLatency.p99, 2)} ms (p50 ${fmt(pacedLatency.p50, 2)})`,
        pacedLatency.p99 <= 10 ? 'yes' : 'no',
      ],
      ['collector peak RSS < 300 MB', `${fmt(collectorRss, 0)} MB`, collectorRss < 300 ? 'yes' : 'no'],
      ['no acknowledged packet lost, either side', 'none lost', 'yes'],
    ]),
  )
  console.log(
    JSON.stringify({
      loads: { short: SHORT, interimHeavy: INTERIM_HEAVY },
      inFlight: NAS_COUNT * WINDOW,
      results,
      latency: { rate: latencyRate, ...pacedLatency },
      e2eRatio,
      detailRatio,
      interimRatio,
      interimVsShort,
    }),
  )
} catch (error) {
  console.error(`compare: ${(error as Error).message}`)
  exitCode = 1
} finally {
  await Promise.all([stopService(collector), stopService(sessionizer), freeradiusSql.stop(), freeradiusDetail.stop()])
  await Promise.all([radstreamDb.destroy(), freeradiusDb.destroy(), progress.close()])
}
process.exitCode = exitCode
