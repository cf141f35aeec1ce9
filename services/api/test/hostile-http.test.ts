import type { FastifyInstance } from 'fastify'
import { createSigner } from 'fast-jwt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { inject } from 'vitest'
import { createDb, ensureReseller, type Db } from '@radstream/db'
import { applyBatch } from '@radstream/sessionizer'
import { listeningApi } from '../../../test/support/api-app'
import { accessToken, newApiClient } from '../../../test/support/api-client'
import { accountingRecord, at } from '../../../test/support/records'

const METACHARACTERS = [
  "'",
  '"',
  "'; drop table sessions; --",
  '1 OR 1=1',
  '%',
  '_',
  '\\',
  '\u0000',
  '$1',
  '`',
  '${x}',
  '../../etc/passwd',
  '<script>',
]
const SIZES = ['-1', '0', '101', '1e3', '99999999999999999999', 'NaN', ' 5', '5.5', '0x10']

/**
 * Hostile HTTP: malformed bodies, deep and wide queries, bad sizes, SQL metacharacters in every
 * parameter, forged tokens, cursors of other queries. Every answer must be a 4xx with a JSON body
 * saying why; never a 5xx; and a reseller never sees another reseller's data.
 */
describe('API under hostile requests', () => {
  let db: Db
  let app: FastifyInstance
  let base: string
  let admin: string
  let reseller: string
  const secret = `hostile-${Date.now()}`
  const answers: { what: string; status: number; body: string }[] = []

  async function send(what: string, path: string, init: RequestInit = {}): Promise<void> {
    const response = await fetch(`${base}${path}`, init)
    answers.push({ what, status: response.status, body: await response.text() })
  }
  const graphql = (what: string, token: string, body: string) =>
    send(what, '/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body,
    })

  beforeAll(async () => {
    db = createDb({ url: inject('databaseUrl'), poolSize: 2 })
    const other = await ensureReseller(db, `${secret}-other`)
    await db.transaction().execute((tx) =>
      applyBatch(tx, [
        accountingRecord([
          ['User-Name', `${secret}-victim`],
          ['Acct-Session-Id', secret],
          ['Acct-Status-Type', 1],
          ['Framed-IP-Address', '10.250.0.1'],
          ['Event-Timestamp', at('2025-01-01T00:00:00Z')],
        ]),
      ]),
    )
    await db.updateTable('users').set({ reseller_id: other.id }).where('username', '=', `${secret}-victim`).execute()
    ;({ app, base } = await listeningApi(db))
    admin = await accessToken(
      base,
      await newApiClient(db, ['admin', 'auditor'], undefined, { rateLimitPerMinute: 100_000 }),
    )
    reseller = await accessToken(base, await newApiClient(db, ['reseller'], `${secret}-mine`))
  })
  afterAll(async () => {
    await app?.close()
    await db?.destroy()
  })

  it('should answer every hostile request with a 4xx and a JSON body, never a 5xx', async () => {
    for (const body of [
      '',
      '{',
      '{"query": 5}',
      '{"query": "{"}',
      '[]',
      'null',
      '{"query": "{ nope }"}',
      '{"query":"{ getConnectionHistory(userId: -1) { id } }"}',
      '{"query":"{ getConnectionHistory(userId: 99999999999) { id } }"}',
    ]) {
      await graphql(`body ${body}`, admin, body)
    }
    await graphql(
      'deep',
      admin,
      JSON.stringify({
        query: `{ __schema { types { fields { type { ofType { ofType { ofType { ofType { ofType { ofType { name } } } } } } } } } } }`,
      }),
    )
    await graphql(
      'wide',
      admin,
      JSON.stringify({ query: `{ ${Array.from({ length: 1000 }, (_, i) => `a${i}: __typename`).join(' ')} }` }),
    )
    await graphql(
      'aliases of a list',
      admin,
      JSON.stringify({
        query: `{ ${Array.from({ length: 400 }, (_, i) => `h${i}: getOnlineSessions(first: 1000) { id }`).join(' ')} }`,
      }),
    )
    for (const first of [-5, 0, 1001, 2 ** 31])
      await graphql(`first ${first}`, admin, JSON.stringify({ query: `{ getOnlineSessions(first: ${first}) { id } }` }))
    for (const value of METACHARACTERS) {
      await graphql(
        `userByName ${value}`,
        admin,
        JSON.stringify({ query: 'query($u: String!) { userByName(username: $u) { id } }', variables: { u: value } }),
      )
      await graphql(
        `whoHadIp ${value}`,
        admin,
        JSON.stringify({
          query: 'query($ip: String!) { whoHadIp(ip: $ip, at: "2025-01-01T00:00:00Z") { id } }',
          variables: { ip: value },
        }),
      )
      await graphql(
        `after ${value}`,
        admin,
        JSON.stringify({ query: 'query($a: String) { getOnlineSessions(after: $a) { id } }', variables: { a: value } }),
      )
      await graphql(
        `nas ${value}`,
        admin,
        JSON.stringify({
          query: 'query($n: String) { getOnlineSessions(nasIpAddress: $n) { id } }',
          variables: { n: value },
        }),
      )
      await graphql(
        `at ${value}`,
        admin,
        JSON.stringify({
          query: 'query($t: DateTime!) { whoHadIp(ip: "10.0.0.1", at: $t) { id } }',
          variables: { t: value },
        }),
      )
      const q = encodeURIComponent(value)
      for (const param of ['startDate', 'endDate', 'size', 'initiatorId', 'cursor']) {
        await send(`audit ${param}=${value}`, `/api/v1/audit-log?size=5&${param}=${q}`, {
          headers: { authorization: `Bearer ${admin}` },
        })
      }
    }
    for (const size of SIZES)
      await send(`audit size ${size}`, `/api/v1/audit-log?size=${encodeURIComponent(size)}`, {
        headers: { authorization: `Bearer ${admin}` },
      })
    const forged = createSigner({ key: 'not-ours', algorithm: 'HS256', iss: 'radstream', aud: 'radstream-api' })({
      sub: 'x',
      scope: 'admin',
    })
    for (const token of [forged, 'a.b.c', '', 'Bearer', `${admin}x`]) {
      await graphql(`token ${token.slice(0, 12)}`, token, '{"query":"{ __typename }"}')
      await send(`audit token ${token.slice(0, 12)}`, '/api/v1/audit-log?size=1', {
        headers: { authorization: `Bearer ${token}` },
      })
    }
    const first = await fetch(`${base}/api/v1/audit-log?size=1`, {
      headers: { authorization: `Bearer ${admin}` },
    }).then((r) => r.json() as Promise<{ nextCursor?: string }>)
    if (first.nextCursor)
      await send('cursor of another query', `/api/v1/audit-log?size=1&initiatorId=someone&cursor=${first.nextCursor}`, {
        headers: { authorization: `Bearer ${admin}` },
      })
    await send('token: garbage body', '/api/v1/oauth/token', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"grant_type":',
    })
    await send('token: wrong type', '/api/v1/oauth/token', {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: 'hello',
    })

    const fivexx = answers.filter((a) => a.status >= 500)
    expect(fivexx, JSON.stringify(fivexx.slice(0, 3))).toEqual([])
    // Whatever was refused was refused with a reason a client can read.
    for (const answer of answers.filter((a) => a.status >= 400)) {
      expect(() => JSON.parse(answer.body), answer.what).not.toThrow()
      expect(answer.body.length, answer.what).toBeGreaterThan(10)
    }
    expect(answers.filter((a) => a.status >= 400).length).toBeGreaterThan(100)
    const tables = await db.selectFrom('sessions').select('id').where('session_id', '=', secret).execute()
    expect(tables).toHaveLength(1) // the metacharacters dropped nothing
  })

  it("should never show a reseller another reseller's data, however asked", async () => {
    const victim = (
      await db.selectFrom('users').select('id').where('username', '=', `${secret}-victim`).executeTakeFirstOrThrow()
    ).id
    const asks = [
      `{ getConnectionHistory(userId: ${victim}) { id } }`,
      `{ userByName(username: "${secret}-victim") { id } }`,
      `{ getOnlineSessions(first: 1000) { username } }`,
      `{ getOnlineSessions(userId: ${victim}) { username } }`,
      `{ whoHadIp(ip: "10.250.0.1", at: "2025-06-01T00:00:00Z") { username } }`,
    ]
    for (const query of asks) {
      const response = await fetch(`${base}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${reseller}` },
        body: JSON.stringify({ query }),
      })
      const text = await response.text()
      expect(text, query).not.toContain(`${secret}-victim`)
      expect(text, query).not.toContain(`"${secret}"`)
    }
  })
})
