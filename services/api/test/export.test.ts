import { spawn, type ChildProcess } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { gunzipSync } from 'node:zlib'
import { parse as parseCsv } from 'csv-parse/sync'
import type { FastifyInstance } from 'fastify'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { createDb, ensureReseller, type Db } from '@radstream/db'
import { exportColumns } from '@radstream/export'
import { applyBatch } from '@radstream/sessionizer'
import { listeningApi } from '../../../test/support/api-app'
import { accessToken, newApiClient } from '../../../test/support/api-client'
import { accountingRecord, at } from '../../../test/support/records'
import { freePort } from '@radstream/stack'
import { CLI_BIN, cliEnv, runCli } from '../../../test/support/cli'
import { scratchDatabase } from '../../../test/support/scratch-database'
import { waitFor } from '../../../test/support/wait-for'

type Json = Record<string, any>

let db: Db
let app: FastifyInstance
let base: string
const tokens = { admin: '', auditor: '', acme: '' }
const run = Date.now().toString(36)
const WINDOW = 'from=2012-05-01T00:00:00Z&to=2012-05-02T00:00:00Z'

function get(path: string, token: string, headers: Record<string, string> = {}) {
  return fetch(`${base}${path}`, { headers: { authorization: `Bearer ${token}`, ...headers } })
}

beforeAll(async () => {
  db = createDb({ url: inject('databaseUrl'), poolSize: 2 })
  ;({ app, base } = await listeningApi(db))
  const records = Array.from({ length: 30 }, (_, i) =>
    accountingRecord([
      ['User-Name', i % 3 === 0 ? `acme-${i}-${run}` : `other-${i}-${run}`],
      ['Acct-Session-Id', `export-${i}-${run}`],
      ['NAS-IP-Address', '198.51.100.91'],
      ['Acct-Status-Type', 1],
      ['Event-Timestamp', at('2012-05-01T10:00:00Z') + i * 60],
      // RFC 4180's hard cases: a comma, quotes, a line break.
      ['Connect-Info', i === 4 ? 'say "hi", then\r\nleave' : 'WireGuard'],
    ]),
  )
  await db.transaction().execute((tx) => applyBatch(tx, records))
  const acme = await ensureReseller(db, `acme-${run}`)
  await db.updateTable('users').set({ reseller_id: acme.id }).where('username', 'like', `acme-%-${run}`).execute()
  tokens.admin = await accessToken(base, await newApiClient(db, ['admin']))
  tokens.auditor = await accessToken(base, await newApiClient(db, ['auditor'], undefined, { auditHistoryDays: 30 }))
  tokens.acme = await accessToken(base, await newApiClient(db, ['reseller'], `acme-${run}`))
})

afterAll(async () => {
  await app?.close()
  await db?.destroy()
})

