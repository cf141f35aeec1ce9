import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createDb, learntCadences, upsertNasClient, type Db } from '@radstream/db'
import { buildAccountingRequest, type AttributeInput } from '@radstream/radius'
import { closeStaleSessions } from '@radstream/sessionizer'
import { startPipeline, type RunningPipeline } from './support/pipeline'
import { testSettings } from './support/settings'
import { UdpNas } from './support/udp-nas'
import { waitFor } from './support/wait-for'

/**
 * A VPN server as the NAS, as it behaves when its process dies (issue "Sessions a NAS abandons"):
 * its first Interim-Update 10 s after the Start, then every 30 s, no Acct-Interim-Interval, the
 * framed address only from the first Interim-Update on, and no Stop or Accounting-On when it dies.
 * Sent through the collector, Kafka and the sessionizer, with Event-Timestamps of ten minutes ago.
 */
const SECRET = 'abandoned-secret-1'
// A loopback address of this file's own: the learnt cadence is per NAS, and other files send from 127.0.0.1.
const NAS_SOURCE = '127.0.0.31'
const NAS_IP = '198.51.100.131'
const RULES = { interimMultiplier: 3, withoutInterimSeconds: 86_400, minSilenceSeconds: 60 }

describe('sessions a NAS abandons', () => {
  const settings = testSettings()
  const run = Date.now().toString(36)
  const t0 = Math.floor(Date.now() / 1000) - 600
  let pipeline: RunningPipeline
  let db: Db
  let nas: UdpNas
  let identifier = 0

  /** One packet of session `id` (started at `t0 + start`) at `t0 + offset` seconds, answered before the next is sent. */
  async function send(id: string, status: 1 | 2 | 3, offset: number, address?: string, start = 0) {
    const attributes: AttributeInput[] = [
      ['User-Name', `${id}-user`],
      ['Acct-Session-Id', `${id}-${run}`],
      ['Acct-Status-Type', status],
      ['NAS-IP-Address', NAS_IP],
      ['Event-Timestamp', t0 + offset],
      ...(status === 1 ? [] : ([['Acct-Session-Time', offset - start]] as AttributeInput[])),
      ...(address ? ([['Framed-IP-Address', address]] as AttributeInput[]) : []),
    ]
    identifier = (identifier + 1) % 256
    const datagram = buildAccountingRequest({ identifier, secret: Buffer.from(SECRET), attributes })
    const answer = await nas.request(datagram, pipeline.collector.port, { timeoutMs: 10_000, retransmitMs: 1000 })
    expect(answer, `${id} at +${offset}`).toBeDefined()
  }

  const row = (id: string) =>
    db
      .selectFrom('sessions')
      .select(['stop_time', 'stop_time_latest', 'closed_by', 'session_key', 'update_time'])
      .where('session_id', '=', `${id}-${run}`)
      .executeTakeFirst()

  const whoHadIp = async (ip: string, instant: number) => {
    const { body } = await pipeline.graphql<{ data: { whoHadIp: Record<string, unknown>[] } }>(
      'query ($ip: String!, $at: DateTime!) { whoHadIp(ip: $ip, at: $at) { sessionId stopTime stopTimeLatest holdUnconfirmed } }',
      { ip, at: new Date((t0 + instant) * 1000).toISOString() },
    )
    return body.data.whoHadIp
  }

  beforeAll(async () => {
    db = createDb({ url: settings.database.url, poolSize: 2 })
    await upsertNasClient(db, { network: NAS_SOURCE, secret: SECRET, name: 'abandoning vpn' })
    pipeline = await startPipeline(settings)
    nas = await UdpNas.open(NAS_SOURCE)
    // The NAS's live sessions show its cadence: Start, +10 s, then every 30 s for ten minutes.
    for (const id of ['live-1', 'live-2', 'live-3']) {
      await send(id, 1, 0)
      for (let offset = 10; offset <= 580; offset += 30) await send(id, 3, offset, `10.131.0.${id.at(-1)}`)
    }
    // Killed after one Interim-Update: the address came with it, not with the Start.
    await send('silent', 1, 0)
    await send('silent', 3, 10, '10.131.1.1')
    // Killed after three; its address was then given to a new client.
    await send('dead', 1, 0, '10.131.1.2')
    for (const offset of [10, 40, 70]) await send('dead', 3, offset, '10.131.1.2')
    await send('successor', 1, 200, '10.131.1.2')
    for (let offset = 210; offset <= 580; offset += 30) await send('successor', 3, offset, '10.131.1.2', 200)
    await waitFor('every packet in PostgreSQL', async () => {
      const successor = await row('successor')
      const dead = await row('dead')
      return successor?.update_time && dead?.closed_by === 'superseded' ? true : undefined
    })
  })

  afterAll(async () => {
    nas?.close()
    await pipeline?.stop()
    await db?.destroy()
  })

  it('should learn the NAS’s cadence from its sessions and show it', async () => {
    const learnt = (await learntCadences(db)).find((c) => c.nas === NAS_IP)
    expect(learnt).toMatchObject({ seconds: 30, registeredInterval: null, network: `${NAS_SOURCE}/32` })
    expect(learnt!.sessions).toBeGreaterThanOrEqual(3)
    const metrics = await (await fetch(`http://127.0.0.1:${pipeline.sessionizer.metricsPort}/metrics`)).text()
    expect(metrics).toContain(`radstream_sessionizer_nas_cadence_seconds{nas="${NAS_IP}"} 30`)
  })

  it('should close a session silent after one Interim-Update by its NAS’s cadence, at its last-heard time', async () => {
    // Silent for 590 s: past 3 x 30 s, far short of the 24 h a session without a cadence waited.
    await closeStaleSessions(db, RULES)
    const silent = await row('silent')
    expect(silent).toMatchObject({ closed_by: 'stale', stop_time: new Date((t0 + 10) * 1000) })
    for (const id of ['live-1', 'live-2', 'live-3']) expect((await row(id))?.stop_time, id).toBeNull()
  })

  it('should end a superseded session when it was last heard of, its successor’s start beside it', async () => {
    expect(await row('dead')).toMatchObject({
      closed_by: 'superseded',
      stop_time: new Date((t0 + 70) * 1000),
      stop_time_latest: new Date((t0 + 200) * 1000),
    })
  })

  it('should answer whoHadIp in the gap with the dead session, marked unconfirmed', async () => {
    const dead = `dead-${run}`
    expect(await whoHadIp('10.131.1.2', 50)).toEqual([
      expect.objectContaining({ sessionId: dead, holdUnconfirmed: false }),
    ])
    expect(await whoHadIp('10.131.1.2', 120)).toEqual([
      {
        sessionId: dead,
        stopTime: new Date((t0 + 70) * 1000).toISOString().replace('.000Z', 'Z'),
        stopTimeLatest: new Date((t0 + 200) * 1000).toISOString().replace('.000Z', 'Z'),
        holdUnconfirmed: true,
      },
    ])
    expect(await whoHadIp('10.131.1.2', 230)).toEqual([
      expect.objectContaining({ sessionId: `successor-${run}`, holdUnconfirmed: false }),
    ])
  })

  it('should audit an address that arrives after the Start, and leave it out of the started event', async () => {
    const { session_key } = (await row('silent'))!
    const events = await db
      .selectFrom('audit_events')
      .select(['event_key', 'fields'])
      .where('entity_id', '=', session_key)
      .orderBy('chain_seq')
      .execute()
    const started = events.find((e) => e.event_key.startsWith('session.started:'))!
    expect(started.fields).toContainEqual({ name: 'framedIpAddress', oldValue: null, newValue: null })
    const address = events.filter((e) => e.event_key.startsWith('session.address:'))
    expect(address).toHaveLength(1)
    expect(address[0]!.fields).toEqual([{ name: 'framedIpAddress', oldValue: null, newValue: '10.131.1.1' }])
    // A session whose Start carried its address has it in its started event too.
    const dead = (await row('dead'))!
    const deadEvents = await db
      .selectFrom('audit_events')
      .select('fields')
      .where('entity_id', '=', dead.session_key)
      .where('event_key', 'like', 'session.started:%')
      .executeTakeFirstOrThrow()
    expect(deadEvents.fields).toContainEqual({ name: 'framedIpAddress', oldValue: null, newValue: '10.131.1.2' })
  })
})
