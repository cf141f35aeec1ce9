import type { FastifyInstance } from 'fastify'
import { parse } from 'csv-parse/sync'
import fc from 'fast-check'
import pg from 'pg'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { createDb, type Db } from '@radstream/db'
import { applyBatch } from '@radstream/sessionizer'
import { listeningApi } from '../../../test/support/api-app'
import { accessToken, newApiClient, type ApiCredentials } from '../../../test/support/api-client'
import { accountingRecord, at } from '../../../test/support/records'
import { cursorCodec } from '../src/audit-log/cursor'
import { parseAuditLogQuery } from '../src/audit-log/params'

type Json = Record<string, any>

let db: Db
let exportDb: Db
let app: FastifyInstance
let base: string
let admin: string
let adminClient: ApiCredentials
const run = Date.now().toString(36)

async function graphql(token: string | undefined, query: string, variables?: Json, headers: Json = {}) {
  const response = await fetch(`${base}/graphql`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(token !== undefined && { authorization: `Bearer ${token}` }),
      ...headers,
    },
    body: JSON.stringify({ query, variables }),
  })
  return { status: response.status, body: (await response.json()) as Json }
}

const get = async (path: string, token = admin) => {
  const response = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${token}` } })
  return { status: response.status, body: await response.text() }
}

beforeAll(async () => {
  db = createDb({ url: inject('databaseUrl'), poolSize: 4 })
  exportDb = createDb({ url: inject('databaseUrl'), poolSize: 3 })
  ;({ app, base } = await listeningApi(db, {
    exportDb,
    limits: { graphqlMaxCost: 20_000, graphqlRequestsPerMinute: 10_000, exportsPerClient: 2, exportPoolSize: 3 },
  }))
  adminClient = await newApiClient(db, ['admin', 'auditor'], undefined, { rateLimitPerMinute: 100_000 })
  admin = await accessToken(base, adminClient)
})

afterAll(async () => {
  await app?.close()
  await Promise.all([db?.destroy(), exportDb?.destroy()])
})

describe('GraphQL authentication', () => {
  it('should refuse a plain request that carries an Upgrade header and no token, as any other', async () => {
    // node:http, not fetch: fetch will not send an Upgrade header at all.
    const { request } = await import('node:http')
    for (const query of ['{ __schema { types { name } } }', '{ getConnectionHistory(userId: 1) { id } }']) {
      const { status, body } = await new Promise<{ status: number; body: Json }>((resolve, reject) => {
        const sent = request(`${base}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', upgrade: 'websocket' },
        })
        sent.on('response', (response) => {
          let text = ''
          response.on('data', (chunk: Buffer) => (text += chunk.toString()))
          response.on('end', () => resolve({ status: response.statusCode!, body: JSON.parse(text) as Json }))
        })
        sent.on('error', reject)
        sent.end(JSON.stringify({ query }))
      })
      expect(status).toBe(401)
      expect(body.errors[0].extensions.code).toBe('UNAUTHENTICATED')
      expect(body.data).toBeNull()
    }
  })
})

