import { createSocket } from 'node:dgram'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { inject } from 'vitest'
import { createDb, ensureReseller, upsertNasClient, type Db } from '@radstream/db'
import { applyBatch } from '@radstream/sessionizer'
import { listeningApi } from '../../../test/support/api-app'
import { accessToken, newApiClient } from '../../../test/support/api-client'
import { KNOWN_SESSION_PREFIX, startDaePeer, type DaePeer } from '../../../test/support/dae-peer'
import { accountingRecord } from '../../../test/support/records'
import { startTamperingRelay } from '../../../test/support/tampering-relay'

type Json = Record<string, any>

const SECRET = 'dae-test-secret'
/** Retransmissions at 200, 400 and 800 ms: a TIMEOUT is decided 1.4 s after the first send. */
const TIMING = { timeoutMs: 200, attempts: 3, rateLimitPerMinute: 1000 }
const run = Date.now().toString(36)
const u = (name: string) => `${name}-${run}`

// Each NAS of the test is a documentation-range address whose Dynamic Authorization server is
// on loopback: the requests go to 127.0.0.1 only.
const NAS = {
  peer: '198.18.7.10',
  wrongSecret: '198.18.7.11',
  tampered: '198.18.7.12',
  silent: '198.18.7.13',
  withoutDae: '198.18.7.14',
  unregistered: '198.18.7.15',
}

const DISCONNECT = `mutation($id: ID!) { disconnectSession(id: $id) {
  outcome message errorCause { code name } nasAddress nasPort attempts elapsedMs unverifiedResponses
  session { id sessionId stopTime }
} }`
const CHANGE = `mutation($id: ID!, $attributes: SessionChangeInput!) { changeSession(id: $id, attributes: $attributes) {
  outcome errorCause { code name } attempts
} }`

let db: Db
let app: FastifyInstance
let base: string
let peer: DaePeer
let relay: { port: number; stop(): Promise<void> }
const tokens = { admin: '', acme: '', auditor: '' }
let adminClientId = ''

