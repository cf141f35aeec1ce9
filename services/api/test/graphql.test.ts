import { spawn } from 'node:child_process'
import type { FastifyInstance } from 'fastify'
import { createSigner } from 'fast-jwt'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { inject } from 'vitest'
import { createLogger } from '@radstream/config'
import { createDb, ensureReseller, notifySessionEvents, type Db } from '@radstream/db'
import { applyBatch } from '@radstream/sessionizer'
import { tokenSigningKey } from '../src/auth/signing-key'
import { listeningApi } from '../../../test/support/api-app'
import { accessToken, newApiClient, type ApiCredentials } from '../../../test/support/api-client'
import { accountingRecord, at } from '../../../test/support/records'

const CONTRACT_USER_ID = 12345
const HISTORY = `query getConnectionHistory($userId: Int!) {
  getConnectionHistory(userId: $userId) {
    id sessionId nasIpAddress nasPortId nasPortType startTime stopTime
    connectInfoStart callingStationId terminateCause framedIpAddress
  }
}`
const NOT_FOUND = {
  errors: [{ message: 'User not found', path: ['getConnectionHistory'], extensions: { code: 'USER_NOT_FOUND' } }],
  data: null,
}

let db: Db
let app: FastifyInstance
let base: string
const tokens: Record<'admin' | 'acme' | 'globex' | 'auditor', string> = { admin: '', acme: '', globex: '', auditor: '' }
let adminClient: ApiCredentials
const run = Date.now().toString(36)
const u = (name: string) => `${name}-${run}`

type Json = Record<string, any>