describe('exports', () => {
  it('should stream sessions as NDJSON and as RFC 4180 CSV with the same rows in a stable column order', async () => {
    const ndjson = await get(`/api/v1/sessions/export?${WINDOW}`, tokens.admin)
    expect(ndjson.status).toBe(200)
    expect(ndjson.headers.get('content-type')).toMatch(/^application\/x-ndjson/)
    const lines = (await ndjson.text())
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as Json)
    const ours = lines.filter((l) => String(l.session_id).endsWith(run))
    expect(ours).toHaveLength(30)
    expect(Object.keys(ours[0]!)).toEqual(exportColumns('sessions'))
    expect(ours.map((l) => l.start_time)).toEqual([...ours.map((l) => l.start_time)].sort())
    expect(ours[4]!.connect_info_start).toBe('say "hi", then\r\nleave')

    const csv = await get(`/api/v1/sessions/export?${WINDOW}&format=csv`, tokens.admin)
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/)
    const text = await csv.text()
    expect(text.split('\r\n')[0]).toBe(exportColumns('sessions').join(','))
    const parsed = parseCsv(text, { columns: true }) as Record<string, string>[]
    const flat = (row: Json) =>
      Object.fromEntries(Object.entries(row).map(([k, v]) => [k, v === null ? '' : String(v)]))
    expect(parsed).toEqual(lines.map(flat))
  })

  it('should gzip when asked, and keep a reseller to its users and auditors to the audit log', async () => {
    const plain = await (await get(`/api/v1/sessions/export?${WINDOW}`, tokens.admin)).text()
    const gzipped = await fetch(`${base}/api/v1/sessions/export?${WINDOW}`, {
      headers: { authorization: `Bearer ${tokens.admin}`, 'accept-encoding': 'gzip' },
    })
    expect(gzipped.headers.get('content-encoding')).toBe('gzip')
    // fetch undoes the gzip itself; the bytes it was sent are compared through a raw read below.
    expect(await gzipped.text()).toBe(plain)
    const raw = await app.inject({
      url: `/api/v1/sessions/export?${WINDOW}`,
      headers: { authorization: `Bearer ${tokens.admin}`, 'accept-encoding': 'gzip' },
    })
    expect(gunzipSync(raw.rawPayload).toString()).toBe(plain)

    const acme = (await (await get(`/api/v1/sessions/export?${WINDOW}`, tokens.acme)).text())
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as Json)
    expect(acme.map((l) => l.username).every((name) => String(name).startsWith('acme-'))).toBe(true)
    expect(acme).toHaveLength(10)
    expect((await get(`/api/v1/sessions/export?${WINDOW}`, tokens.auditor)).status).toBe(403)
    expect((await get(`/api/v1/audit-log/export?${WINDOW}`, tokens.acme)).status).toBe(403)
    expect((await get('/api/v1/sessions/export?' + WINDOW, '')).status).toBe(401)
  })

  it('should stream the audit log in its paging order, within the client’s history', async () => {
    const from = new Date(Date.now() - 3_600_000).toISOString()
    const to = new Date(Date.now() + 60_000).toISOString()
    const response = await get(`/api/v1/audit-log/export?from=${from}&to=${to}`, tokens.auditor)
    expect(response.status).toBe(200)
    const events = (await response.text())
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as Json)
    expect(Object.keys(events[0]!)).toEqual(exportColumns('audit'))
    const ours = events.filter((e) => String(e.entity_name).endsWith(run))
    expect(ours.length).toBeGreaterThanOrEqual(30)
    // The audit log's own order: by time, and by chain position among events of one instant.
    const order = (e: Json) => [String(e.occurred_at), BigInt(e.chain_seq)] as const
    const before = (a: Json, b: Json) => {
      const [at, as] = order(a)
      const [bt, bs] = order(b)
      return at < bt || (at === bt && as < bs)
    }
    expect(events.slice(1).every((e, i) => before(events[i]!, e))).toBe(true)
    expect(Array.isArray(events[0]!.fields)).toBe(true)
  })

  it('should answer a bad range with a 400 naming the parameter', async () => {
    const bad = async (query: string, token = tokens.admin) => {
      const response = await get(`/api/v1/sessions/export?${query}`, token)
      return [response.status, ((await response.json()) as Json).parameter]
    }
    expect(await bad('to=2012-05-02T00:00:00Z')).toEqual([400, 'from'])
    expect(await bad('from=2012-05-01T00:00:00Z')).toEqual([400, 'to'])
    expect(await bad('from=yesterday&to=2012-05-02T00:00:00Z')).toEqual([400, 'from'])
    expect(await bad('from=2012-05-02T00:00:00Z&to=2012-05-01T00:00:00Z')).toEqual([400, 'to'])
    expect(await bad(`${WINDOW}&format=xml`)).toEqual([400, 'format'])
    const old = await get(`/api/v1/audit-log/export?${WINDOW}`, tokens.auditor)
    expect([old.status, ((await old.json()) as Json).parameter]).toEqual([400, 'from'])
  })

  it('should be in the OpenAPI document', async () => {
    const doc = (await (await fetch(`${base}/api/v1/openapi.json`)).json()) as Json
    for (const path of ['/api/v1/sessions/export', '/api/v1/audit-log/export']) {
      const route = doc.paths[path].get
      expect(route.parameters.map((p: Json) => p.name).sort()).toEqual(['format', 'from', 'to'])
      expect(route.description).toContain('Columns')
    }
  })
})

