import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createDb, upsertNasClient, type Db } from '@radstream/db'
import { accessToken, newApiClient } from './support/api-client'
import { runCli } from './support/cli'
import { KNOWN_SESSION_PREFIX, startDaePeer, type DaePeer } from './support/dae-peer'
import { startPipeline, type RunningPipeline } from './support/pipeline'
import { radclient } from './support/radclient'
import { testSettings } from './support/settings'
import { waitFor } from './support/wait-for'

const SECRET = 'disconnect-e2e-secret'
const run = Date.now().toString(36)

const DISCONNECT = `mutation($id: ID!) { disconnectSession(id: $id) { outcome message session { id stopTime } } }`

describe('disconnect, end to end: radclient Start -> disconnectSession -> FreeRADIUS ACK -> Stop', () => {
  const settings = testSettings({ DAE_TIMEOUT_MS: '200' })
  let pipeline: RunningPipeline
  let peer: DaePeer
  let db: Db

  /** Sends a Start (or Stop) as the NAS at 127.0.0.1 would, and returns radclient's verdict. */
  const account = (sessionId: string, user: string, lines: string[]) =>
    radclient(
      pipeline.collector.port,
      SECRET,
      [
        `User-Name = "${user}"`,
        `Acct-Session-Id = "${sessionId}"`,
        'NAS-IP-Address = 127.0.0.1',
        'Framed-IP-Address = 10.20.0.9',
        ...lines,
      ].join('\n'),
    )

  async function openSession(sessionId: string, user: string): Promise<string> {
    const start = await account(sessionId, user, ['Acct-Status-Type = Start'])
    expect(start.answered, start.output).toBe(true)
    const row = await waitFor('the Start in PostgreSQL', async () =>
      db.selectFrom('sessions').select('id').where('session_id', '=', sessionId).executeTakeFirst(),
    )
    return row.id
  }

  beforeAll(async () => {
    db = createDb({ url: settings.database.url, poolSize: 2 })
    peer = await startDaePeer({ secret: SECRET, port: 23801, wrongSecretPort: 23802 })
    // The NAS is 127.0.0.1 itself: its Dynamic Authorization server is at its own address.
    await upsertNasClient(db, { network: '127.0.0.1', secret: SECRET, name: 'dae-e2e', coaPort: peer.port })
    pipeline = await startPipeline(settings)
  }, 60_000)

  afterAll(async () => {
    await pipeline?.stop()
    await peer?.stop()
    await db?.destroy()
  })

  it('one GraphQL call ends the session at the NAS; the NAS’s Stop closes the row; the audit log shows both', async () => {
    const sessionId = `${KNOWN_SESSION_PREFIX}e2e-${run}`
    const started = new Date(Date.now() - 1000)
    const id = await openSession(sessionId, 'dave')

    const response = await pipeline.graphql<{ data: { disconnectSession: Record<string, any> } }>(DISCONNECT, { id })
    expect(response.status).toBe(200)
    expect(response.body.data.disconnectSession).toMatchObject({ outcome: 'ACK', session: { id, stopTime: null } })
    expect(peer.output()).toContain(`Acct-Session-Id = "${sessionId}"`)

    // The NAS ends the session and says so, as a NAS does after a Disconnect-ACK.
    const stop = await account(sessionId, 'dave', [
      'Acct-Status-Type = Stop',
      'Acct-Session-Time = 42',
      'Acct-Terminate-Cause = Admin-Reset',
    ])
    expect(stop.answered, stop.output).toBe(true)
    const closed = await waitFor('the Stop in PostgreSQL', async () =>
      db
        .selectFrom('sessions')
        .select(['terminate_cause', 'closed_by'])
        .where('id', '=', id)
        .where('stop_time', 'is not', null)
        .executeTakeFirst(),
    )
    expect(closed).toEqual({ terminate_cause: 'Admin-Reset', closed_by: 'Stop' })

    const auditor = await accessToken(`http://127.0.0.1:${pipeline.api.port}`, await newApiClient(db, ['auditor']))
    const events = await waitFor('the audit events of the session', async () => {
      const query = new URLSearchParams({ startDate: started.toISOString(), size: '100' })
      const page = await fetch(`http://127.0.0.1:${pipeline.api.port}/api/v1/audit-log?${query}`, {
        headers: { authorization: `Bearer ${auditor}` },
      })
      const { auditLogs } = (await page.json()) as { auditLogs: Record<string, any>[] }
      const mine = auditLogs.filter((e) => e.entityType === 'SESSION' && e.entityName === sessionId)
      return mine.some((e) => e.description.includes('stopped')) ? mine : undefined
    })
    // One entity from start to stop, whoever wrote about it: the user, the API client, radstream.
    expect(new Set(events.map((e) => e.entityId)).size).toBe(1)
    expect(events.map((e) => [e.initiatorType, e.operation])).toEqual([
      ['USER', 'CREATE'],
      ['API_CLIENT', 'DISCONNECT'],
      ['API_CLIENT', 'DISCONNECT'],
      ['SYSTEM', 'UPDATE'],
    ])
    expect(events[1]!.description).toMatch(/Disconnect-Request for session .* sent to 127\.0\.0\.1:23801/)
    expect(events[2]!.fields).toEqual([{ name: 'outcome', oldValue: null, newValue: 'ACK' }])
    expect(events[3]!.fields).toEqual(
      expect.arrayContaining([expect.objectContaining({ name: 'terminateCause', newValue: 'Admin-Reset' })]),
    )
  })

  it('one CLI command does the same, with the operator as initiator, and fails loudly on a NAK', async () => {
    const id = await openSession(`${KNOWN_SESSION_PREFIX}cli-${run}`, 'erin')
    const env = { DAE_TIMEOUT_MS: '200' }
    const acked = await runCli(['session', 'disconnect', id], env)
    expect(acked.code, acked.stderr).toBe(0)
    expect(JSON.parse(acked.stdout)).toMatchObject({
      session: id,
      outcome: 'ACK',
      nas: { address: '127.0.0.1', port: peer.port },
    })
    const initiators = await db
      .selectFrom('audit_events')
      .select(['initiator_type', 'initiator_id'])
      .where('entity_name', '=', `${KNOWN_SESSION_PREFIX}cli-${run}`)
      .where('operation', '=', 'DISCONNECT')
      .execute()
    expect(initiators).toHaveLength(2)
    expect(initiators[0]).toMatchObject({ initiator_type: 'CLI', initiator_id: expect.stringMatching(/^.+@.+$/) })

    const unknownToNas = await openSession(`gone-cli-${run}`, 'erin')
    const naked = await runCli(['session', 'change', unknownToNas, '--session-timeout', '60'], env)
    expect(naked.code).toBe(3)
    expect(JSON.parse(naked.stdout)).toMatchObject({
      outcome: 'NAK',
      errorCause: { code: 503, name: 'Session-Context-Not-Found' },
    })
    expect(naked.stderr).toMatch(/NAK from 127\.0\.0\.1:23801, Error-Cause 503 Session-Context-Not-Found/)

    const missing = await runCli(['session', 'disconnect', '999999999999'], env)
    expect(missing.code).toBe(1)
    expect(missing.stderr).toBe('radstream session: session 999999999999: not found\n')
  })
})