describe('subscriptions whose token lapses', () => {
  /** A subscribed graphql-transport-ws socket; resolves with its close code when the server ends it. */
  async function subscribe(token: string) {
    const { WebSocket } = await import('ws')
    const socket = new WebSocket(`${base.replace('http', 'ws')}/graphql`, 'graphql-transport-ws')
    const closed = new Promise<{ code: number; at: number }>((resolve) =>
      socket.on('close', (code) => resolve({ code, at: Date.now() })),
    )
    await new Promise<void>((resolve, reject) => {
      socket.on('message', (data) => {
        if (JSON.parse(data.toString()).type === 'connection_ack') resolve()
      })
      socket.on('error', reject)
      socket.on('open', () =>
        socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } })),
      )
    })
    socket.send(
      JSON.stringify({
        id: '1',
        type: 'subscribe',
        payload: { query: 'subscription { sessionEvents { type } }' },
      }),
    )
    return { closed, close: () => socket.close() }
  }

  it('should end the socket within 5 s of the client’s revocation', async () => {
    const client = await newApiClient(db, ['admin'])
    const subscription = await subscribe(await accessToken(base, client))
    await new Promise((resolve) => setTimeout(resolve, 300))
    const revokedAt = Date.now()
    await db.updateTable('api_clients').set({ revoked_at: new Date() }).where('id', '=', client.clientId).execute()
    const ended = await Promise.race([
      subscription.closed,
      new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 8000)),
    ])
    subscription.close()
    expect(ended?.code).toBe(4403)
    expect(ended!.at - revokedAt).toBeLessThan(5000)
  })

  it('should end the socket when its token expires', async () => {
    const { app: shortLived, base: shortBase } = await listeningApi(db, { tokenTtlSeconds: 2 })
    try {
      const token = await accessToken(shortBase, adminClient)
      // The token says what its TTL says, to the second.
      const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as {
        iat: number
        exp: number
      }
      expect(claims.exp - claims.iat).toBe(2)
      const previous = base
      base = shortBase
      const subscription = await subscribe(token).finally(() => (base = previous))
      const ended = await Promise.race([
        subscription.closed,
        new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 6000)),
      ])
      subscription.close()
      expect(ended?.code).toBe(4403)
    } finally {
      await shortLived.close()
    }
  })
})

describe('the token endpoint', () => {
  const tokenRequest = (body: string, headers: Json = {}) =>
    fetch(`${base}/api/v1/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body,
    })

  it('should answer Basic credentials with a bad %-escape with 400, not 500', async () => {
    const basic = Buffer.from('rsc_%E0%A4%A:secret').toString('base64')
    const response = await tokenRequest('grant_type=client_credentials', { authorization: `Basic ${basic}` })
    expect(response.status).toBe(400)
    expect(((await response.json()) as Json).error).toBe('invalid_request')
  })

  it('should refuse a client_id longer than any client has, before counting or hashing it', async () => {
    const response = await tokenRequest(
      new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: 'x'.repeat(100_000),
        client_secret: 's',
      }).toString(),
    )
    expect(response.status).toBe(400)
  })

  it('should count parallel guesses as they arrive, so a burst passes no more than the limit', async () => {
    const { app: guarded, base: guardedBase } = await listeningApi(db, {
      tokenFailureLimits: { perClientAndAddress: 3, perAddress: 100, windowMs: 60_000 },
    })
    try {
      const statuses = await Promise.all(
        Array.from({ length: 12 }, () =>
          fetch(`${guardedBase}/api/v1/oauth/token`, {
            method: 'POST',
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
            body: new URLSearchParams({
              grant_type: 'client_credentials',
              client_id: adminClient.clientId,
              client_secret: 'wrong',
            }).toString(),
          }).then((r) => r.status),
        ),
      )
      expect(statuses.filter((s) => s === 401)).toHaveLength(3)
      expect(statuses.filter((s) => s === 429)).toHaveLength(9)
    } finally {
      await guarded.close()
    }
  })
})

describe('CSV exports', () => {
  it('should neutralise cells a spreadsheet would run as formulas, and keep NDJSON exact', async () => {
    const hostile = ['=HYPERLINK("http://x","y")', '+1+1', '-2+3', '@SUM(A1)', '\tTAB', '\rCR']
    const records = hostile.map((name, i) =>
      accountingRecord([
        ['User-Name', `${name}-${run}`],
        ['Acct-Session-Id', `formula-${run}-${i}`],
        ['NAS-IP-Address', '198.51.100.231'],
        ['Acct-Status-Type', 1],
        ['Calling-Station-Id', name],
        ['Event-Timestamp', at('2021-04-01T00:00:00Z')],
      ]),
    )
    await db.transaction().execute((tx) => applyBatch(tx, records))
    const window = 'from=2021-04-01T00:00:00Z&to=2021-04-01T00:00:01Z'
    const csv = await get(`/api/v1/sessions/export?${window}&format=csv`)
    expect(csv.status).toBe(200)
    const cells = (parse(csv.body, { relax_quotes: false }) as string[][]).slice(1).flat()
    for (const name of hostile) expect(cells).toContain(`'${name}`)
    // No cell a spreadsheet would run.
    expect(cells.filter((cell) => /^[=+\-@\t\r]/.test(cell))).toEqual([])
    const ndjson = await get(`/api/v1/sessions/export?${window}`)
    const rows = ndjson.body
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Json)
    expect(rows.map((r) => r.calling_station_id).sort()).toEqual([...hostile].sort())
  })
})

