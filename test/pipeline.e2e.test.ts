import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createDb, upsertNasClient, type Db } from '@radstream/db'
import { startPipeline, type RunningPipeline } from './support/pipeline'
import { radclient } from './support/radclient'
import { testSettings } from './support/settings'
import { waitFor } from './support/wait-for'

const SECRET = 'e2e-secret-1'

const HISTORY_QUERY = `query getConnectionHistory($userId: Int!) {
  getConnectionHistory(userId: $userId) {
    id sessionId nasIpAddress nasPortId nasPortType startTime stopTime
    connectInfoStart callingStationId terminateCause framedIpAddress
  }
}`

describe('pipeline: radclient -> collector -> Kafka -> sessionizer -> PostgreSQL -> GraphQL', () => {
  const settings = testSettings()
  let pipeline: RunningPipeline
  let db: Db

  beforeAll(async () => {
    db = createDb({ url: settings.database.url, poolSize: 2 })
    await upsertNasClient(db, { network: '127.0.0.1', secret: SECRET, name: 'e2e' })
    pipeline = await startPipeline(settings)
  })

  afterAll(async () => {
    await pipeline?.stop()
    await db?.destroy()
  })

  it('should answer a signed packet it cannot decode, keep it raw and dead-letter it with an audit event', async () => {
    // No Acct-Session-Id: FreeRADIUS records such a packet; unanswered, a NAS would retransmit it for ever.
    const sent = await radclient(
      pipeline.collector.port,
      SECRET,
      ['User-Name = "no-session-id"', 'Acct-Status-Type = Start', 'NAS-IP-Address = 192.0.2.55'].join('\n'),
    )
    expect(sent.answered, sent.output).toBe(true)
    const event = await waitFor('the dead-letter audit event', async () =>
      db
        .selectFrom('audit_events')
        .select(['operation', 'entity_type', 'description'])
        .where('entity_type', '=', 'RECORD')
        .where('description', 'like', '%undecodable Accounting-Request from 127.0.0.1%Acct-Session-Id%')
        .executeTakeFirst(),
    )
    expect(event).toMatchObject({ operation: 'REJECT', entity_type: 'RECORD' })
    expect(await db.selectFrom('sessions').select('id').where('username', '=', 'no-session-id').execute()).toEqual([])
  })

  it('should answer Start and Stop only after recording them, and serve the session over GraphQL', async () => {
    const common = [
      'User-Name = "carol"',
      'Acct-Session-Id = "sess_e2e_0001"',
      'NAS-IP-Address = 192.168.1.100',
      'NAS-Port-Id = "1001"',
      'NAS-Port-Type = Virtual',
      'Calling-Station-Id = "AA:BB:CC:DD:EE:FF"',
      // Not the contract's 10.0.0.50: graphql.test.ts holds it on this NAS, and a newer session
      // holding a session's address ends it (supersession).
      'Framed-IP-Address = 10.0.0.60',
    ]
    const start = await radclient(
      pipeline.collector.port,
      SECRET,
      [...common, 'Acct-Status-Type = Start', 'Connect-Info = "WireGuard"', 'Event-Timestamp = 1705314600'].join('\n'),
    )
    expect(start.answered, start.output).toBe(true)
    const stop = await radclient(
      pipeline.collector.port,
      SECRET,
      [
        ...common,
        'Acct-Status-Type = Stop',
        'Acct-Session-Time = 15300',
        'Acct-Terminate-Cause = User-Request',
        'Event-Timestamp = 1705329900',
      ].join('\n'),
    )
    expect(stop.answered, stop.output).toBe(true)

    await waitFor('the closed session row', async () =>
      db
        .selectFrom('sessions')
        .select('id')
        .where('session_id', '=', 'sess_e2e_0001')
        .where('stop_time', 'is not', null)
        .executeTakeFirst(),
    )
    const user = await pipeline.graphql<{ data: { userByName: { id: number; username: string } } }>(
      'query($u: String!) { userByName(username: $u) { id username } }',
      { u: 'carol' },
    )
    expect(user.status).toBe(200)
    expect(user.body.data.userByName.username).toBe('carol')

    const history = await pipeline.graphql<{ data: { getConnectionHistory: unknown[] } }>(HISTORY_QUERY, {
      userId: user.body.data.userByName.id,
    })
    expect(history.status).toBe(200)
    expect(history.body.data.getConnectionHistory).toEqual([
      {
        id: expect.stringMatching(/^\d+$/),
        sessionId: 'sess_e2e_0001',
        nasIpAddress: '192.168.1.100',
        nasPortId: '1001',
        nasPortType: 'Virtual',
        startTime: '2024-01-15T10:30:00Z',
        stopTime: '2024-01-15T14:45:00Z',
        connectInfoStart: 'WireGuard',
        callingStationId: 'AA:BB:CC:DD:EE:FF',
        terminateCause: 'User-Request',
        framedIpAddress: '10.0.0.60',
      },
    ])
  })

  it('should not answer, nor record, a packet signed with the wrong secret', async () => {
    const before = pipeline.collector.drops.counts.get('bad_authenticator') ?? 0
    const forged = await radclient(
      pipeline.collector.port,
      'not-the-secret',
      [
        'User-Name = "mallory"',
        'Acct-Session-Id = "sess_forged"',
        'Acct-Status-Type = Start',
        'NAS-IP-Address = 192.168.1.100',
      ].join('\n'),
      { retries: 1, timeoutSeconds: 1 },
    )
    expect(forged.answered).toBe(false)
    expect(forged.output).toMatch(/No reply/)
    expect(pipeline.collector.drops.counts.get('bad_authenticator')).toBe(before + 1)

    // A valid packet sent after it is recorded, so the forged one had every chance to land first.
    const marker = await radclient(
      pipeline.collector.port,
      SECRET,
      [
        'User-Name = "marker"',
        'Acct-Session-Id = "sess_marker"',
        'Acct-Status-Type = Start',
        'NAS-IP-Address = 192.168.1.100',
      ].join('\n'),
    )
    expect(marker.answered).toBe(true)
    await waitFor('the marker session', async () =>
      db.selectFrom('sessions').select('id').where('session_id', '=', 'sess_marker').executeTakeFirst(),
    )
    const forgedRows = await db.selectFrom('sessions').select('id').where('session_id', '=', 'sess_forged').execute()
    expect(forgedRows).toEqual([])
    const forgedUser = await db.selectFrom('users').select('id').where('username', '=', 'mallory').execute()
    expect(forgedUser).toEqual([])
  })

  it('should answer an unknown user with the contract 404 body', async () => {
    const response = await pipeline.graphql(HISTORY_QUERY, { userId: 987654 })
    expect(response.status).toBe(404)
    expect(response.body).toEqual({
      errors: [{ message: 'User not found', path: ['getConnectionHistory'], extensions: { code: 'USER_NOT_FOUND' } }],
      data: null,
    })
  })
})
