import { parseArgs } from 'node:util'
import { sql } from 'kysely'
import { loadSettings } from '@radstream/config'
import { createApiClient, createDb, ensureMonthPartitions, type Db } from '@radstream/db'
import { encodeCursor } from '../services/api/src/graphql/cursor'
import { ensureStack, freePort } from '@radstream/stack'
import { accessToken } from '../test/support/api-client'
import { startService, stopService, waitUntilOk } from './lib/processes'
import { fmt, summarize, table } from './lib/stats'

/**
 * Query benchmark: seeds sessions and audit events server-side (generate_series, a million rows a
 * statement), then measures p50/p99 of the API's reads over HTTP with concurrent clients.
 * The seeded audit events carry placeholder hashes: this database is for timing, not verifying.
 */
const { values } = parseArgs({
  options: {
    sessions: { type: 'string', default: '10000000' },
    'audit-events': { type: 'string', default: '10000000' },
    requests: { type: 'string', default: '2000' },
    concurrency: { type: 'string', default: '8' },
    // Requests of each query sent, untimed, before any is timed.
    warmup: { type: 'string', default: '100' },
    // Runs the queries whose name contains this text only (a profile of one, say).
    only: { type: 'string' },
  },
})
const SESSIONS = Number(values.sessions)
const AUDIT_EVENTS = Number(values['audit-events'])
const HEAVY_USERS = 50
const HEAVY_SESSIONS = Math.min(100_000, Math.floor(SESSIONS / 2 / HEAVY_USERS))
const LIGHT_USERS = 5000
const CHUNK = 1_000_000