async function graphql(
  token: string | undefined,
  query: string,
  variables?: Json,
): Promise<{ status: number; body: Json; headers: Headers }> {
  const response = await fetch(`${base}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token !== undefined && { authorization: `Bearer ${token}` }) },
    body: JSON.stringify({ query, variables }),
  })
  return { status: response.status, body: (await response.json()) as Json, headers: response.headers }
}

/** As the sessionizer records a batch: applied in one transaction, its notice sent after the commit. */
async function seed(records: Parameters<typeof applyBatch>[1]) {
  const outcome = await db.transaction().execute((tx) => applyBatch(tx, records))
  await notifySessionEvents(db, outcome.notice)
}

function session(
  user: string,
  sessionId: string,
  status: number,
  extra: [string, string | number][] = [],
  nas = '192.168.1.100',
) {
  return accountingRecord([
    ['User-Name', user],
    ['Acct-Session-Id', sessionId],
    ['NAS-IP-Address', nas],
    ['Acct-Status-Type', status],
    ...extra,
  ])
}

async function userId(username: string): Promise<number> {
  return (await db.selectFrom('users').select('id').where('username', '=', username).executeTakeFirstOrThrow()).id
}

beforeAll(async () => {
  db = createDb({ url: inject('databaseUrl'), poolSize: 4 })
  // The contract's example user id, so that its query and curl call run verbatim.
  await sql`delete from users where id = ${CONTRACT_USER_ID} and not exists (select 1 from sessions where user_id = ${CONTRACT_USER_ID})`.execute(
    db,
  )
  await sql`insert into users (id, username) overriding system value values (${CONTRACT_USER_ID}, ${u('contract')}) on conflict do nothing`.execute(
    db,
  )
  await sql`update users set username = ${u('contract')} where id = ${CONTRACT_USER_ID}`.execute(db)
  // A NAS repeats a session's identifying attributes in every packet (they make its key).
  const older: [string, string | number][] = [
    ['NAS-Port-Id', '1002'],
    ['NAS-Port-Type', 5],
    ['Calling-Station-Id', 'AA:BB:CC:DD:EE:FF'],
    ['Framed-IP-Address', '10.0.0.51'],
  ]
  const newer: [string, string | number][] = [
    ['NAS-Port-Id', '1001'],
    ['NAS-Port-Type', 5],
    ['Calling-Station-Id', 'AA:BB:CC:DD:EE:FF'],
    ['Framed-IP-Address', '10.0.0.50'],
  ]
  await seed([
    session(
      u('contract'),
      'sess_xyz789ghi012',
      1,
      [...older, ['Event-Timestamp', at('2024-01-14T08:00:00Z')], ['Connect-Info', 'OpenConnect']],
      '192.168.1.101',
    ),
    session(
      u('contract'),
      'sess_xyz789ghi012',
      2,
      [
        ...older,
        ['Event-Timestamp', at('2024-01-14T18:30:00Z')],
        ['Acct-Terminate-Cause', 5],
        ['Acct-Session-Time', 37800],
      ],
      '192.168.1.101',
    ),
    session(u('contract'), 'sess_abc123def456', 1, [
      ...newer,
      ['Event-Timestamp', at('2024-01-15T10:30:00Z')],
      ['Connect-Info', 'WireGuard'],
    ]),
    session(u('contract'), 'sess_abc123def456', 2, [
      ...newer,
      ['Event-Timestamp', at('2024-01-15T14:45:00Z')],
      ['Acct-Terminate-Cause', 1],
      ['Acct-Session-Time', 15300],
    ]),
  ])
  const acme = await ensureReseller(db, u('acme'))
  const globex = await ensureReseller(db, u('globex'))
  await seed([
    session(u('alice'), 'acme-1', 1, [['Event-Timestamp', at('2024-03-01T00:00:00Z')]]),
    session(u('bob'), 'globex-1', 1, [['Event-Timestamp', at('2024-03-01T00:00:00Z')]]),
  ])
  await db.updateTable('users').set({ reseller_id: acme.id }).where('username', '=', u('alice')).execute()
  await db.updateTable('users').set({ reseller_id: globex.id }).where('username', '=', u('bob')).execute()

  ;({ app, base } = await listeningApi(db, {
    databaseUrl: inject('databaseUrl'),
    logger: createLogger('warn', 'test'),
  }))
  adminClient = await newApiClient(db, ['admin'])
  tokens.admin = await accessToken(base, adminClient)
  tokens.acme = await accessToken(base, await newApiClient(db, ['reseller'], u('acme')))
  tokens.globex = await accessToken(base, await newApiClient(db, ['reseller'], u('globex')))
  tokens.auditor = await accessToken(base, await newApiClient(db, ['auditor']))
})

afterAll(async () => {
  await app?.close()
  await db?.destroy()
})

describe('getConnectionHistory: the contract', () => {
  it('should answer the documented query with every field, typed as documented, newest first', async () => {
    const { status, body } = await graphql(tokens.admin, HISTORY, { userId: CONTRACT_USER_ID })
    expect(status).toBe(200)
    const [newest, older] = body.data.getConnectionHistory
    expect(Object.keys(newest)).toEqual([
      'id',
      'sessionId',
      'nasIpAddress',
      'nasPortId',
      'nasPortType',
      'startTime',
      'stopTime',
      'connectInfoStart',
      'callingStationId',
      'terminateCause',
      'framedIpAddress',
    ])
    expect(newest).toEqual({
      id: expect.stringMatching(/^\d+$/),
      sessionId: 'sess_abc123def456',
      nasIpAddress: '192.168.1.100',
      nasPortId: '1001',
      nasPortType: 'Virtual',
      startTime: '2024-01-15T10:30:00Z',
      stopTime: '2024-01-15T14:45:00Z',
      connectInfoStart: 'WireGuard',
      callingStationId: 'AA:BB:CC:DD:EE:FF',
      terminateCause: 'User-Request',
      framedIpAddress: '10.0.0.50',
    })
    expect(older).toMatchObject({
      sessionId: 'sess_xyz789ghi012',
      nasIpAddress: '192.168.1.101',
      connectInfoStart: 'OpenConnect',
      terminateCause: 'Session-Timeout',
      stopTime: '2024-01-14T18:30:00Z',
    })
  })

  it('should read the fields asked for through aliases, fragments and inline fragments', async () => {
    const { status, body } = await graphql(
      tokens.admin,
      `
        query ($userId: Int!) {
          getConnectionHistory(userId: $userId, first: 1) {
            where: nasIpAddress
            ...Addressing
            ... on ConnectionRecord {
              seconds: sessionTime
              cursor
            }
          }
        }
        fragment Addressing on ConnectionRecord {
          framedIpAddress
          callingStationId
        }
      `,
      { userId: CONTRACT_USER_ID },
    )
    expect(status).toBe(200)
    expect(body.data.getConnectionHistory).toEqual([
      {
        where: '192.168.1.100',
        framedIpAddress: '10.0.0.50',
        callingStationId: 'AA:BB:CC:DD:EE:FF',
        seconds: '15300',
        cursor: expect.any(String),
      },
    ])
  })

  it('should answer the documented curl call verbatim (our host, a real token)', async () => {
    const args = [
      '-s',
      '-X',
      'POST',
      `${base}/graphql`,
      '-H',
      'Content-Type: application/json',
      '-H',
      `Authorization: Bearer ${tokens.admin}`,
      '-d',
      `{
    "query": "query getConnectionHistory($userId: Int!) { getConnectionHistory(userId: $userId) { id sessionId nasIpAddress startTime stopTime terminateCause framedIpAddress } }",
    "variables": {
      "userId": 12345
    }
  }`,
    ]
    const output = await new Promise<string>((resolve, reject) => {
      const child = spawn('curl', args)
      let out = ''
      child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()))
      child.on('error', reject)
      child.on('close', () => resolve(out))
    })
    const body = JSON.parse(output)
    expect(body.data.getConnectionHistory).toHaveLength(2)
    expect(Object.keys(body.data.getConnectionHistory[0])).toEqual([
      'id',
      'sessionId',
      'nasIpAddress',
      'startTime',
      'stopTime',
      'terminateCause',
      'framedIpAddress',
    ])
    expect(body.data.getConnectionHistory[0].framedIpAddress).toBe('10.0.0.50')
  })

  it('should answer an unknown user with HTTP 404 and exactly the documented body', async () => {
    const { status, body } = await graphql(tokens.admin, HISTORY, { userId: 999_999_999 })
    expect(status).toBe(404)
    expect(body).toEqual(NOT_FOUND)
  })

  it('should page with first and after, and refuse a page larger than 1000', async () => {
    const page = `query($id: Int!, $after: String) { getConnectionHistory(userId: $id, first: 1, after: $after) { sessionId cursor } }`
    const first = await graphql(tokens.admin, page, { id: CONTRACT_USER_ID })
    expect(first.body.data.getConnectionHistory.map((r: Json) => r.sessionId)).toEqual(['sess_abc123def456'])
    const second = await graphql(tokens.admin, page, {
      id: CONTRACT_USER_ID,
      after: first.body.data.getConnectionHistory[0].cursor,
    })
    expect(second.body.data.getConnectionHistory.map((r: Json) => r.sessionId)).toEqual(['sess_xyz789ghi012'])
    const third = await graphql(tokens.admin, page, {
      id: CONTRACT_USER_ID,
      after: second.body.data.getConnectionHistory[0].cursor,
    })
    expect(third.body.data.getConnectionHistory).toEqual([])

    const tooBig = await graphql(
      tokens.admin,
      `{ getConnectionHistory(userId: ${CONTRACT_USER_ID}, first: 1001) { id } }`,
    )
    expect(tooBig.status).toBe(400)
    expect(tooBig.body.errors[0].extensions.code).toBe('BAD_USER_INPUT')
    const badCursor = await graphql(
      tokens.admin,
      `{ getConnectionHistory(userId: ${CONTRACT_USER_ID}, after: "not-a-cursor") { id } }`,
    )
    expect(badCursor.status).toBe(400)
    expect(badCursor.body.errors[0].extensions.code).toBe('BAD_USER_INPUT')
  })

  it('should bound the start time with from (inclusive) and to (exclusive)', async () => {
    const { body } = await graphql(
      tokens.admin,
      `{ getConnectionHistory(userId: ${CONTRACT_USER_ID}, from: "2024-01-15T00:00:00Z", to: "2024-01-16T00:00:00Z") { sessionId } }`,
    )
    expect(body.data.getConnectionHistory).toEqual([{ sessionId: 'sess_abc123def456' }])
  })
})

describe('authentication', () => {
  const query = `{ userByName(username: "${u('contract')}") { id } }`

  async function expect401(token: string | undefined, header?: string) {
    const response = await fetch(`${base}/graphql`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(header ? { authorization: header } : token !== undefined ? { authorization: `Bearer ${token}` } : {}),
      },
      body: JSON.stringify({ query }),
    })
    expect(response.status).toBe(401)
    expect(response.headers.get('www-authenticate')).toMatch(/^Bearer realm="radstream"/)
    const body = (await response.json()) as Json
    expect(body.errors[0].extensions.code).toBe('UNAUTHENTICATED')
    expect(body.data).toBeNull()
  }

  it('should refuse a request without a token, or with a malformed one', async () => {
    await expect401(undefined)
    await expect401(undefined, 'Basic abc')
    await expect401('not.a.jwt')
  })

  it('should refuse a token with a forged signature', async () => {
    const forged = createSigner({
      key: 'someone-elses-key',
      algorithm: 'HS256',
      iss: 'radstream',
      aud: 'radstream-api',
      expiresIn: 60_000,
    })({ sub: adminClient.clientId, scope: 'admin' })
    await expect401(forged)
  })

  it('should refuse a token with alg none', async () => {
    const header = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')
    const payload = Buffer.from(
      JSON.stringify({
        sub: adminClient.clientId,
        scope: 'admin',
        iss: 'radstream',
        aud: 'radstream-api',
        exp: Math.floor(Date.now() / 1000) + 600,
      }),
    ).toString('base64url')
    await expect401(`${header}.${payload}.`)
  })

  it('should refuse an expired token', async () => {
    const key = await tokenSigningKey(db, undefined)
    const expired = createSigner({ key, algorithm: 'HS256', iss: 'radstream', aud: 'radstream-api' })({
      sub: adminClient.clientId,
      scope: 'admin',
      iat: Math.floor(Date.now() / 1000) - 7200,
      exp: Math.floor(Date.now() / 1000) - 3600,
    })
    await expect401(expired)
  })

  it('should answer 403 to a valid token without the needed scope', async () => {
    const { status, body, headers } = await graphql(tokens.auditor, query)
    expect(status).toBe(403)
    expect(headers.get('www-authenticate')).toMatch(/insufficient_scope/)
    expect(body.errors[0].extensions.code).toBe('FORBIDDEN')
  })

  it('should issue tokens for form, JSON and Basic credentials, and refuse a wrong secret', async () => {
    const form = await fetch(`${base}/api/v1/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `grant_type=client_credentials&client_id=${adminClient.clientId}&client_secret=${adminClient.clientSecret}`,
    })
    const issued = (await form.json()) as Json
    expect(issued).toEqual({ access_token: expect.any(String), token_type: 'bearer', expires_in: 3600, scope: 'admin' })
    const json = await fetch(`${base}/api/v1/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        grant_type: 'client_credentials',
        client_id: adminClient.clientId,
        client_secret: adminClient.clientSecret,
      }),
    })
    expect(json.status).toBe(200)
    const basic = await fetch(`${base}/api/v1/oauth/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${adminClient.clientId}:${adminClient.clientSecret}`).toString('base64')}`,
      },
      body: 'grant_type=client_credentials',
    })
    expect(basic.status).toBe(200)
    const wrong = await fetch(`${base}/api/v1/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        grant_type: 'client_credentials',
        client_id: adminClient.clientId,
        client_secret: 'wrong',
      }),
    })
    expect(wrong.status).toBe(401)
    expect(await wrong.json()).toMatchObject({ error: 'invalid_client' })
    // Credentials in the body: no Basic challenge, which would open a browser's password dialog.
    expect(wrong.headers.get('www-authenticate')).toBeNull()
    const wrongBasic = await fetch(`${base}/api/v1/oauth/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${adminClient.clientId}:wrong`).toString('base64')}`,
      },
      body: 'grant_type=client_credentials',
    })
    expect(wrongBasic.status).toBe(401)
    expect(wrongBasic.headers.get('www-authenticate')).toBe('Basic realm="radstream"')
    const grant = await fetch(`${base}/api/v1/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ grant_type: 'password' }),
    })
    expect(grant.status).toBe(400)
    expect(await grant.json()).toMatchObject({ error: 'unsupported_grant_type' })
  })
})

describe('reseller isolation', () => {
  it("should answer another reseller's user exactly like an unknown user", async () => {
    const theirs = await graphql(tokens.acme, HISTORY, { userId: await userId(u('bob')) })
    const unknown = await graphql(tokens.acme, HISTORY, { userId: 999_999_998 })
    expect(theirs.status).toBe(404)
    expect(theirs.body).toEqual(NOT_FOUND)
    expect(unknown.body).toEqual(theirs.body)
    const own = await graphql(tokens.acme, HISTORY, { userId: await userId(u('alice')) })
    expect(own.status).toBe(200)
    expect(own.body.data.getConnectionHistory.map((r: Json) => r.sessionId)).toEqual(['acme-1'])
  })

  it('should hide other resellers from userByName, getOnlineSessions and whoHadIp', async () => {
    expect(
      (await graphql(tokens.acme, `{ userByName(username: "${u('bob')}") { id } }`)).body.data.userByName,
    ).toBeNull()
    const online = await graphql(
      tokens.acme,
      `
        {
          getOnlineSessions(first: 1000) {
            username
          }
        }
      `,
    )
    expect(online.body.data.getOnlineSessions.map((s: Json) => s.username)).toEqual([u('alice')])
  })

  it('should refuse admin mutations to a reseller', async () => {
    const { status, body } = await graphql(
      tokens.acme,
      `
        mutation {
          createReseller(name: "x") {
            id
          }
        }
      `,
    )
    expect(status).toBe(403)
    expect(body.errors[0].extensions.code).toBe('FORBIDDEN')
  })
})

describe('whoHadIp and online sessions', () => {
  beforeAll(async () => {
    await seed([
      // 10.77.0.1: one closed session 09:00-10:00, then another open since 10:30.
      session(
        u('ip-a'),
        'ip-1',
        1,
        [
          ['Event-Timestamp', at('2024-05-01T09:00:00Z')],
          ['Framed-IP-Address', '10.77.0.1'],
        ],
        '192.0.2.50',
      ),
      session(
        u('ip-a'),
        'ip-1',
        2,
        [
          ['Event-Timestamp', at('2024-05-01T10:00:00Z')],
          ['Framed-IP-Address', '10.77.0.1'],
          ['Acct-Session-Time', 3600],
        ],
        '192.0.2.50',
      ),
      session(
        u('ip-b'),
        'ip-2',
        1,
        [
          ['Event-Timestamp', at('2024-05-01T10:30:00Z')],
          ['Framed-IP-Address', '10.77.0.1'],
        ],
        '192.0.2.50',
      ),
      // IPv6: an address and a delegated prefix.
      session(
        u('ip-c'),
        'ip-3',
        1,
        [
          ['Event-Timestamp', at('2024-05-01T09:00:00Z')],
          ['Framed-IPv6-Address', '2001:db8:77::5'],
          ['Delegated-IPv6-Prefix', '2001:db8:7700::/48'],
        ],
        '192.0.2.50',
      ),
    ])
  })

  const who = async (ip: string, atTime: string) =>
    (
      await graphql(
        tokens.admin,
        `
          query ($ip: String!, $at: DateTime!) {
            whoHadIp(ip: $ip, at: $at) {
              sessionId
            }
          }
        `,
        { ip, at: atTime },
      )
    ).body.data.whoHadIp.map((r: Json) => r.sessionId)

  it('should find the session that held an IPv4 address at an instant, closed or still open', async () => {
    expect(await who('10.77.0.1', '2024-05-01T09:30:00Z')).toEqual(['ip-1'])
    expect(await who('10.77.0.1', '2024-05-01T10:15:00Z')).toEqual([])
    expect(await who('10.77.0.1', '2026-01-01T00:00:00Z')).toEqual(['ip-2'])
    expect(await who('10.77.0.1', '2024-05-01T08:59:59Z')).toEqual([])
  })

  it('should find IPv6 holders by address and by delegated prefix', async () => {
    expect(await who('2001:db8:77::5', '2024-05-01T12:00:00Z')).toEqual(['ip-3'])
    expect(await who('2001:db8:7700:42::1', '2024-05-01T12:00:00Z')).toEqual(['ip-3'])
    expect(await who('2001:db8:7701::1', '2024-05-01T12:00:00Z')).toEqual([])
  })

  it('should refuse an address that is not one', async () => {
    const { status, body } = await graphql(
      tokens.admin,
      `
        {
          whoHadIp(ip: "10.0.0.999", at: "2024-05-01T12:00:00Z") {
            id
          }
        }
      `,
    )
    expect(status).toBe(400)
    expect(body.errors[0].extensions.code).toBe('BAD_USER_INPUT')
  })

  it('should list open sessions of a NAS, and none after its Accounting-On', async () => {
    const online = async () =>
      (
        await graphql(
          tokens.admin,
          `
            {
              getOnlineSessions(nasIpAddress: "192.0.2.50") {
                sessionId
              }
            }
          `,
        )
      ).body.data.getOnlineSessions.map((r: Json) => r.sessionId)
    expect((await online()).sort()).toEqual(['ip-2', 'ip-3'])
    await seed([
      accountingRecord([
        ['NAS-IP-Address', '192.0.2.50'],
        ['Acct-Status-Type', 7],
        ['Event-Timestamp', at('2024-06-01T00:00:00Z')],
      ]),
    ])
    expect(await online()).toEqual([])
  })
})

describe('admin mutations', () => {
  it('should register a NAS, assign a realm, and audit each change with the client as initiator', async () => {
    const realm = `${run}.example`
    await seed([session(`carol@${realm}`, 'realm-1', 1, [['Event-Timestamp', at('2024-07-01T00:00:00Z')]])])
    const nas = await graphql(
      tokens.admin,
      `
        mutation {
          registerNas(ip: "203.0.113.0/28", secret: "s3", name: "pop") {
            network
            name
          }
        }
      `,
    )
    expect(nas.body.data.registerNas).toEqual({ network: '203.0.113.0/28', name: 'pop' })
    const assigned = await graphql(
      tokens.admin,
      `mutation { assignRealmToReseller(realm: "${realm}", reseller: "${u('acme')}") { realm usersAssigned } }`,
    )
    expect(assigned.body.data.assignRealmToReseller).toEqual({ realm, usersAssigned: 1 })
    expect(
      (await graphql(tokens.acme, `{ userByName(username: "carol@${realm}") { username reseller } }`)).body.data
        .userByName,
    ).toEqual({
      username: `carol@${realm}`,
      reseller: u('acme'),
    })
    const events = await db
      .selectFrom('audit_events')
      .select(['initiator_type', 'initiator_id', 'entity_type', 'request_id', 'description'])
      .where('initiator_id', '=', adminClient.clientId)
      .orderBy('id')
      .execute()
    expect(events.map((e) => e.entity_type)).toEqual(['NAS', 'RESELLER'])
    expect(events.every((e) => e.initiator_type === 'API_CLIENT' && /^[0-9a-f-]{36}$/.test(e.request_id))).toBe(true)
    expect(events[0]!.description).not.toContain('s3')
    expect(
      (
        await graphql(
          tokens.admin,
          `
            mutation {
              removeNas(ip: "203.0.113.0/28")
            }
          `,
        )
      ).body.data.removeNas,
    ).toBe(true)
  })
})

describe('hardening', () => {
  it('should refuse queries deeper than the limit and wider than the cap, with 400 and a code', async () => {
    const deep = await graphql(
      tokens.admin,
      `{ a: userByName(username: "x") { id } ${'b: __schema { types { fields { type { ofType { ofType { ofType { ofType { ofType { name } } } } } } } } }'} }`,
    )
    expect(deep.status).toBe(400)
    const wide = await graphql(
      tokens.admin,
      `{ ${Array.from({ length: 301 }, (_, i) => `f${i}: __typename`).join(' ')} }`,
    )
    expect(wide.status).toBe(400)
    expect(wide.body.errors[0].extensions.code).toBe('QUERY_TOO_COMPLEX')
  })

  it('should answer malformed GraphQL and JSON with 400, never 500', async () => {
    expect((await graphql(tokens.admin, '{ getConnectionHistory(userId: "x") { id } }')).status).toBe(400)
    expect((await graphql(tokens.admin, '{ nope }')).status).toBe(400)
    const badJson = await fetch(`${base}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens.admin}` },
      body: '{"query": ',
    })
    expect(badJson.status).toBe(400)
  })
})

describe('sessionEvents subscription', () => {
  /** A graphql-transport-ws client: resolves once subscribed; collects every `next` payload. */
  async function subscribe(token: string, query: string) {
    const { WebSocket } = await import('ws')
    const socket = new WebSocket(`${base.replace('http', 'ws')}/graphql`, 'graphql-transport-ws')
    const received: Json[] = []
    const closed = new Promise<number>((resolve) => socket.on('close', (code) => resolve(code)))
    const acked = new Promise<boolean>((resolve) => {
      socket.on('message', (data) => {
        const message = JSON.parse(data.toString()) as Json
        if (message.type === 'connection_ack') resolve(true)
        if (message.type === 'next') received.push(message.payload.data.sessionEvents)
      })
      socket.on('close', () => resolve(false))
      socket.on('error', () => resolve(false))
    })
    socket.on('open', () =>
      socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } })),
    )
    const ok = await acked
    if (ok) socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query } }))
    await new Promise((resolve) => setTimeout(resolve, 200))
    return { ok, received, closed, close: () => socket.close() }
  }

  it('should push session starts and stops once recorded, only of the subscriber’s reseller', async () => {
    const query = 'subscription { sessionEvents { type session { sessionId username } } }'
    const admin = await subscribe(tokens.admin, query)
    const acme = await subscribe(tokens.acme, query)
    expect(admin.ok && acme.ok).toBe(true)
    await seed([
      session(u('alice'), 'live-1', 1, [['Event-Timestamp', at('2024-08-01T00:00:00Z')]]),
      session(u('bob'), 'live-2', 1, [['Event-Timestamp', at('2024-08-01T00:00:00Z')]]),
    ])
    await seed([
      session(u('alice'), 'live-1', 2, [
        ['Event-Timestamp', at('2024-08-01T01:00:00Z')],
        ['Acct-Terminate-Cause', 1],
      ]),
    ])
    const deadline = Date.now() + 5000
    while (admin.received.length < 3 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50))
    await new Promise((resolve) => setTimeout(resolve, 200))
    admin.close()
    acme.close()
    const seen = (events: Json[]) => events.map((e) => `${e.type} ${e.session.sessionId}`).sort()
    expect(seen(admin.received)).toEqual(['STARTED live-1', 'STARTED live-2', 'STOPPED live-1'])
    expect(seen(acme.received)).toEqual(['STARTED live-1', 'STOPPED live-1'])
  })

  it('should refuse a subscription without a valid token', async () => {
    const refused = await subscribe('forged', 'subscription { sessionEvents { type } }')
    expect(refused.ok).toBe(false)
  })
})
