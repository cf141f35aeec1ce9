import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { inject } from 'vitest'
import { createDb, serviceRoleUrl, type Db } from '@radstream/db'
import type { AccountingRecord } from '@radstream/events'
import {
  applyBatch,
  archiveSealedSessions,
  closeStaleSessions,
  manageMonthPartitions,
  manageReportBuckets,
} from '../src'
import { accountingRecord, at } from '../../../test/support/records'
import { scratchDatabase } from '../../../test/support/scratch-database'

let db: Db
beforeAll(() => {
  db = createDb({ url: inject('databaseUrl'), poolSize: 2 })
})
afterAll(async () => db.destroy())

const NAS = '192.0.2.10'

function packet(
  sessionId: string,
  status: number,
  extra: [string, string | number][] = [],
  nas = NAS,
): AccountingRecord {
  return accountingRecord([
    ['User-Name', `user-${sessionId}`],
    ...(sessionId ? [['Acct-Session-Id', sessionId] as [string, string]] : []),
    ['NAS-IP-Address', nas],
    ['Acct-Status-Type', status],
    ...extra,
  ])
}

/**
 * A framed address of the session's own: sessions of one NAS at one time that shared one would
 * supersede each other (a NAS gives an address to one session at a time).
 */
const addresses = new Map<string, string>()
function addressOf(sessionId: string): string {
  if (!addresses.has(sessionId)) addresses.set(sessionId, `10.1.${addresses.size >> 8}.${addresses.size & 255}`)
  return addresses.get(sessionId)!
}

/** Start 10:00, Interim 10:10, Stop 10:20 (Session-Timeout), with 64-bit counters. */
function lifecycle(sessionId: string, nas = NAS): AccountingRecord[] {
  return [
    packet(
      sessionId,
      1,
      [
        ['Event-Timestamp', at('2024-01-15T10:00:00Z')],
        ['Connect-Info', 'WireGuard'],
        ['Framed-IP-Address', addressOf(sessionId)],
      ],
      nas,
    ),
    packet(
      sessionId,
      3,
      [
        ['Event-Timestamp', at('2024-01-15T10:10:00Z')],
        ['Acct-Session-Time', 600],
        ['Acct-Input-Octets', 100],
        ['Acct-Input-Gigawords', 1],
      ],
      nas,
    ),
    packet(
      sessionId,
      2,
      [
        ['Event-Timestamp', at('2024-01-15T10:20:00Z')],
        ['Acct-Session-Time', 1200],
        ['Acct-Input-Octets', 300],
        ['Acct-Input-Gigawords', 1],
        ['Acct-Terminate-Cause', 5],
      ],
      nas,
    ),
  ]
}

async function applyEach(records: AccountingRecord[]): Promise<void> {
  for (const record of records) await db.transaction().execute((tx) => applyBatch(tx, [record]))
}

async function applyAll(records: AccountingRecord[]): Promise<void> {
  await db.transaction().execute((tx) => applyBatch(tx, records))
}

async function row(sessionId: string) {
  return db
    .selectFrom('sessions')
    .select([
      'start_time',
      'stop_time',
      'update_time',
      'session_time',
      'input_octets',
      'terminate_cause',
      'connect_info_start',
      'framed_ip_address',
      'closed_by',
      'username',
    ])
    .where('session_id', '=', sessionId)
    .execute()
}

const closedLifecycle = (sessionId: string) => [
  {
    start_time: new Date('2024-01-15T10:00:00Z'),
    stop_time: new Date('2024-01-15T10:20:00Z'),
    update_time: new Date('2024-01-15T10:20:00Z'),
    session_time: '1200',
    input_octets: String(2n ** 32n + 300n),
    terminate_cause: 'Session-Timeout',
    connect_info_start: 'WireGuard',
    framed_ip_address: addressOf(sessionId),
    closed_by: 'Stop',
    username: `user-${sessionId}`,
  },
]

const ORDERS = [
  [0, 1, 2],
  [2, 1, 0],
  [1, 2, 0],
  [2, 0, 1],
  [0, 2, 2, 1, 0],
  [1, 1, 2, 2, 0, 0],
]

