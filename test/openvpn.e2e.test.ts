import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createDb, upsertNasClient, type Db } from '@radstream/db'
import { startOpenvpnNas, type OpenvpnNas } from './support/openvpn-nas'
import { startPipeline, type RunningPipeline } from './support/pipeline'
import { testSettings } from './support/settings'
import { waitFor } from './support/wait-for'

const SECRET = 'openvpn-e2e-secret'
/** The plugin reads at most four digits of a port number. */
const ACCOUNTING_PORT = 8813
const AUTH_PORT = 8812
const INTERIM_SECONDS = 5

interface SessionRow {
  id: string
  session_id: string
  start_time: Date
  start_time_from_start: boolean
  stop_time: Date | null
  closed_by: string | null
  terminate_cause: string | null
  framed_ip: string | null
  nas_port_id: string | null
  input_octets: string | null
  least_interim_session_time: string | null
  next_interim_session_time: string | null
  update_time: Date | null
}

describe('a real NAS: OpenVPN 2.6 with Debian’s RADIUS plugin, crashed and restarted mid-session', () => {
  const settings = testSettings({ RADIUS_ACCT_PORT: String(ACCOUNTING_PORT) })
  let pipeline: RunningPipeline
  let nas: OpenvpnNas
  let db: Db

  const sessions = async (): Promise<SessionRow[]> =>
    db
      .selectFrom('sessions')
      .select((eb) => [
        eb.cast<string>('sessions.id', 'text').as('id'),
        'session_id',
        'start_time',
        'start_time_from_start',
        'stop_time',
        'closed_by',
        'terminate_cause',
        eb.fn<string | null>('host', ['framed_ip_address']).as('framed_ip'),
        'nas_port_id',
        'input_octets',
        'least_interim_session_time',
        'next_interim_session_time',
        'update_time',
      ])
      .where('nas_ip_address', '=', nas.nasIpAddress)
      .orderBy('start_time')
      .execute() as Promise<SessionRow[]>

  const whoHadIp = async (at: Date) => {
    const { body } = await pipeline.graphql<{ data: { whoHadIp: { sessionId: string; ambiguousAddress: boolean }[] } }>(
      'query($ip: String!, $at: DateTime!) { whoHadIp(ip: $ip, at: $at) { sessionId ambiguousAddress } }',
      { ip: nas.clientAddress, at: at.toISOString() },
    )
    return body.data.whoHadIp
  }

  beforeAll(async () => {
    db = createDb({ url: settings.database.url, poolSize: 2 })
    // The plugin sends from 127.0.0.1; its sessions name the NAS 198.18.99.1.
    await upsertNasClient(db, { network: '127.0.0.1', secret: SECRET, name: 'openvpn' })
    await db.deleteFrom('sessions').where('nas_ip_address', '=', '198.18.99.1').execute()
    pipeline = await startPipeline(settings)
    nas = await startOpenvpnNas({
      accountingPort: ACCOUNTING_PORT,
      authPort: AUTH_PORT,
      secret: SECRET,
      interimIntervalSeconds: INTERIM_SECONDS,
    })
  }, 60_000)

  afterAll(async () => {
    await nas?.stop()
    await pipeline?.stop()
    await db?.destroy()
  })

  it('should keep each session’s truth: its Start’s time, its cadence, its end when a new session takes its address', async () => {
    try {
      await nas.startServer()
      await nas.connectClient()
      await nas.sendTraffic(10)
      // Two Interim-Updates (every 5 s, as the Access-Accept said) teach radstream the cadence.
      const [first] = await waitFor(
        'the first session with two Interim-Updates',
        async () => {
          const rows = await sessions()
          return rows.length === 1 && rows[0]!.next_interim_session_time !== null ? rows : undefined
        },
        30_000,
      )
      expect(first).toMatchObject({
        framed_ip: nas.clientAddress,
        start_time_from_start: true,
        stop_time: null,
      })
      const cadence = Number(first!.next_interim_session_time) - Number(first!.least_interim_session_time)
      expect(Math.abs(cadence - INTERIM_SECONDS), `learnt cadence ${cadence} s`).toBeLessThanOrEqual(1)

      // The server dies; its plugin's helper lives on and keeps reporting the dead session.
      await nas.killServer()
      await nas.startServer()
      const [dead, fresh] = await waitFor(
        'the client back in a second session with the same address',
        async () => {
          const rows = await sessions()
          return rows.length === 2 && rows[1]!.framed_ip === nas.clientAddress ? rows : undefined
        },
        45_000,
      )
      await waitFor(
        'an Interim-Update of the dead session after the new one started',
        async () => {
          const rows = await sessions()
          const old = rows.find((r) => r.session_id === dead!.session_id)!
          return old.update_time! > fresh!.start_time ? true : undefined
        },
        30_000,
      )
      await nas.sendTraffic(10)
      await nas.disconnectClient()
      const rows = await waitFor(
        'the new session stopped by the client leaving',
        async () => {
          const all = await sessions()
          return all[1]?.stop_time ? all : undefined
        },
        30_000,
      )

      // The dead session ends where the new one began, and stays there whatever its helper sends.
      expect(rows[0]).toMatchObject({
        session_id: first!.session_id,
        start_time: first!.start_time,
        closed_by: 'superseded',
        terminate_cause: 'Lost-Service',
        stop_time: fresh!.start_time,
      })
      expect(rows[1]).toMatchObject({ framed_ip: nas.clientAddress, closed_by: 'Stop', start_time_from_start: true })
      expect(BigInt(rows[1]!.input_octets ?? '0')).toBeGreaterThan(0n)

      // One session held the address at every instant.
      const during = new Date((fresh!.start_time.getTime() + rows[1]!.stop_time!.getTime()) / 2)
      expect(await whoHadIp(new Date(fresh!.start_time.getTime() - 1000))).toEqual([
        { sessionId: first!.session_id, ambiguousAddress: false },
      ])
      expect(await whoHadIp(during)).toEqual([{ sessionId: fresh!.session_id, ambiguousAddress: false }])

      const events = await db
        .selectFrom('audit_events')
        .select(['event_key', 'description'])
        .where('entity_name', '=', first!.session_id)
        .where('event_key', 'like', 'session.superseded:%')
        .execute()
      expect(events).toHaveLength(1)
      expect(events[0]!.description).toContain(`session ${fresh!.session_id} on NAS ${nas.nasIpAddress}`)
    } catch (error) {
      console.log(nas.output().slice(-6000))
      throw error
    }
  }, 150_000)
})