describe('what one client may ask', () => {
  it('should refuse a query whose aliases and pages add up past the cost limit, with 400 and a code', async () => {
    const timelines = Array.from(
      { length: 30 },
      (_, i) =>
        `t${i}: sessionTimeline(from: "${new Date(Date.now() - 3_600_000).toISOString()}", to: "${new Date().toISOString()}") { at }`,
    ).join(' ')
    const refused = await graphql(admin, `{ ${timelines} }`)
    expect(refused.status).toBe(400)
    expect(refused.body.errors[0].extensions.code).toBe('QUERY_TOO_COMPLEX')
    const pages = await graphql(
      admin,
      'query ($n: Int) { a: getOnlineSessions(first: $n) { id } b: getOnlineSessions(first: $n) { id } }',
      {
        n: 1000,
      },
    )
    expect(pages.status).toBe(200)
    const tooMany = await graphql(
      admin,
      `{ ${Array.from({ length: 21 }, (_, i) => `p${i}: getOnlineSessions(first: 1000) { id }`).join(' ')} }`,
    )
    expect(tooMany.body.errors[0].extensions.code).toBe('QUERY_TOO_COMPLEX')
  })

  it('should refuse a timeline that starts more than a week ago', async () => {
    const { body } = await graphql(
      admin,
      '{ sessionTimeline(from: "1970-01-01T00:00:00Z", to: "1970-01-02T00:00:00Z") { at } }',
    )
    expect(body.errors[0].extensions.code).toBe('BAD_USER_INPUT')
  })

  it('should rate-limit one client’s GraphQL requests with 429 and Retry-After, not another’s', async () => {
    const { app: limited, base: limitedBase } = await listeningApi(db, {
      limits: { graphqlMaxCost: 20_000, graphqlRequestsPerMinute: 3, exportsPerClient: 2, exportPoolSize: 3 },
    })
    try {
      const ask = (token: string) =>
        fetch(`${limitedBase}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: '{"query":"{ __typename }"}',
        })
      const mine = await accessToken(limitedBase, await newApiClient(db, ['admin']))
      const other = await accessToken(limitedBase, await newApiClient(db, ['admin']))
      for (let i = 0; i < 3; i++) expect((await ask(mine)).status).toBe(200)
      const refused = await ask(mine)
      expect(refused.status).toBe(429)
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0)
      expect(((await refused.json()) as Json).errors[0].extensions.code).toBe('RATE_LIMITED')
      expect((await ask(other)).status).toBe(200)
    } finally {
      await limited.close()
    }
  })

  it('should keep the API answering while slow exports hold their own pool, and limit them per client', async () => {
    const slow = async (token: string) => {
      const controller = new AbortController()
      const response = await fetch(`${base}/api/v1/sessions/export?from=2003-01-01T00:00:00Z&to=2003-02-01T00:00:00Z`, {
        headers: { authorization: `Bearer ${token}` },
        signal: controller.signal,
      })
      // Headers read, body never: the export holds its cursor as a slow reader would.
      return { status: response.status, abort: () => controller.abort() }
    }
    // Enough rows that an export no client reads fills the sockets' buffers and waits on its cursor.
    await sql`
      insert into sessions (session_key, session_id, nas_ip_address, start_time, update_time, stop_time, calling_station_id)
      select 'slow-export-' || ${run} || '-' || g, 'slow-' || g, '198.51.100.234', t, t, t, repeat('x', 200)
      from generate_series(1, 60000) g, lateral (select '2003-01-01'::timestamptz + g * interval '1 second' as t) at`.execute(
      db,
    )
    const tokens = await Promise.all(
      Array.from({ length: 3 }, async () => accessToken(base, await newApiClient(db, ['admin']))),
    )
    const held = [await slow(tokens[0]!), await slow(tokens[0]!)]
    expect(held.map((h) => h.status)).toEqual([200, 200])
    // A third of the same client's: refused at once.
    const third = await get('/api/v1/sessions/export?from=2003-01-01T00:00:00Z&to=2003-02-01T00:00:00Z', tokens[0])
    expect(third.status).toBe(429)
    held.push(await slow(tokens[1]!))
    // The export pool (3) is full: another client's export is told to retry, not queued.
    expect(
      (await get('/api/v1/sessions/export?from=2003-01-01T00:00:00Z&to=2003-02-01T00:00:00Z', tokens[2])).status,
    ).toBe(503)
    const started = Date.now()
    const token = await accessToken(base, adminClient)
    expect(token).toBeTruthy()
    expect((await graphql(admin, '{ onlineSessionCount }')).status).toBe(200)
    expect(Date.now() - started).toBeLessThan(2000)
    for (const h of held) h.abort()
  })
})

describe('malformed input', () => {
  it('should answer a repeated parameter and an impossible date with 400 naming it', async () => {
    const repeated = await get('/api/v1/audit-log?size=5&cursor=a&cursor=b')
    expect(repeated.status).toBe(400)
    expect(JSON.parse(repeated.body)).toMatchObject({ error: 'BAD_USER_INPUT', parameter: 'cursor' })
    for (const date of ['2026-11-31T00:00:00Z', '2026-02-29T00:00:00Z', '2026-11-30T24:00:00Z']) {
      const impossible = await get(`/api/v1/audit-log?size=5&startDate=${date}`)
      expect(impossible.status, date).toBe(400)
      expect(JSON.parse(impossible.body).parameter).toBe('startDate')
      const exported = await get(`/api/v1/audit-log/export?from=${date}&to=2026-12-01T00:00:00Z`)
      expect(exported.status, date).toBe(400)
      const { body } = await graphql(admin, `{ whoHadIp(ip: "10.0.0.1", at: "${date}") { id } }`)
      expect(body.errors[0].extensions.code).toBe('BAD_USER_INPUT')
    }
  })

  it('should never answer 5xx, whatever the REST parameters and the token body (property)', async () => {
    const text = fc.oneof(
      fc.string(),
      fc.constantFrom('', '0', '101', '2026-11-31T00:00:00Z', '2026-01-01T00:00:00Z', '%', '\u0000', 'a'.repeat(5000)),
    )
    const routes = [
      { path: '/api/v1/audit-log', names: ['startDate', 'endDate', 'size', 'initiatorId', 'cursor'] },
      { path: '/api/v1/audit-log/export', names: ['from', 'to', 'format'] },
      { path: '/api/v1/sessions/export', names: ['from', 'to', 'format'] },
    ]
    const seen: number[] = []
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...routes),
        fc.array(fc.tuple(fc.nat(4), text), { maxLength: 6 }),
        async (route, pairs) => {
          const query = new URLSearchParams()
          for (const [i, value] of pairs) query.append(route.names[i % route.names.length]!, value)
          const controller = new AbortController()
          const response = await fetch(`${base}${route.path}?${query}`, {
            headers: { authorization: `Bearer ${admin}` },
            signal: controller.signal,
          })
          controller.abort()
          seen.push(response.status)
          return response.status < 500
        },
      ),
      { numRuns: 150 },
    )
    await fc.assert(
      fc.asyncProperty(
        fc.dictionary(fc.constantFrom('grant_type', 'client_id', 'client_secret', 'scope'), text),
        fc.option(text),
        async (fields, basic) => {
          const response = await fetch(`${base}/api/v1/oauth/token`, {
            method: 'POST',
            headers: {
              'content-type': 'application/x-www-form-urlencoded',
              ...(basic !== null && { authorization: `Basic ${Buffer.from(basic).toString('base64')}` }),
            },
            body: new URLSearchParams(fields).toString(),
          })
          seen.push(response.status)
          return response.status < 500
        },
      ),
      { numRuns: 100 },
    )
    expect(seen.some((s) => s === 400)).toBe(true)
    // And well-formed requests to the same routes are answered.
    for (const path of [
      '/api/v1/audit-log?size=5',
      `/api/v1/audit-log/export?from=${new Date(Date.now() - 86_400_000).toISOString()}&to=${new Date().toISOString()}`,
      '/api/v1/sessions/export?from=2026-01-01T00:00:00Z&to=2026-01-02T00:00:00Z',
    ])
      expect((await get(path)).status, path).toBe(200)
  })
})

describe('the audit cursor', () => {
  it('should work only for the client it was issued to', async () => {
    const other = await accessToken(base, await newApiClient(db, ['auditor'], undefined, { rateLimitPerMinute: 1000 }))
    const first = JSON.parse((await get('/api/v1/audit-log?size=1')).body) as { nextCursor?: string }
    expect(first.nextCursor).toBeTruthy()
    expect((await get(`/api/v1/audit-log?size=1&cursor=${first.nextCursor}`)).status).toBe(200)
    const stolen = await get(`/api/v1/audit-log?size=1&cursor=${first.nextCursor}`, other)
    expect(stolen.status).toBe(400)
    expect(JSON.parse(stolen.body).parameter).toBe('cursor')
  })

  it('should stop working once its window leaves the client’s history', () => {
    const cursors = cursorCodec('test-key')
    const client = { clientId: 'rsc_test', auditHistoryDays: 30 }
    const issuedAt = new Date('2026-03-31T12:00:00Z')
    const cursor = cursors.encode({
      clientId: client.clientId,
      startDate: '2026-03-01T13:00:00Z',
      endDate: '2026-03-02T13:00:00Z',
      initiatorId: null,
      at: '2026-03-01T14:00:00.000000Z',
      seq: '7',
    })
    expect(parseAuditLogQuery({ size: '5', cursor }, issuedAt, client, cursors).after?.seq).toBe('7')
    const dayLater = new Date(issuedAt.getTime() + 86_400_000)
    expect(() => parseAuditLogQuery({ size: '5', cursor }, dayLater, client, cursors)).toThrow(/history/)
  })

  it('should not be held open by a long transaction in another database', async () => {
    const otherUrl = new URL(inject('databaseUrl'))
    otherUrl.pathname = '/postgres'
    const elsewhere = new pg.Client({ connectionString: otherUrl.toString() })
    await elsewhere.connect()
    try {
      await elsewhere.query('begin')
      await elsewhere.query('select txid_current()')
      await new Promise((resolve) => setTimeout(resolve, 1100))
      const end = new Date(Date.now() - 500).toISOString()
      const start = new Date(Date.now() - 3_600_000).toISOString()
      // The window's events (the test database's, of this run and earlier ones) fill so many pages.
      const { rows } = await sql<{ events: number }>`
        select count(*)::int as events from audit_events where occurred_at >= ${start} and occurred_at < ${end}`.execute(
        db,
      )
      const enough = Math.floor(rows[0]!.events / 100) + 2 // and one for events committed since
      let path = `/api/v1/audit-log?size=100&startDate=${start}&endDate=${end}`
      let pages = 0
      for (;;) {
        const page = JSON.parse((await get(path)).body) as { nextCursor?: string }
        pages++
        if (!page.nextCursor || pages > enough) break
        path = `/api/v1/audit-log?size=100&cursor=${page.nextCursor}`
      }
      expect(pages).toBeLessThanOrEqual(enough)
    } finally {
      await elsewhere.query('rollback').catch(() => undefined)
      await elsewhere.end()
    }
  })
})

describe('the contract', () => {
  it('should return a user’s complete history without paging arguments, and refuse past the cap with its own code', async () => {
    const username = `long-history-${run}`
    const records = Array.from({ length: 150 }, (_, i) =>
      accountingRecord([
        ['User-Name', username],
        ['Acct-Session-Id', `history-${run}-${i}`],
        ['NAS-IP-Address', '198.51.100.232'],
        ['Acct-Status-Type', 1],
        ['Event-Timestamp', at('2022-01-01T00:00:00Z') + i * 60],
      ]),
    )
    await db.transaction().execute((tx) => applyBatch(tx, records))
    const user = await db.selectFrom('users').select('id').where('username', '=', username).executeTakeFirstOrThrow()
    const query = 'query ($u: Int!) { getConnectionHistory(userId: $u) { id sessionId } }'
    const { status, body } = await graphql(admin, query, { u: user.id })
    expect(status).toBe(200)
    expect(body.data.getConnectionHistory).toHaveLength(150)
    const paged = await graphql(admin, 'query ($u: Int!) { getConnectionHistory(userId: $u, first: 20) { id } }', {
      u: user.id,
    })
    expect(paged.body.data.getConnectionHistory).toHaveLength(20)
    // Past the cap: 10,001 sessions are more than a test should write, so the cap is read from the code's own check.
    const { COMPLETE_HISTORY_CAP } = await import('../src/graphql/query-cost')
    expect(COMPLETE_HISTORY_CAP).toBe(10_000)
    const many = Array.from({ length: COMPLETE_HISTORY_CAP + 1 }, (_, i) => i)
    await sql`
      insert into sessions (session_key, user_id, username, session_id, nas_ip_address, start_time, update_time, stop_time)
      select 'cap-' || ${run} || '-' || g, ${user.id}, ${username}, 'cap-' || g, '198.51.100.233', now(), now(), now()
      from unnest(${many}::int[]) g`.execute(db)
    const capped = await graphql(admin, query, { u: user.id })
    expect(capped.status).toBe(400)
    expect(capped.body.errors[0].extensions.code).toBe('HISTORY_TOO_LARGE')
    expect(capped.body.data).toBeNull()
  })

  it('should carry extensions.code and 400 for validation and coercion failures, compiled or not', async () => {
    const query = 'query ($u: Int!) { getConnectionHistory(userId: $u) { id } }'
    for (let i = 0; i < 3; i++) {
      // The same document again and again: from the second time on mercurius runs it compiled (JIT).
      for (const u of ['12', 2 ** 40, 1.5, null]) {
        const { status, body } = await graphql(admin, query, { u })
        expect(status, JSON.stringify(u)).toBe(400)
        expect(body.errors[0].extensions?.code, JSON.stringify(u)).toBe('BAD_USER_INPUT')
      }
    }
    for (const bad of ['{ getConnectionHistory(userId: "x") { id } }', '{ nope }', '{ getConnectionHistory { id } }']) {
      const { status, body } = await graphql(admin, bad)
      expect(status, bad).toBe(400)
      expect(body.errors[0].extensions?.code, bad).toBe('GRAPHQL_VALIDATION_FAILED')
    }
    const syntax = await graphql(admin, '{ getConnectionHistory(')
    expect(syntax.status).toBe(400)
    expect(syntax.body.errors[0].extensions?.code).toBe('GRAPHQL_PARSE_FAILED')
  })
})

describe('the database roles', () => {
  it('should keep the collector’s role from the signing key and the API clients, and the sessionizer’s from the keys', async () => {
    const denied = async (role: string, statement: ReturnType<typeof sql>) =>
      db
        .transaction()
        .execute(async (tx) => {
          await sql`set local role ${sql.id(role)}`.execute(tx)
          await statement.execute(tx)
          return false
        })
        .catch((error: { code?: string }) => error.code === '42501')
    expect(await denied('radstream_collector', sql`select value from api_settings`)).toBe(true)
    expect(await denied('radstream_collector', sql`select id from api_clients`)).toBe(true)
    expect(await denied('radstream_collector', sql`select id from sessions limit 1`)).toBe(true)
    expect(await denied('radstream_collector', sql`select network from nas_clients limit 1`)).toBe(false)
    expect(await denied('radstream_sessionizer', sql`select value from api_settings`)).toBe(true)
    expect(await denied('radstream_sessionizer', sql`update api_clients set name = name where false`)).toBe(true)
    expect(await denied('radstream_sessionizer', sql`select id from sessions limit 1`)).toBe(false)
  })
})