const url = new URL(process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/radstream')
// A database per size, so that runs at 1M and 10M rows each reuse their own.
url.pathname = `/radstream_bench_query_${SESSIONS}`
// The stack `npm start` runs, with this database: the API answers /healthz once Kafka does too.
await ensureStack({
  settings: loadSettings({ ...process.env, DATABASE_URL: url.toString() }),
  log: (message) => console.error(`stack: ${message}`),
})
const db = createDb({ url: url.toString(), poolSize: 2 })

async function count(table: 'session_records' | 'audit_events'): Promise<number> {
  const { rows } = await sql<{ n: string }>`select count(*) as n from ${sql.table(table)}`.execute(db)
  return Number(rows[0]!.n)
}

/** The audit events the seeding wrote (the API's own, of the quotas it sets, do not count). */
async function seededAuditEvents(): Promise<number> {
  const { rows } = await sql<{ n: string }>`
    select count(*) as n from audit_events where event_key >= 'bench:' and event_key < 'bench;'`.execute(db)
  return Number(rows[0]!.n)
}

async function seed(): Promise<void> {
  if ((await count('session_records')) === SESSIONS && (await seededAuditEvents()) === AUDIT_EVENTS) {
    console.error(`query: reusing the seeded database (${SESSIONS} sessions, ${AUDIT_EVENTS} audit events)`)
    return
  }
  console.error('query: seeding (once; later runs reuse it)')
  await db.transaction().execute(async (tx) => {
    await sql`set local session_replication_role = replica`.execute(tx)
    await sql`truncate sessions, session_history, users, audit_events, nas_accounting_events restart identity cascade`.execute(
      tx,
    )
  })
  await sql`insert into users (username) select 'heavy-' || g from generate_series(1, ${HEAVY_USERS}) g`.execute(db)
  await sql`insert into users (username) select 'user-' || g from generate_series(1, ${LIGHT_USERS}) g`.execute(db)
  const started = Date.now()
  // Those closed more than 8 days ago are where the retention sweep would have moved them: in the
  // session history, in the partition of their start's month.
  await ensureMonthPartitions(db, 'session_history', new Date(Date.now() - 366 * 86_400_000), new Date())
  for (let from = 0; from < SESSIONS; from += CHUNK) {
    const to = Math.min(SESSIONS, from + CHUNK)
    for (const [table, archived] of [
      ['sessions', false],
      ['session_history', true],
    ] as const) {
      // The first HEAVY_USERS * HEAVY_SESSIONS rows go to the heavy users; the rest spread over the others.
      await sql`
      insert into ${sql.table(table)} (id, usage_bucket, session_key, user_id, username, session_id, nas_ip_address,
        nas_port_id, nas_port_type, start_time, update_time, stop_time, session_time, input_octets, output_octets,
        connect_info_start, calling_station_id, terminate_cause, framed_ip_address, closed_by)
      overriding system value
      select g, case when ${archived} then '-infinity' else current_date end, md5(g::text), u, 'u' || u, 'sess-' || g,
        ('198.18.' || (g % 200) / 250 || '.' || (g % 200) + 1)::inet, (g % 4096)::text, 'Virtual',
        t, t + interval '30 minutes', case when open then null else t + interval '30 minutes' end, 1800, g % 100000, g % 200000, 'WireGuard',
        'AA:BB:CC:DD:EE:FF', case when open then null else 'User-Request' end,
        -- An open session holds an address of its own; a closed one one of 65,536 that every
        -- size gives out again (about 150 sessions an address at 10M rows, 15 at 1M).
        case when open then ('100.' || (g / 65536) % 256 || '.' || (g / 256) % 256 || '.' || g % 256)::inet
          else ('10.0.' || (g % 65536) / 256 || '.' || g % 256)::inet end,
        case when open then null else 'Stop' end
      from (
        select g,
          case when g <= ${HEAVY_USERS * HEAVY_SESSIONS} then 1 + (g - 1) % ${HEAVY_USERS} else ${HEAVY_USERS} + 1 + g % ${LIGHT_USERS} end as u,
          now() - (g % 31536000) * interval '1 second' as t,
          -- One in ten open: 1,000,000 of 10,000,000.
          g % 10 = 0 as open
        from generate_series(${from + 1}::bigint, ${to}::bigint) g
      ) s
      where (not open and t + interval '30 minutes' < now() - interval '8 days') = ${archived}`.execute(db)
    }
    console.error(`query: ${to} sessions (${((Date.now() - started) / 1000).toFixed(0)} s)`)
  }
  await sql`select setval(pg_get_serial_sequence('sessions', 'id'), ${SESSIONS})`.execute(db)
  // The months the events span have their partitions, as the sweep would have made them then.
  await ensureMonthPartitions(db, 'audit_events', new Date(Date.now() - 80 * 86_400_000), new Date())
  for (let from = 0; from < AUDIT_EVENTS; from += CHUNK) {
    const to = Math.min(AUDIT_EVENTS, from + CHUNK)
    await db.transaction().execute(async (tx) => {
      await sql`set local session_replication_role = replica`.execute(tx)
      // 80 days of events, many on the same microsecond; chain positions in time order.
      await sql`
        insert into audit_events (event_key, occurred_at, initiator_type, initiator_id, operation, entity_type, entity_id,
          entity_name, description, fields, chain_seq, prev_hash, hash)
        select 'bench:' || g, now() - interval '80 days' + (g * (80 * 86400.0 / ${AUDIT_EVENTS})) * interval '1 second',
          'USER', 'user-' || g % 1000 || '@example.com', 'UPDATE', 'SESSION', g::text, 'sess-' || g, 'bench event',
          '[{"name":"stopTime","oldValue":null,"newValue":"x"}]'::jsonb, g, '', ''
        from generate_series(${from + 1}::bigint, ${to}::bigint) g`.execute(tx)
    })
    console.error(`query: ${to} audit events (${((Date.now() - started) / 1000).toFixed(0)} s)`)
  }
  // As autovacuum would have by now: the visibility map set, so index-only scans stay index-only.
  await sql`vacuum analyze`.execute(db)
  console.error(`query: seeded in ${((Date.now() - started) / 1000).toFixed(0)} s`)
}

/** The usage rollups the sessionizer would have built from these sessions: one row per user and day, and month. */
async function seedUsage(): Promise<void> {
  const { rows } = await sql<{ n: string }>`select count(*) as n from usage_daily`.execute(db)
  if (Number(rows[0]!.n) > 0) return
  const started = Date.now()
  for (const [table, period] of [
    ['usage_daily', 'day'],
    ['usage_monthly', 'month'],
  ] as const) {
    await sql`
      insert into ${sql.table(table)} (user_id, ${sql.id(period)}, input_octets, output_octets, session_time, sessions)
      select user_id, date_trunc(${period}, start_time at time zone 'UTC')::date, sum(input_octets), sum(output_octets),
        sum(session_time), count(*)
      from session_records where user_id is not null group by 1, 2`.execute(db)
  }
  await sql`analyze usage_daily, usage_monthly`.execute(db)
  console.error(`query: usage rollups seeded in ${((Date.now() - started) / 1000).toFixed(0)} s`)
}

await seed()
await seedUsage()
const admin = await createApiClient(db, {
  name: `bench-admin-${Date.now()}`,
  scopes: ['admin', 'auditor'],
  rateLimitPerMinute: 10_000_000,
})
const port = await freePort()
const api = startService('api', {
  DATABASE_URL: url.toString(),
  HOST: '127.0.0.1',
  PORT: String(port),
  LOG_LEVEL: 'warn',
  DATABASE_POOL_SIZE: '16',
  // Beside a running stack (npm start, the tests'), whose API holds the default metrics port.
  API_METRICS_PORT: '0',
  // The API's own per-client limit (600 a minute) would refuse most of the benchmark's requests.
  GRAPHQL_RATE_LIMIT_PER_MINUTE: '1000000',
})
const base = `http://127.0.0.1:${port}`
await waitUntilOk(`${base}/healthz`, 'the API')
const token = await accessToken(base, admin)
const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' }
// Quotas the heavy users pass in every month: setUsageQuota records their crossings (once).
const { rows: quotas } = await sql<{ n: string }>`select count(*) as n from usage_quotas`.execute(db)
for (let user = 1; user <= (Number(quotas[0]!.n) > 0 ? 0 : 10); user++) {
  const response = await fetch(`${base}/graphql`, {
    method: 'POST',
    headers,
    body: JSON.stringify({
      query: 'mutation($u: Int!) { setUsageQuota(userId: $u, monthlyOctets: "1000") { userId } }',
      variables: { u: user },
    }),
  })
  if (!response.ok) throw new Error(`setUsageQuota: ${response.status} ${await response.text()}`)
}

const random = (n: number) => Math.floor(Math.random() * n)
const graphql = (query: string, variables: Record<string, unknown>) => () =>
  fetch(`${base}/graphql`, { method: 'POST', headers, body: JSON.stringify({ query, variables }) })

/** Cursors deep inside a heavy user's history, taken from the data itself. */
async function deepCursors(database: Db): Promise<string[]> {
  const { rows } = await sql<{ start_time: Date; id: string }>`
    select start_time, id::text from session_records where user_id <= ${HEAVY_USERS} and id % 997 = 0 limit 500`.execute(
    database,
  )
  return rows.map((r) => encodeCursor({ startTime: r.start_time, id: r.id }))
}
const cursors = await deepCursors(db)

const scenarios: [string, () => Promise<() => Promise<Response>> | (() => Promise<Response>)][] = [
  [
    'history, first page (light user)',
    () =>
      graphql(
        'query($u: Int!) { getConnectionHistory(userId: $u, first: 100) { id sessionId startTime stopTime framedIpAddress } }',
        { u: HEAVY_USERS + 1 + random(LIGHT_USERS) },
      ),
  ],
  [
    'history, first page (user with 100k sessions)',
    () =>
      graphql('query($u: Int!) { getConnectionHistory(userId: $u, first: 100) { id sessionId startTime stopTime } }', {
        u: 1 + random(HEAVY_USERS),
      }),
  ],
  [
    'history, deep page (cursor)',
    () =>
      graphql('query($u: Int!, $a: String) { getConnectionHistory(userId: $u, after: $a) { id startTime } }', {
        u: 1 + random(HEAVY_USERS),
        a: cursors[random(cursors.length)],
      }),
  ],
  [
    'getOnlineSessions (one NAS, 100)',
    () =>
      graphql('query($n: String) { getOnlineSessions(nasIpAddress: $n) { id username } }', {
        n: `198.18.0.${1 + random(200)}`,
      }),
  ],
  [
    'whoHadIp',
    () =>
      graphql('query($ip: String!, $at: DateTime!) { whoHadIp(ip: $ip, at: $at) { id sessionId } }', {
        ip: `10.0.${random(256)}.${random(256)}`,
        at: new Date(Date.now() - random(365) * 86_400_000).toISOString(),
      }),
  ],
  [
    'usage, 31 days (user with 100k sessions)',
    () => {
      const from = new Date(Date.now() - (31 + random(300)) * 86_400_000)
      return graphql(
        'query($u: Int!, $f: DateTime!, $t: DateTime!) { usage(userId: $u, from: $f, to: $t) { start totalOctets sessionTime sessions } }',
        {
          u: 1 + random(HEAVY_USERS),
          f: from.toISOString(),
          t: new Date(from.getTime() + 31 * 86_400_000).toISOString(),
        },
      )
    },
  ],
  [
    'usage, 12 months (light user)',
    () =>
      graphql(
        'query($u: Int!, $f: DateTime!, $t: DateTime!) { usage(userId: $u, from: $f, to: $t, granularity: MONTH) { start totalOctets } }',
        {
          u: HEAVY_USERS + 1 + random(LIGHT_USERS),
          f: new Date(Date.now() - 365 * 86_400_000).toISOString(),
          t: new Date().toISOString(),
        },
      ),
  ],
  [
    'topUsers by octets, a day (10)',
    () =>
      graphql('query($p: String!) { topUsers(by: OCTETS, period: $p) { user { username } totalOctets } }', {
        p: new Date(Date.now() - random(360) * 86_400_000).toISOString().slice(0, 10),
      }),
  ],
  [
    'topUsers by time, a month (10)',
    () =>
      graphql('query($p: String!) { topUsers(by: TIME, period: $p) { user { username } sessionTime } }', {
        p: new Date(Date.now() - random(11) * 30 * 86_400_000).toISOString().slice(0, 7),
      }),
  ],
  [
    'sessionTimeline, last 24 h by minute',
    () => {
      const to = new Date(Math.floor(Date.now() / 60_000) * 60_000)
      return graphql(
        'query($f: DateTime!, $t: DateTime!) { sessionTimeline(from: $f, to: $t, stepSeconds: 60) { at concurrent started stopped } }',
        { f: new Date(to.getTime() - 86_400_000).toISOString(), t: to.toISOString() },
      )
    },
  ],
  [
    'sessionTimeline, last 24 h, one NAS',
    () => {
      const to = new Date(Math.floor(Date.now() / 60_000) * 60_000)
      return graphql(
        'query($f: DateTime!, $t: DateTime!, $n: String) { sessionTimeline(from: $f, to: $t, stepSeconds: 300, nasIpAddress: $n) { at concurrent } }',
        { f: new Date(to.getTime() - 86_400_000).toISOString(), t: to.toISOString(), n: `198.18.0.${1 + random(200)}` },
      )
    },
  ],
  [
    'sessionTimeline, a day 5 days ago',
    () => {
      const to = new Date(Math.floor(Date.now() / 60_000) * 60_000 - 5 * 86_400_000)
      return graphql(
        'query($f: DateTime!, $t: DateTime!) { sessionTimeline(from: $f, to: $t, stepSeconds: 300) { at concurrent } }',
        { f: new Date(to.getTime() - 86_400_000).toISOString(), t: to.toISOString() },
      )
    },
  ],
  [
    'terminateCauses, last 24 h',
    () =>
      graphql('query($f: DateTime!, $t: DateTime!) { terminateCauses(from: $f, to: $t) { cause sessions } }', {
        f: new Date(Date.now() - 86_400_000).toISOString(),
        t: new Date().toISOString(),
      }),
  ],
  ['onlineSessionCount', () => graphql('{ onlineSessionCount }', {})],
  [
    'usersOverQuota, a month',
    () =>
      graphql('query($m: String) { usersOverQuota(month: $m) { user { username } totalOctets } }', {
        m: new Date(Date.now() - random(11) * 30 * 86_400_000).toISOString().slice(0, 7),
      }),
  ],
  [
    'audit-log page (size 100, random window)',
    () => {
      const start = Date.now() - 79 * 86_400_000 + random(78 * 86_400_000)
      const query = `?size=100&startDate=${new Date(start).toISOString()}&endDate=${new Date(start + 3_600_000).toISOString()}`
      return () => fetch(`${base}/api/v1/audit-log${query}`, { headers })
    },
  ],
  [
    'audit-log page at a cursor',
    async () => {
      // The cursor comes from a first page fetched beforehand; only the page at the cursor is timed.
      const start = Date.now() - 79 * 86_400_000 + random(78 * 86_400_000)
      const query = `?size=100&startDate=${new Date(start).toISOString()}&endDate=${new Date(start + 3_600_000).toISOString()}`
      const first = (await (await fetch(`${base}/api/v1/audit-log${query}`, { headers })).json()) as {
        nextCursor?: string
      }
      return () => fetch(`${base}/api/v1/audit-log?size=100&cursor=${first.nextCursor}`, { headers })
    },
  ],
]

const requests = Number(values.requests)
const warmup = Number(values.warmup)
const concurrency = Number(values.concurrency)

/** Sends the requests, `concurrency` at a time; each one's latency (to the body's end) and how many failed. */
async function send(prepared: (() => Promise<Response>)[]): Promise<{ latencies: number[]; errors: number }> {
  const latencies: number[] = []
  let errors = 0
  let next = 0
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < prepared.length) {
        const request = prepared[next++]!
        const started = performance.now()
        const response = await request()
        await response.arrayBuffer()
        latencies.push(performance.now() - started)
        if (response.status !== 200) errors++
      }
    }),
  )
  return { latencies, errors }
}