async function graphql(token: string, query: string, variables: Json, at = base) {
  const response = await fetch(`${at}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  })
  return { status: response.status, body: (await response.json()) as Json }
}

let sessionsOpened = 1

/**
 * Opens a session (a Start from `nas`, through the real sessionizer code) and returns its row id.
 * The NAS may name itself otherwise in NAS-IP-Address, as one behind NAT does.
 */
async function openSession(nas: string, sessionId: string, user = u('alice'), nasIpAddress = nas): Promise<string> {
  const start = accountingRecord(
    [
      ['User-Name', user],
      ['Acct-Session-Id', sessionId],
      ['NAS-IP-Address', nasIpAddress],
      // An address of its own: a newer session on the NAS holding it would end this one.
      ['Framed-IP-Address', `10.9.${sessionsOpened >> 8}.${sessionsOpened++ & 255}`],
      ['Acct-Status-Type', 1],
    ],
    { address: nas },
  )
  await db.transaction().execute((tx) => applyBatch(tx, [start]))
  const row = await db
    .selectFrom('sessions')
    .select('id')
    .where('session_id', '=', sessionId)
    .where('username', '=', user)
    .executeTakeFirstOrThrow()
  return row.id
}

/** A UDP port on loopback where nothing listens (bound, read, released). */
async function silentPort(): Promise<number> {
  const socket = createSocket('udp4')
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve))
  const { port } = socket.address()
  await new Promise<void>((resolve) => socket.close(() => resolve()))
  return port
}

function auditEventsOf(sessionRowId: string) {
  return db
    .selectFrom('audit_events')
    .select(['initiator_type', 'initiator_id', 'operation', 'entity_type', 'description', 'fields', 'request_id'])
    .where('entity_type', '=', 'SESSION')
    .where('entity_id', '=', (eb) => eb.selectFrom('sessions').select('session_key').where('id', '=', sessionRowId))
    .where('operation', 'in', ['DISCONNECT', 'CHANGE'])
    .orderBy('chain_seq')
    .execute()
}

beforeAll(async () => {
  db = createDb({ url: inject('databaseUrl'), poolSize: 4 })
  peer = await startDaePeer({ secret: SECRET, port: 23799, wrongSecretPort: 23800 })
  relay = await startTamperingRelay(peer.port)
  const loopback = { secret: SECRET, coaAddress: '127.0.0.1' }
  await upsertNasClient(db, { network: NAS.peer, ...loopback, coaPort: peer.port })
  await upsertNasClient(db, { network: NAS.wrongSecret, ...loopback, coaPort: peer.wrongSecretPort })
  await upsertNasClient(db, { network: NAS.tampered, ...loopback, coaPort: relay.port })
  await upsertNasClient(db, { network: NAS.silent, ...loopback, coaPort: await silentPort() })
  await upsertNasClient(db, { network: NAS.withoutDae, ...loopback, coaPort: null })
  ;({ app, base } = await listeningApi(db, { dynamicAuthorization: TIMING }))
  const admin = await newApiClient(db, ['admin'])
  adminClientId = admin.clientId
  tokens.admin = await accessToken(base, admin)
  const acme = await ensureReseller(db, u('acme'))
  await ensureReseller(db, u('globex'))
  tokens.acme = await accessToken(base, await newApiClient(db, ['reseller'], u('acme')))
  tokens.auditor = await accessToken(base, await newApiClient(db, ['auditor']))
  await openSession(NAS.peer, `${KNOWN_SESSION_PREFIX}acme-${run}`, u('acme-user'))
  await db.updateTable('users').set({ reseller_id: acme.id }).where('username', '=', u('acme-user')).execute()
}, 60_000)

afterAll(async () => {
  await app?.close()
  await relay?.stop()
  await peer?.stop()
  await db?.destroy()
})

describe('disconnectSession and changeSession against FreeRADIUS as the NAS', () => {
  it('should get a Disconnect-ACK for a session the NAS knows, leave the row open and audit request and outcome', async () => {
    const acctSessionId = `${KNOWN_SESSION_PREFIX}ack-${run}`
    const id = await openSession(NAS.peer, acctSessionId, u('alice'), '198.18.9.77')
    const { status, body } = await graphql(tokens.admin, DISCONNECT, { id })
    expect(status, JSON.stringify(body)).toBe(200)
    expect(body.data.disconnectSession).toMatchObject({
      outcome: 'ACK',
      errorCause: null,
      nasAddress: '127.0.0.1',
      nasPort: peer.port,
      attempts: 1,
      unverifiedResponses: 0,
      session: { id, sessionId: acctSessionId, stopTime: null },
    })
    expect(body.data.disconnectSession.message).toMatch(/NAS's Stop will close the session/)

    // What FreeRADIUS received: the attributes by which a NAS finds the session.
    const received = peer
      .output()
      .split(`Received Disconnect-Request`)
      .find((part) => part.includes(acctSessionId))
    expect(received).toBeDefined()
    expect(received).toContain(`User-Name = "${u('alice')}"`)
    // Sent where the accounting came from, naming the NAS as it names itself.
    expect(received).toContain('NAS-IP-Address = 198.18.9.77')
    expect(received).toMatch(/Framed-IP-Address = 10\.9\.\d+\.\d+/)
    expect(received).toMatch(/Event-Timestamp = /)
    expect(received).toMatch(/Message-Authenticator = 0x[0-9a-f]{32}/)

    const events = await auditEventsOf(id)
    expect(events.map((e) => [e.initiator_type, e.initiator_id, e.operation])).toEqual([
      ['API_CLIENT', adminClientId, 'DISCONNECT'],
      ['API_CLIENT', adminClientId, 'DISCONNECT'],
    ])
    expect(events[0]!.request_id).toBe(events[1]!.request_id)
    expect(events[0]!.description).toContain(`sent to 127.0.0.1:${peer.port}`)
    expect(events[1]!.fields).toEqual([{ name: 'outcome', oldValue: null, newValue: 'ACK' }])
  })

  it('should surface the NAK and its Error-Cause for a session the NAS does not know', async () => {
    const id = await openSession(NAS.peer, `gone-${run}`)
    // A row recorded before radstream kept the source: the NAS is found by its NAS-IP-Address.
    await db.updateTable('sessions').set({ nas_source_address: null }).where('id', '=', id).execute()
    const { status, body } = await graphql(tokens.admin, DISCONNECT, { id })
    expect(status).toBe(200)
    expect(body.data.disconnectSession).toMatchObject({
      outcome: 'NAK',
      errorCause: { code: 503, name: 'Session-Context-Not-Found' },
      session: { stopTime: null },
    })
    expect(body.data.disconnectSession.message).toMatch(/503 Session-Context-Not-Found; the session stays open/)
    const events = await auditEventsOf(id)
    expect(events[1]!.fields).toEqual([
      { name: 'outcome', oldValue: null, newValue: 'NAK' },
      { name: 'errorCause', oldValue: null, newValue: '503 Session-Context-Not-Found' },
    ])
  })

  it('should send a CoA-Request with typed and vendor attributes, and get ACK or NAK as the NAS decides', async () => {
    const acctSessionId = `${KNOWN_SESSION_PREFIX}coa-${run}`
    const id = await openSession(NAS.peer, acctSessionId)
    const attributes = {
      sessionTimeout: 3600,
      idleTimeout: 600,
      filterId: 'gold',
      // MikroTik (14988) Mikrotik-Rate-Limit (8) = "10M/10M"
      vendorAttributes: [{ vendorId: 14988, type: 8, value: Buffer.from('10M/10M').toString('hex') }],
    }
    const ack = await graphql(tokens.admin, CHANGE, { id, attributes })
    expect(ack.body.data.changeSession, JSON.stringify(ack.body)).toEqual({
      outcome: 'ACK',
      errorCause: null,
      attempts: 1,
    })
    const received = peer
      .output()
      .split('Received CoA-Request')
      .find((part) => part.includes(acctSessionId))
    expect(received).toContain('Session-Timeout = 3600')
    expect(received).toContain('Idle-Timeout = 600')
    expect(received).toContain('Filter-Id = "gold"')
    expect(received).toContain('Mikrotik-Rate-Limit = "10M/10M"')
    const events = await auditEventsOf(id)
    expect(events[0]!.operation).toBe('CHANGE')
    expect(events[0]!.fields).toEqual(
      expect.arrayContaining([
        { name: 'Session-Timeout', oldValue: null, newValue: '3600' },
        { name: 'Filter-Id', oldValue: null, newValue: 'gold' },
        { name: 'Vendor-Specific 14988:8', oldValue: null, newValue: '31304d2f31304d' },
      ]),
    )

    const unknown = await openSession(NAS.peer, `coa-gone-${run}`)
    const nak = await graphql(tokens.admin, CHANGE, { id: unknown, attributes: { sessionTimeout: 60 } })
    expect(nak.body.data.changeSession).toEqual({
      outcome: 'NAK',
      errorCause: { code: 503, name: 'Session-Context-Not-Found' },
      attempts: 1,
    })
  })

  it('should give up with TIMEOUT in bounded time when no NAS answers', async () => {
    const id = await openSession(NAS.silent, `${KNOWN_SESSION_PREFIX}silent-${run}`)
    const started = Date.now()
    const { body } = await graphql(tokens.admin, DISCONNECT, { id })
    const elapsed = Date.now() - started
    expect(body.data.disconnectSession).toMatchObject({ outcome: 'TIMEOUT', attempts: 3, errorCause: null })
    expect(body.data.disconnectSession.elapsedMs).toBeGreaterThanOrEqual(1400)
    expect(elapsed).toBeLessThan(4000)
    expect((await auditEventsOf(id))[1]!.fields).toEqual([{ name: 'outcome', oldValue: null, newValue: 'TIMEOUT' }])
  })

  it('should time out when the NAS holds another secret: FreeRADIUS drops the request as forged', async () => {
    const acctSessionId = `${KNOWN_SESSION_PREFIX}wrong-secret-${run}`
    const id = await openSession(NAS.wrongSecret, acctSessionId)
    const { body } = await graphql(tokens.admin, DISCONNECT, { id })
    expect(body.data.disconnectSession).toMatchObject({ outcome: 'TIMEOUT', attempts: 3 })
    expect(peer.output()).toMatch(/invalid Message-Authenticator!\s+\(Shared secret is incorrect\.\)/)
  })

  it('should not trust an answer that fails its authenticator, and say so', async () => {
    const id = await openSession(NAS.tampered, `${KNOWN_SESSION_PREFIX}tampered-${run}`)
    const { body } = await graphql(tokens.admin, DISCONNECT, { id })
    expect(body.data.disconnectSession).toMatchObject({ outcome: 'UNVERIFIED', attempts: 3, unverifiedResponses: 3 })
    expect(body.data.disconnectSession.message).toMatch(
      /failed verification with the NAS's secret and were not trusted/,
    )
    expect((await auditEventsOf(id))[1]!.fields).toEqual([{ name: 'outcome', oldValue: null, newValue: 'UNVERIFIED' }])
  })
})

describe('who may disconnect, and what is refused', () => {
  const errorOf = (body: Json) => ({ code: body.errors?.[0]?.extensions?.code, message: body.errors?.[0]?.message })

  it('should let a reseller end its own users’ sessions and show it any other as unknown', async () => {
    const own = await db
      .selectFrom('sessions')
      .select('id')
      .where('username', '=', u('acme-user'))
      .executeTakeFirstOrThrow()
    expect((await graphql(tokens.acme, DISCONNECT, { id: own.id })).body.data.disconnectSession.outcome).toBe('ACK')

    const others = await openSession(NAS.peer, `${KNOWN_SESSION_PREFIX}not-acme-${run}`, u('globex-user'))
    const theirs = await graphql(tokens.acme, DISCONNECT, { id: others })
    const missing = await graphql(tokens.acme, DISCONNECT, { id: '999999999999' })
    expect(theirs.status).toBe(404)
    expect(errorOf(theirs.body)).toEqual({ code: 'SESSION_NOT_FOUND', message: `session ${others}: not found` })
    expect(errorOf(missing.body)).toEqual({ code: 'SESSION_NOT_FOUND', message: 'session 999999999999: not found' })
    expect(await auditEventsOf(others)).toEqual([])
  })

  it('should refuse auditors', async () => {
    const id = await openSession(NAS.peer, `${KNOWN_SESSION_PREFIX}auditor-${run}`)
    const { status, body } = await graphql(tokens.auditor, DISCONNECT, { id })
    expect(status).toBe(403)
    expect(errorOf(body).code).toBe('FORBIDDEN')
    expect(await auditEventsOf(id)).toEqual([])
  })

  it('should answer bad requests with a clear error, never a 500, and send nothing', async () => {
    const stopped = await openSession(NAS.peer, `${KNOWN_SESSION_PREFIX}stopped-${run}`)
    await db.updateTable('sessions').set({ stop_time: new Date() }).where('id', '=', stopped).execute()
    const noDae = await openSession(NAS.withoutDae, `${KNOWN_SESSION_PREFIX}no-dae-${run}`)
    const unregistered = await openSession(NAS.unregistered, `${KNOWN_SESSION_PREFIX}unregistered-${run}`)
    const live = await openSession(NAS.peer, `${KNOWN_SESSION_PREFIX}bad-input-${run}`)

    const cases: [string, Json, number, string, RegExp][] = [
      [DISCONNECT, { id: 'abc' }, 404, 'SESSION_NOT_FOUND', /session abc: not found/],
      [DISCONNECT, { id: stopped }, 409, 'SESSION_ALREADY_STOPPED', /stopped at .*nothing to disconnect/],
      [DISCONNECT, { id: noDae }, 409, 'NAS_WITHOUT_DAE', /takes no Dynamic Authorization requests/],
      [DISCONNECT, { id: unregistered }, 409, 'NAS_WITHOUT_DAE', /no registered NAS covers 198\.18\.7\.15/],
      [CHANGE, { id: live, attributes: {} }, 400, 'BAD_USER_INPUT', /attributes: give at least one/],
      [CHANGE, { id: live, attributes: { sessionTimeout: -1 } }, 400, 'BAD_USER_INPUT', /^sessionTimeout: /],
      [CHANGE, { id: live, attributes: { filterId: 'x'.repeat(254) } }, 400, 'BAD_USER_INPUT', /^filterId: /],
      [
        CHANGE,
        { id: live, attributes: { vendorAttributes: [{ vendorId: 0, type: 1, value: '00' }] } },
        400,
        'BAD_USER_INPUT',
        /^vendorAttributes\[0\]\.vendorId: /,
      ],
      [
        CHANGE,
        { id: live, attributes: { vendorAttributes: [{ vendorId: 9, type: 1, value: 'xyz' }] } },
        400,
        'BAD_USER_INPUT',
        /^vendorAttributes\[0\]\.value: must be hexadecimal/,
      ],
    ]
    for (const [query, variables, status, code, message] of cases) {
      const response = await graphql(tokens.admin, query, variables)
      expect([response.status, errorOf(response.body).code], JSON.stringify(variables)).toEqual([status, code])
      expect(errorOf(response.body).message).toMatch(message)
    }
    for (const id of [stopped, noDae, unregistered, live]) expect(await auditEventsOf(id)).toEqual([])
  })

  it('should rate-limit each client on its own', async () => {
    const limited = await listeningApi(db, { dynamicAuthorization: { ...TIMING, rateLimitPerMinute: 2 } })
    try {
      const first = await accessToken(limited.base, await newApiClient(db, ['admin']))
      const second = await accessToken(limited.base, await newApiClient(db, ['admin']))
      const id = await openSession(NAS.peer, `limited-${run}`)
      const outcomes = []
      for (let i = 0; i < 3; i++) outcomes.push(await graphql(first, DISCONNECT, { id }, limited.base))
      expect(outcomes.map((o) => o.status)).toEqual([200, 200, 429])
      expect(errorOf(outcomes[2]!.body)).toMatchObject({ code: 'RATE_LIMITED' })
      expect(errorOf(outcomes[2]!.body).message).toMatch(/at most 2 .* a minute per client: retry after \d+ s/)
      expect((await graphql(second, DISCONNECT, { id }, limited.base)).status).toBe(200)
    } finally {
      await limited.app.close()
    }
  })

  it('registerNas should set and show the Dynamic Authorization port and address', async () => {
    const register = `mutation($ip: String!, $port: Int, $address: String, $interim: Int) {
      registerNas(ip: $ip, secret: "s", coaPort: $port, coaAddress: $address, interimInterval: $interim) {
        network coaPort coaAddress interimInterval } }`
    const ip = '198.18.8.0/24'
    expect((await graphql(tokens.admin, register, { ip })).body.data.registerNas).toEqual({
      network: ip,
      coaPort: 3799,
      coaAddress: null,
      interimInterval: null,
    })
    expect(
      (await graphql(tokens.admin, register, { ip, port: 1700, address: '127.0.0.1', interim: 300 })).body.data
        .registerNas,
    ).toEqual({
      network: ip,
      coaPort: 1700,
      coaAddress: '127.0.0.1',
      interimInterval: 300,
    })
    expect((await graphql(tokens.admin, register, { ip, port: 0 })).body.data.registerNas).toMatchObject({
      coaPort: null,
    })
    const bad = await graphql(tokens.admin, register, { ip, port: 70000 })
    expect([bad.status, errorOf(bad.body).code]).toEqual([400, 'BAD_USER_INPUT'])
  })
})