describe('applyBatch', () => {
  it('should build the same row for every order and repetition, one packet per batch', async () => {
    for (const [i, order] of ORDERS.entries()) {
      const packets = lifecycle(`each-${i}`)
      await applyEach(order.map((index) => packets[index]!))
      expect(await row(`each-${i}`), `order ${order}`).toEqual(closedLifecycle(`each-${i}`))
    }
  })

  it('should build the same row for every order and repetition within one batch', async () => {
    for (const [i, order] of ORDERS.entries()) {
      const packets = lifecycle(`batch-${i}`)
      await applyAll(order.map((index) => packets[index]!))
      expect(await row(`batch-${i}`), `order ${order}`).toEqual(closedLifecycle(`batch-${i}`))
    }
  })

  it('should write the same audit events for every order, repetition and batching', async () => {
    // The Interim claims 15 minutes at 10:10 (its NAS's clock disagrees with the Start's): the row
    // and the started event keep the Start's own time, wherever the Start falls.
    const packets = (sessionId: string) => {
      const [start, , stop] = lifecycle(sessionId)
      const interim = packet(sessionId, 3, [
        ['Event-Timestamp', at('2024-01-15T10:10:00Z')],
        ['Acct-Session-Time', 900],
        ['Framed-IP-Address', addressOf(`${sessionId}/renumbered`)],
      ])
      return [start!, interim, stop!]
    }
    const events = async (sessionId: string) =>
      (
        await db
          .selectFrom('audit_events')
          .select(['event_key', 'operation', 'initiator_type', 'fields'])
          .where('entity_name', '=', sessionId)
          .execute()
      )
        .map((e) => ({
          ...e,
          event_key: e.event_key.slice(0, e.event_key.indexOf(':')),
          // Each session has its own address; the events are compared across sessions.
          fields: e.fields.map((f) =>
            f.newValue === addressOf(sessionId)
              ? { ...f, newValue: '<address>' }
              : f.newValue === addressOf(`${sessionId}/renumbered`)
                ? { ...f, newValue: '<renumbered>' }
                : f,
          ),
        }))
        .sort((x, y) => x.event_key.localeCompare(y.event_key))
    const seen = []
    for (const [i, order] of ORDERS.entries()) {
      await applyEach(order.map((index) => packets(`events-each-${i}`)[index]!))
      await applyAll(order.map((index) => packets(`events-all-${i}`)[index]!))
      seen.push(await events(`events-each-${i}`), await events(`events-all-${i}`))
    }
    expect(seen[0]).toEqual([
      // The renumbered address the Interim reported (the Start carried another).
      expect.objectContaining({ event_key: 'session.address' }),
      expect.objectContaining({
        event_key: 'session.started',
        fields: expect.arrayContaining([{ name: 'startTime', oldValue: null, newValue: '2024-01-15T10:00:00.000Z' }]),
      }),
      expect.objectContaining({ event_key: 'session.stopped' }),
    ])
    for (const events of seen) expect(events).toEqual(seen[0])
  })

  it('should start a session known only from its Interim or Stop at event time minus Acct-Session-Time', async () => {
    const [, interim, stop] = lifecycle('no-start-interim')
    await applyEach([interim!])
    expect((await row('no-start-interim'))[0]).toMatchObject({
      start_time: new Date('2024-01-15T10:00:00Z'),
      stop_time: null,
    })
    await applyEach([lifecycle('no-start-stop')[2]!])
    expect((await row('no-start-stop'))[0]).toMatchObject({
      start_time: new Date('2024-01-15T10:00:00Z'),
      closed_by: 'Stop',
    })
    expect(stop).toBeDefined()
  })

  it('should not reopen a session on a late Start, and a repeated Stop should change nothing', async () => {
    const [start, , stop] = lifecycle('late-start')
    await applyEach([stop!, start!, stop!])
    const [closed] = await row('late-start')
    expect(closed).toMatchObject({
      stop_time: new Date('2024-01-15T10:20:00Z'),
      closed_by: 'Stop',
      connect_info_start: 'WireGuard',
    })
  })

  it('should replay a batch without changing any row or writing any audit event twice', async () => {
    const batch = [...lifecycle('replay-a'), ...lifecycle('replay-b')]
    await applyAll(batch)
    const rowsBefore = await db
      .selectFrom('sessions')
      .selectAll()
      .where('session_id', 'in', ['replay-a', 'replay-b'])
      .orderBy('id')
      .execute()
    const eventsBefore = await db
      .selectFrom('audit_events')
      .select(['event_key'])
      .where('entity_name', 'in', ['replay-a', 'replay-b'])
      .execute()
    await applyAll(batch)
    await applyEach(batch)
    expect(
      await db
        .selectFrom('sessions')
        .selectAll()
        .where('session_id', 'in', ['replay-a', 'replay-b'])
        .orderBy('id')
        .execute(),
    ).toEqual(rowsBefore)
    const eventsAfter = await db
      .selectFrom('audit_events')
      .select(['event_key'])
      .where('entity_name', 'in', ['replay-a', 'replay-b'])
      .execute()
    expect(eventsAfter).toEqual(eventsBefore)
    expect(eventsAfter.map((e) => e.event_key.split(':')[0]).sort()).toEqual([
      'session.started',
      'session.started',
      'session.stopped',
      'session.stopped',
    ])
  })

  it('should write session and user audit events with the initiators the audit log promises', async () => {
    await applyAll([
      lifecycle('audit-1')[0]!,
      packet('audit-2', 2, [
        ['Event-Timestamp', at('2024-01-15T11:00:00Z')],
        ['Acct-Terminate-Cause', 1],
      ]),
    ])
    const events = await db
      .selectFrom('audit_events')
      .select(['event_key', 'initiator_type', 'initiator_id', 'operation', 'entity_type', 'entity_name', 'fields'])
      .where((eb) =>
        eb.or([
          eb('entity_name', 'in', ['audit-1', 'audit-2']),
          eb('entity_name', 'in', ['user-audit-1', 'user-audit-2']),
        ]),
      )
      .orderBy('id')
      .execute()
    expect(events).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          event_key: 'user.created:user-audit-1',
          operation: 'CREATE',
          entity_type: 'USER',
          initiator_id: '',
        }),
        expect.objectContaining({
          event_key: expect.stringMatching(/^session\.started:/),
          entity_name: 'audit-1',
          initiator_type: 'USER',
          initiator_id: 'user-audit-1',
        }),
        // A User-Request stop is the user's doing; its initiator is the user.
        expect.objectContaining({
          event_key: expect.stringMatching(/^session\.stopped:/),
          entity_name: 'audit-2',
          initiator_id: 'user-audit-2',
          fields: [
            { name: 'stopTime', oldValue: null, newValue: '2024-01-15T11:00:00.000Z' },
            { name: 'terminateCause', oldValue: null, newValue: 'User-Request' },
          ],
        }),
      ]),
    )
  })

  it('should close the open sessions of a NAS on Accounting-On, whatever order the packets came in', async () => {
    const nas = '192.0.2.77'
    const before = packet('reboot-before', 1, [['Event-Timestamp', at('2024-02-01T10:00:00Z')]], nas)
    const after = packet('reboot-after', 1, [['Event-Timestamp', at('2024-02-01T12:00:00Z')]], nas)
    const on = packet('', 7, [['Event-Timestamp', at('2024-02-01T11:00:00Z')]], nas)
    // A late Interim of a session that began before the reboot, arriving after the Accounting-On.
    const lateInterim = packet(
      'reboot-late',
      3,
      [
        ['Event-Timestamp', at('2024-02-01T10:30:00Z')],
        ['Acct-Session-Time', 1800],
      ],
      nas,
    )
    await applyEach([before, after, on, lateInterim])
    const rows = await db
      .selectFrom('sessions')
      .select(['session_id', 'stop_time', 'terminate_cause', 'closed_by'])
      .where('nas_ip_address', '=', nas)
      .orderBy('session_id')
      .execute()
    const reboot = new Date('2024-02-01T11:00:00Z')
    expect(rows).toEqual([
      { session_id: 'reboot-after', stop_time: null, terminate_cause: null, closed_by: null },
      { session_id: 'reboot-before', stop_time: reboot, terminate_cause: 'NAS-Reboot', closed_by: 'Accounting-On' },
      { session_id: 'reboot-late', stop_time: reboot, terminate_cause: 'NAS-Reboot', closed_by: 'Accounting-On' },
    ])
    const nasEvent = await db
      .selectFrom('audit_events')
      .select(['fields'])
      .where('event_key', '=', `nas.Accounting-On:${nas}:${reboot.toISOString()}`)
      .executeTakeFirstOrThrow()
    expect(nasEvent.fields[0]).toEqual({ name: 'closedSessions', oldValue: null, newValue: '1' })

    // The real Stop, when it comes, wins over the synthetic close.
    await applyEach([
      packet(
        'reboot-before',
        2,
        [
          ['Event-Timestamp', at('2024-02-01T10:59:00Z')],
          ['Acct-Terminate-Cause', 1],
        ],
        nas,
      ),
    ])
    expect((await row('reboot-before'))[0]).toMatchObject({
      stop_time: new Date('2024-02-01T10:59:00Z'),
      terminate_cause: 'User-Request',
      closed_by: 'Stop',
    })
  })

  it('should close sessions silent past their rule as Lost-Carrier at their last update', async () => {
    const now = Date.now() / 1000
    await applyEach([
      packet('stale-interim', 3, [
        ['Event-Timestamp', Math.floor(now - 400)],
        ['Acct-Session-Time', 100],
        ['Acct-Interim-Interval', 60],
      ]),
      packet('fresh-interim', 3, [
        ['Event-Timestamp', Math.floor(now - 100)],
        ['Acct-Session-Time', 100],
        ['Acct-Interim-Interval', 60],
      ]),
      packet('fresh-no-interim', 1, [['Event-Timestamp', Math.floor(now - 400)]]),
    ])
    await closeStaleSessions(db, { interimMultiplier: 3, withoutInterimSeconds: 3600, minSilenceSeconds: 60 })
    const stale = (await row('stale-interim'))[0]!
    expect(stale).toMatchObject({ terminate_cause: 'Lost-Carrier', closed_by: 'stale' })
    expect(stale.stop_time).toEqual(stale.update_time)
    expect((await row('fresh-interim'))[0]!.stop_time).toBeNull()
    expect((await row('fresh-no-interim'))[0]!.stop_time).toBeNull()
    const events = await db
      .selectFrom('audit_events')
      .select('event_key')
      .where('entity_name', '=', 'stale-interim')
      .execute()
    expect(events.map((e) => e.event_key.split('@')[0])).toContain('session.stale')
  })

  it('should remove closed sessions and audit events past the retention, and keep the rest', async () => {
    // A database of its own: removing backdated events leaves a hole in the audit chain, which
    // `radstream audit verify` reports, and the run's shared chain must stay whole for its tests.
    const { db: own, url } = await scratchDatabase('retention')
    try {
      for (const record of [
        packet('ancient', 2, [
          ['Event-Timestamp', at('2001-01-01T00:00:00Z')],
          ['Acct-Session-Time', 60],
        ]),
        packet('ancient-open', 1, [['Event-Timestamp', at('2001-01-01T00:00:00Z')]]),
      ]) {
        await own.transaction().execute((tx) => applyBatch(tx, [record]))
      }
      // Backdating needs the append-only trigger out of the way: a superuser in replica mode.
      await own.transaction().execute(async (tx) => {
        await sql`set local session_replication_role = replica`.execute(tx)
        await tx
          .updateTable('audit_events')
          .set({ occurred_at: new Date('2001-01-01T00:00:00Z') })
          .where('entity_name', '=', 'ancient')
          .execute()
      })
      // As the services run: the role without DELETE on audit events. The backdated events are of
      // a month without a partition: the default one holds them, and loses them past the retention.
      const asService = createDb({ url: serviceRoleUrl(url, undefined), poolSize: 1 })
      // Sealed once its report bucket (the day its row was made) is past the reports' retention,
      // then moved to the history, into a partition of its month made for it, which goes whole
      // past the retention.
      await manageReportBuckets(asService, 168, new Date(Date.now() + 9 * 86_400_000))
      const archived = await archiveSealedSessions(asService)
      const partitions = await manageMonthPartitions(asService, {
        session_history: 9000,
        session_usage_days: 9000,
        usage_daily: 9000,
        usage_monthly: 9000,
        quota_crossings: 9000,
      }).finally(() => asService.destroy())
      expect(archived).toBe(1)
      expect(partitions.dropped.session_history).toEqual(['session_history_p200012']) // started a minute before 2001
      expect(partitions.defaultRows.audit_events).toBeGreaterThanOrEqual(1)
      const sessions = async (sessionId: string) =>
        own.selectFrom('session_records').select('id').where('session_id', '=', sessionId).execute()
      expect(await sessions('ancient')).toEqual([])
      expect(await sessions('ancient-open')).toHaveLength(1) // open sessions wait for their close
      expect(await own.selectFrom('audit_events').select('id').where('entity_name', '=', 'ancient').execute()).toEqual(
        [],
      )
    } finally {
      await own.destroy()
    }
  })

  it('should store an IPv6 prefix sent with host bits as its network, and ignore an interim interval past 32-bit signed', async () => {
    await applyAll([
      packet('prefix-host-bits', 1, [
        ['Framed-IPv6-Prefix', '2001:db8:0:1::5/64'],
        ['Delegated-IPv6-Prefix', '2001:db8:7700:1::1/48'],
        ['Acct-Interim-Interval', 4294967295],
      ]),
    ])
    const [stored] = await db
      .selectFrom('sessions')
      .select([
        sql<string>`framed_ipv6_prefix::text`.as('framed'),
        sql<string>`delegated_ipv6_prefix::text`.as('delegated'),
        'interim_interval',
      ])
      .where('session_id', '=', 'prefix-host-bits')
      .execute()
    expect(stored).toEqual({ framed: '2001:db8:0:1::/64', delegated: '2001:db8:7700::/48', interim_interval: null })
  })

  // Differences from FreeRADIUS 3.2 kept on purpose (docs/sessions.md): each pinned by a test.
  it('should leave open a session that starts in the same second as an Accounting-On (FreeRADIUS closes it)', async () => {
    const nas = '192.0.2.78'
    const second = at('2024-02-02T09:00:00Z')
    await applyEach([
      packet('same-second-before', 1, [['Event-Timestamp', second - 1]], nas),
      packet('same-second', 1, [['Event-Timestamp', second]], nas),
      packet('', 7, [['Event-Timestamp', second]], nas),
    ])
    const rows = await db
      .selectFrom('sessions')
      .select(['session_id', 'closed_by'])
      .where('nas_ip_address', '=', nas)
      .orderBy('session_id')
      .execute()
    // A NAS sends Accounting-On as it comes up and its first Starts right after: in whole seconds
    // they share the second, and the session is the new one, not a victim of the reboot.
    expect(rows).toEqual([
      { session_id: 'same-second', closed_by: null },
      { session_id: 'same-second-before', closed_by: 'Accounting-On' },
    ])
  })

  it('should keep one row for a session whose NAS echoes a FreeRADIUS ai: Class, when its port changes', async () => {
    const acctClass = 'ai:0123456789abcdef0123456789ABCDEF'
    const moving = (
      sessionId: string,
      port: string,
      status: number,
      time: string,
      extra: [string, string | number][] = [],
    ) => packet(sessionId, status, [['Event-Timestamp', at(time)], ['NAS-Port-Id', port], ...extra])
    await applyEach([
      moving('ported', 'port-1', 1, '2024-02-04T09:00:00Z', [['Class', acctClass]]),
      moving('ported', 'port-2', 2, '2024-02-04T09:30:00Z', [
        ['Class', acctClass],
        ['Acct-Session-Time', 1800],
      ]),
      // The same moves without the Class: the port is part of the key, so two rows.
      moving('ported-plain', 'port-1', 1, '2024-02-04T09:00:00Z'),
      moving('ported-plain', 'port-2', 2, '2024-02-04T09:30:00Z', [['Acct-Session-Time', 1800]]),
    ])
    const rows = await db
      .selectFrom('sessions')
      .select(['session_id', 'session_key', 'nas_port_id', 'stop_time'])
      .where('session_id', 'in', ['ported', 'ported-plain'])
      .orderBy('session_id')
      .orderBy('nas_port_id')
      .execute()
    expect(rows.map((r) => r.session_id)).toEqual(['ported', 'ported-plain', 'ported-plain'])
    // FreeRADIUS's own Acct-Unique-Session-Id for it: md5("<the 32 hex digits>,<Acct-Session-Id>").
    const { createHash } = await import('node:crypto')
    expect(rows[0]!.session_key).toBe(createHash('md5').update('0123456789abcdef0123456789ABCDEF,ported').digest('hex'))
    expect(rows[0]!.stop_time).toEqual(new Date('2024-02-04T09:30:00Z'))
  })

  it("should close a dual-stack NAS's sessions on an Accounting-On that names it by either address, in any order", async () => {
    const v4 = '192.0.2.90'
    const v6 = '2001:db8:90::1'
    const dualStack = (sessionId: string, status: number, time: string, extra: [string, string | number][] = []) =>
      accountingRecord([
        ['User-Name', `user-${sessionId}`],
        ...(sessionId ? [['Acct-Session-Id', sessionId] as [string, string]] : []),
        ['Acct-Status-Type', status],
        ['Event-Timestamp', at(time)],
        ...extra,
      ])
    const starts = [
      dualStack('dual-1', 1, '2024-02-05T09:00:00Z', [
        ['NAS-IP-Address', v4],
        ['NAS-IPv6-Address', v6],
      ]),
      dualStack('dual-2', 1, '2024-02-05T09:05:00Z', [
        ['NAS-IP-Address', v4],
        ['NAS-IPv6-Address', v6],
      ]),
    ]
    // The reboot, announced by IPv6 alone; dual-2 is only heard of after it (a late packet).
    const on = dualStack('', 7, '2024-02-05T10:00:00Z', [['NAS-IPv6-Address', v6]])
    await applyEach([starts[0]!, on, starts[1]!])
    const rows = await db
      .selectFrom('sessions')
      .select(['session_id', 'closed_by', 'stop_time', sql<string>`host(nas_ip_address)`.as('nas')])
      .where('session_id', 'in', ['dual-1', 'dual-2'])
      .orderBy('session_id')
      .execute()
    const reboot = new Date('2024-02-05T10:00:00Z')
    expect(rows).toEqual([
      { session_id: 'dual-1', closed_by: 'Accounting-On', stop_time: reboot, nas: v4 },
      { session_id: 'dual-2', closed_by: 'Accounting-On', stop_time: reboot, nas: v4 },
    ])
  })

  it('should keep the later of two Stops that disagree, whatever order and batching they come in', async () => {
    const stops = [
      packet('two-stops', 2, [
        ['Event-Timestamp', at('2024-02-06T10:00:00Z')],
        ['Acct-Session-Time', 3600],
        ['Acct-Terminate-Cause', 4],
      ]),
      packet('two-stops', 2, [
        ['Event-Timestamp', at('2024-02-06T10:05:00Z')],
        ['Acct-Session-Time', 3900],
        ['Acct-Terminate-Cause', 1],
      ]),
    ]
    for (const order of [stops, [...stops].reverse()]) {
      for (const apply of [applyEach, applyAll]) {
        await db.deleteFrom('sessions').where('session_id', '=', 'two-stops').execute()
        await apply(order)
        expect((await row('two-stops'))[0]).toMatchObject({
          stop_time: new Date('2024-02-06T10:05:00Z'),
          terminate_cause: 'User-Request',
          session_time: '3900',
        })
      }
    }
  })

  /**
   * Applies `packets` in every order of ORDERS, one packet per batch and all in one batch, each time
   * to a fresh row, and returns the distinct rows it ended with (as `pick` reads them).
   */
  async function rowsOverOrders(
    sessionId: string,
    packets: AccountingRecord[],
    pick: (id: string) => Promise<unknown>,
  ): Promise<unknown[]> {
    const seen = new Map<string, unknown>()
    const orders = [...ORDERS, [3, 2, 1, 0], [3, 0, 2, 1, 3]].map((o) => o.filter((i) => i < packets.length))
    for (const order of orders) {
      for (const apply of [applyEach, applyAll]) {
        await db.deleteFrom('sessions').where('session_id', '=', sessionId).execute()
        await apply(order.map((i) => packets[i]!))
        const result = await pick(sessionId)
        seen.set(JSON.stringify(result), result)
      }
    }
    return [...seen.values()]
  }

  it("should keep a Start's own time over an earlier start derived from an Interim, in every order", async () => {
    // As OpenVPN's plugin reported it: the Start at 15:43:10.722, the first Interim ten seconds
    // on with Acct-Session-Time 10 (whole seconds), so it implies a start at 15:43:10.242.
    const arrived = (iso: string) => ({ receivedAt: new Date(iso) })
    const user = (sessionId: string, status: number, extra: [string, number][], when: string) =>
      accountingRecord(
        [
          ['User-Name', 'openvpn-user'],
          ['Acct-Session-Id', sessionId],
          ['NAS-IP-Address', NAS],
          ['Acct-Status-Type', status],
          ...extra,
        ],
        arrived(when),
      )
    const packets = (sessionId: string) => [
      user(sessionId, 1, [], '2026-11-30T15:43:10.722Z'),
      user(sessionId, 3, [['Acct-Session-Time', 10]], '2026-11-30T15:43:20.242Z'),
      user(sessionId, 3, [['Acct-Session-Time', 20]], '2026-11-30T15:43:30.300Z'),
      user(sessionId, 2, [['Acct-Session-Time', 25]], '2026-11-30T15:43:35.100Z'),
    ]
    const start = async (id: string) =>
      db
        .selectFrom('sessions')
        .select(['start_time', 'start_time_from_start'])
        .where('session_id', '=', id)
        .executeTakeFirstOrThrow()
    expect(await rowsOverOrders('start-wins', packets('start-wins'), start)).toEqual([
      { start_time: new Date('2026-11-30T15:43:10.722Z'), start_time_from_start: true },
    ])
    // Without its Start, the earliest derived start stands.
    expect(await rowsOverOrders('no-start', packets('no-start').slice(1), start)).toEqual([
      { start_time: new Date('2026-11-30T15:43:10.100Z'), start_time_from_start: false },
    ])
    // Two Starts (a retransmission counted with another Acct-Delay-Time): the earlier.
    const twoStarts = [...packets('two-starts'), user('two-starts', 1, [], '2026-11-30T15:43:11.000Z')]
    expect(await rowsOverOrders('two-starts', twoStarts, start)).toEqual([
      { start_time: new Date('2026-11-30T15:43:10.722Z'), start_time_from_start: true },
    ])
  })

  it('should keep the framed addresses of the latest packet that carried each, in every order', async () => {
    const packets = [
      packet('renumbered', 1, [
        ['Event-Timestamp', at('2024-03-01T10:00:00Z')],
        ['Framed-IP-Address', '10.1.0.1'],
      ]),
      packet('renumbered', 3, [
        ['Event-Timestamp', at('2024-03-01T10:10:00Z')],
        ['Acct-Session-Time', 600],
        ['Framed-IP-Address', '10.1.0.2'],
      ]),
      // The delegated prefix comes later (DHCPv6-PD), without the IPv4 address: both stand.
      packet('renumbered', 3, [
        ['Event-Timestamp', at('2024-03-01T10:20:00Z')],
        ['Acct-Session-Time', 1200],
        ['Delegated-IPv6-Prefix', '2001:db8:77::/56'],
      ]),
      packet('renumbered', 2, [
        ['Event-Timestamp', at('2024-03-01T10:30:00Z')],
        ['Acct-Session-Time', 1800],
      ]),
    ]
    const framed = async (id: string) =>
      db
        .selectFrom('sessions')
        .select([
          sql<string>`host(framed_ip_address)`.as('ip'),
          'framed_ip_address_time',
          sql<string>`delegated_ipv6_prefix::text`.as('prefix'),
          'delegated_ipv6_prefix_time',
        ])
        .where('session_id', '=', id)
        .executeTakeFirstOrThrow()
    expect(await rowsOverOrders('renumbered', packets, framed)).toEqual([
      {
        ip: '10.1.0.2',
        framed_ip_address_time: new Date('2024-03-01T10:10:00Z'),
        prefix: '2001:db8:77::/56',
        delegated_ipv6_prefix_time: new Date('2024-03-01T10:20:00Z'),
      },
    ])
  })

  it('should settle descriptive values the packets disagree on the same way in every order', async () => {
    const packets = [
      packet('disagree', 1, [
        ['Event-Timestamp', at('2024-03-02T10:00:00Z')],
        ['Calling-Station-Id', 'BB:00:00:00:00:02'],
        ['Acct-Interim-Interval', 60],
      ]),
      packet('disagree', 3, [
        ['Event-Timestamp', at('2024-03-02T10:01:00Z')],
        ['Acct-Session-Time', 60],
        ['Calling-Station-Id', 'AA:00:00:00:00:01'],
        ['Acct-Interim-Interval', 300],
      ]),
      packet('disagree', 3, [
        ['Event-Timestamp', at('2024-03-02T10:06:00Z')],
        ['Acct-Session-Time', 360],
      ]),
    ]
    const described = async (id: string) =>
      db
        .selectFrom('sessions')
        .select(['calling_station_id', 'interim_interval'])
        .where('session_id', '=', id)
        .executeTakeFirstOrThrow()
    // The least Calling-Station-Id, and the longer interval (which never closes a live session early).
    expect(await rowsOverOrders('disagree', packets, described)).toEqual([
      { calling_station_id: 'AA:00:00:00:00:01', interim_interval: 300 },
    ])
  })

  describe('stale sessions', () => {
    const now = () => Math.floor(Date.now() / 1000)
    const RULES = { interimMultiplier: 3, withoutInterimSeconds: 3600, minSilenceSeconds: 60 }
    /** A packet from `nas` (its source address too, as the collector records it), `ago` seconds ago. */
    const heard = (sessionId: string, nas: string, status: number, ago: number, sessionTime?: number) =>
      accountingRecord(
        [
          ['User-Name', `user-${sessionId}`],
          ['Acct-Session-Id', sessionId],
          ['NAS-IP-Address', nas],
          ['Acct-Status-Type', status],
          ['Event-Timestamp', now() - ago],
          ...(sessionTime === undefined ? [] : [['Acct-Session-Time', sessionTime] as [string, number]]),
        ],
        { address: nas },
      )
    const closedBy = async (sessionId: string) =>
      (
        await db
          .selectFrom('sessions')
          .select('closed_by')
          .where('session_id', '=', sessionId)
          .executeTakeFirstOrThrow()
      ).closed_by

    it('should learn the cadence from Interim-Updates, or take the NAS’s: registered, else learnt from its sessions', async () => {
      const run = Date.now().toString(36)
      await db
        .insertInto('nas_clients')
        .values({ network: '198.18.40.0/24', secret: 's', interim_interval: 10 })
        .onConflict((oc) => oc.column('network').doUpdateSet({ interim_interval: 10 }))
        .execute()
      const [learnt, fresh, unknown, registered, borrowing] = [
        'learnt',
        'fresh',
        'unknown',
        'registered',
        'borrowing',
      ].map((n) => `${n}-${run}`)
      await applyEach([
        // Every 10 s (no Acct-Interim-Interval: it came in the Access-Accept), silent for 180 s.
        heard(learnt!, '198.18.41.1', 1, 200),
        heard(learnt!, '198.18.41.1', 3, 190, 10),
        heard(learnt!, '198.18.41.1', 3, 180, 20),
        // The same cadence, heard 30 s ago: within the 60 s that no session is stale in.
        heard(fresh!, '198.18.41.1', 1, 50),
        heard(fresh!, '198.18.41.1', 3, 40, 10),
        heard(fresh!, '198.18.41.1', 3, 30, 20),
        // Nothing known, of it or of its NAS: the 3600 s rule.
        heard(unknown!, '198.18.42.1', 1, 200),
        // Its NAS is registered with a 10 s interval.
        heard(registered!, '198.18.40.7', 1, 200),
        // No Interim-Update of its own, but its NAS's sessions report every 10 s: it borrows that.
        heard(borrowing!, '198.18.41.1', 1, 200),
      ])
      await closeStaleSessions(db, RULES)
      expect(await Promise.all([learnt, fresh, unknown, registered, borrowing].map((id) => closedBy(id!)))).toEqual([
        'stale',
        null,
        null,
        'stale',
        'stale',
      ])
    })

    it('should learn the same cadence whatever the order of the Interim-Updates', async () => {
      const packets = [3, 1, 2].map((k) => packet('cadence', 3, [['Acct-Session-Time', k * 300]]))
      const cadence = async (id: string) =>
        db
          .selectFrom('sessions')
          .select(['least_interim_session_time', 'next_interim_session_time'])
          .where('session_id', '=', id)
          .executeTakeFirstOrThrow()
      expect(await rowsOverOrders('cadence', packets, cadence)).toEqual([
        { least_interim_session_time: '300', next_interim_session_time: '600' },
      ])
    })

    it('should reopen a session closed as stale that is heard from after it, once, and let a Stop close it', async () => {
      const id = `revived-${Date.now().toString(36)}`
      await applyEach([
        heard(id, '198.18.41.2', 1, 300),
        heard(id, '198.18.41.2', 3, 290, 10),
        heard(id, '198.18.41.2', 3, 280, 20),
      ])
      await closeStaleSessions(db, RULES)
      expect(await closedBy(id)).toBe('stale')
      // A packet from before the close changes nothing; one from after reopens the session.
      await applyEach([heard(id, '198.18.41.2', 3, 285, 15)])
      expect(await closedBy(id)).toBe('stale')
      await applyEach([heard(id, '198.18.41.2', 3, 5, 295)])
      await applyEach([heard(id, '198.18.41.2', 3, 5, 295)])
      expect(await closedBy(id)).toBeNull()
      const events = await db
        .selectFrom('audit_events')
        .select('event_key')
        .where('entity_name', '=', id)
        .where('event_key', 'not like', 'session.address%')
        // In the audit log's order: the batches' lane and the sweep's are two sequences.
        .orderBy('occurred_at')
        .orderBy('id')
        .execute()
      expect(events.map((e) => e.event_key.split('@')[0]!.split(':')[0])).toEqual([
        'session.started',
        'session.stale',
        'session.reopened',
      ])
      await applyEach([heard(id, '198.18.41.2', 2, 1, 299)])
      expect(await closedBy(id)).toBe('Stop')
    })
  })
})