const selected = scenarios.filter(([name]) => name.includes(values.only ?? ''))
const prepare = (make: (typeof scenarios)[number][1], n: number) =>
  Promise.all(Array.from({ length: n }, async () => make()))
// Untimed first, every query: an API's first requests compile its queries (GraphQL, V8), prepare
// their statements and grow its heap, which an API that has run for a while has done.
let warmupErrors = 0
for (const [, make] of selected) warmupErrors += (await send(await prepare(make, warmup))).errors
if (warmupErrors > 0) throw new Error(`${warmupErrors} of the warm-up requests failed`)

const rows: (string | number)[][] = [['query', 'requests', 'p50 ms', 'p99 ms', 'max ms', 'errors']]
const results: Record<string, unknown> = {}
for (const [name, make] of selected) {
  const { latencies, errors } = await send(await prepare(make, requests))
  const s = summarize(latencies)
  rows.push([name, s.count, fmt(s.p50, 2), fmt(s.p99, 2), fmt(s.max, 1), errors])
  results[name] = { ...s, errors }
}
await stopService(api)
await db.destroy()
console.log(`sessions: ${SESSIONS}, audit events: ${AUDIT_EVENTS}, concurrency ${concurrency}`)
console.log(table(rows))
console.log(JSON.stringify({ sessions: SESSIONS, auditEvents: AUDIT_EVENTS, concurrency, results }))