describe('a million-row export', () => {
  const ROWS = 1_000_000
  let big: Db
  let api: ChildProcess
  let bigBase: string
  let bigUrl: string
  let token: string

  beforeAll(async () => {
    const scratch = await scratchDatabase('export_million')
    big = scratch.db
    bigUrl = scratch.url
    await sql`
      insert into sessions (session_key, username, session_id, nas_ip_address, start_time, update_time, stop_time,
        session_time, input_octets, output_octets, connect_info_start, closed_by, terminate_cause)
      select 'k' || g, 'user-' || g % 5000, 'sess-' || g, '198.18.0.1', t, t + interval '30 minutes',
        t + interval '30 minutes', 1800, g, 2 * g, 'WireGuard, "fast"', 'Stop', 'User-Request'
      from (select g, timestamptz '2013-01-01' + g * interval '1 second' as t from generate_series(1, ${ROWS}) g) s`.execute(
      big,
    )
    // The API as it runs in production, in a process of its own: its memory is what is measured.
    const port = await freePort()
    api = spawn(process.execPath, [CLI_BIN, 'api'], {
      env: cliEnv({ DATABASE_URL: scratch.url, HOST: '127.0.0.1', PORT: String(port) }),
      stdio: ['ignore', 'ignore', 'inherit'],
    })
    bigBase = `http://127.0.0.1:${port}`
    await waitFor(
      'the API to answer',
      async () => ((await fetch(`${bigBase}/healthz`).catch(() => undefined))?.ok ? true : undefined),
      30_000,
    )
    token = await accessToken(bigBase, await newApiClient(big, ['admin']))
  }, 120_000)

  afterAll(async () => {
    api?.kill('SIGTERM')
    await big?.destroy()
  })

  const url = () => `${bigBase}/api/v1/sessions/export?from=2013-01-01T00:00:00Z&to=2014-01-01T00:00:00Z&format=csv`
  const rssOf = async (pid: number) =>
    Number(/VmRSS:\s+(\d+) kB/.exec(await readFile(`/proc/${pid}/status`, 'utf8'))![1]) * 1024

  it('should stream with flat memory', async () => {
    const baseline = await rssOf(api.pid!)
    let peak = baseline
    const sampler = setInterval(() => void rssOf(api.pid!).then((rss) => (peak = Math.max(peak, rss))), 100)
    let lines = 0
    let bytes = 0
    const started = Date.now()
    try {
      const response = await fetch(url(), { headers: { authorization: `Bearer ${token}` } })
      for await (const chunk of response.body!) {
        const buffer = Buffer.from(chunk)
        bytes += buffer.length
        for (let at = buffer.indexOf(10); at >= 0; at = buffer.indexOf(10, at + 1)) lines++
      }
    } finally {
      clearInterval(sampler)
    }
    const seconds = (Date.now() - started) / 1000
    console.log(
      `export: ${ROWS} rows, ${(bytes / 1e6).toFixed(0)} MB in ${seconds.toFixed(1)} s; API RSS ${(baseline / 1e6).toFixed(0)} MB -> peak ${(peak / 1e6).toFixed(0)} MB`,
    )
    expect(lines).toBe(ROWS + 1)
    // 1M rows are ~170 MB of CSV: an API that held them would grow by far more than this.
    expect(peak - baseline).toBeLessThan(80e6)
  }, 180_000)

  it('radstream export should write the same million rows, saying how far it is every 2 s', async () => {
    const result = await runCli(
      ['export', 'sessions', '--from', '2013-01-01T00:00:00Z', '--to', '2014-01-01T00:00:00Z', '--output', '/dev/null'],
      { DATABASE_URL: bigUrl },
    )
    expect(result.code, result.stderr).toBe(0)
    expect(result.stderr).toMatch(/^export sessions: \d+ rows \(\d+ rows\/s\)$/m)
    expect(result.stderr).toMatch(new RegExp(`^export sessions: ${ROWS} rows in \\d+\\.\\d s to /dev/null$`, 'm'))
  }, 120_000)

  it('should close the cursor and free its connection when the client goes away mid-stream', async () => {
    const active = async () => {
      const { rows } = await sql<{ n: number }>`
        select count(*)::int as n from pg_stat_activity
        where datname = current_database() and pid <> pg_backend_pid() and state <> 'idle'`.execute(big)
      return rows[0]!.n
    }
    const abort = new AbortController()
    const response = await fetch(url(), { headers: { authorization: `Bearer ${token}` }, signal: abort.signal })
    const reader = response.body!.getReader()
    await reader.read()
    expect(await active()).toBeGreaterThan(0) // the cursor's transaction, mid-stream
    abort.abort()
    const deadline = Date.now() + 5000
    while ((await active()) > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50))
    expect(await active()).toBe(0)
  }, 60_000)
})
