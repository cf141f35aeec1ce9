import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { inject } from 'vitest'
import { auditLanes, createDb, type Db } from '@radstream/db'
import type { AccountingRecord } from '@radstream/events'
import { applyBatch, type BatchOptions } from '../src'
import { accountingRecord, at } from '../../../test/support/records'

let db: Db
beforeAll(() => {
  db = createDb({ url: inject('databaseUrl'), poolSize: 2 })
})
afterAll(async () => db.destroy())

/** Each run its own NAS: runs share the address and the times, and must not supersede each other. */
let NAS = '198.18.20.1'

function packet(
  sessionId: string,
  status: number,
  time: string,
  extra: [string, string | number][],
  nas = NAS,
): AccountingRecord {
  return accountingRecord([
    ['User-Name', `user-${sessionId.split('#')[0]}`],
    ['Acct-Session-Id', sessionId],
    ['NAS-IP-Address', nas],
    ['Acct-Status-Type', status],
    ['Event-Timestamp', at(time)],
    ...extra,
  ])
}

/**
 * An OpenVPN server SIGKILLed at 10:25 and restarted: its dead session (`old`, 10.8.0.2 since
 * 10:00) is never stopped, and an orphaned helper even reports it after the restart and stops it at
 * 11:00; the new session (`new`) gets 10.8.0.2 at 10:30 and stops at 10:45.
 */
function crashedNas(run: string): AccountingRecord[] {
  const ip: [string, string] = ['Framed-IP-Address', '10.8.0.2']
  const old = `old#${run}`
  const fresh = `new#${run}`
  return [
    packet(old, 1, '2024-04-01T10:00:00Z', [ip]),
    packet(old, 3, '2024-04-01T10:10:00Z', [ip, ['Acct-Session-Time', 600]]),
    packet(old, 3, '2024-04-01T10:40:00Z', [ip, ['Acct-Session-Time', 2400]]),
    packet(old, 2, '2024-04-01T11:00:00Z', [ip, ['Acct-Session-Time', 3600], ['Acct-Terminate-Cause', 1]]),
    packet(fresh, 1, '2024-04-01T10:30:00Z', [ip]),
    packet(fresh, 3, '2024-04-01T10:40:00Z', [ip, ['Acct-Session-Time', 600]]),
    packet(fresh, 2, '2024-04-01T10:45:00Z', [ip, ['Acct-Session-Time', 900], ['Acct-Terminate-Cause', 1]]),
    // Another NAS's session with the same private address is none of this NAS's business.
    packet(`other#${run}`, 1, '2024-04-01T10:35:00Z', [ip], NAS.replace(/^198\.18\./, '198.19.')),
  ]
}

/** A seeded shuffle, so that a failing order can be replayed. */
function shuffled<T>(items: readonly T[], seed: number): T[] {
  const out = [...items]
  let state = seed
  for (let i = out.length - 1; i > 0; i--) {
    state = (state * 1103515245 + 12345) % 2 ** 31
    const j = state % (i + 1)
    ;[out[i], out[j]] = [out[j]!, out[i]!]
  }
  return out
}

/** Splits into batches of 1 to 3 packets (by the seed), some repeated, as partitions and replays do. */
function batches(records: AccountingRecord[], seed: number): AccountingRecord[][] {
  const out: AccountingRecord[][] = []
  for (let i = 0, n = seed; i < records.length; n = (n * 7 + 3) % 11) {
    const size = 1 + (n % 3)
    out.push(records.slice(i, i + size))
    i += size
  }
  return [...out, ...out.filter((_, index) => (index + seed) % 3 === 0)]
}

/** A batch's transaction that has applied `records` and waits, not committed, for `commit()`. */
async function writtenNotCommitted(records: AccountingRecord[], options: BatchOptions = {}) {
  let commit!: () => void
  const released = new Promise<void>((resolve) => (commit = resolve))
  let applied!: () => void
  const written = new Promise<void>((resolve) => (applied = resolve))
  const committed = db.transaction().execute(async (tx) => {
    await applyBatch(tx, records, options)
    applied()
    await released
  })
  await written
  return { commit, committed }
}

async function rows(run: string) {
  return db
    .selectFrom('sessions')
    .select(['session_id', 'start_time', 'stop_time', 'closed_by', 'terminate_cause'])
    .where('session_id', 'like', `%#${run}`)
    .orderBy('session_id')
    .execute()
}

describe('a newer session on the same NAS that takes an address ends the older one', () => {
  it('should close the dead session at the new one’s start in every order, batching and replay', async () => {
    const expected = (run: string) => [
      {
        session_id: `new#${run}`,
        start_time: new Date('2024-04-01T10:30:00Z'),
        stop_time: new Date('2024-04-01T10:45:00Z'),
        closed_by: 'Stop',
        terminate_cause: 'User-Request',
      },
      {
        session_id: `old#${run}`,
        start_time: new Date('2024-04-01T10:00:00Z'),
        stop_time: new Date('2024-04-01T10:30:00Z'),
        closed_by: 'superseded',
        terminate_cause: 'Lost-Service',
      },
      {
        session_id: `other#${run}`,
        start_time: new Date('2024-04-01T10:35:00Z'),
        stop_time: null,
        closed_by: null,
        terminate_cause: null,
      },
    ]
    for (let seed = 1; seed <= 16; seed++) {
      const run = `s${seed}-${Date.now().toString(36)}`
      NAS = `198.18.20.${seed}`
      for (const batch of batches(shuffled(crashedNas(run), seed), seed)) {
        await db.transaction().execute((tx) => applyBatch(tx, batch))
      }
      expect(await rows(run), `seed ${seed}`).toEqual(expected(run))
      const events = await db
        .selectFrom('audit_events')
        .select(['event_key', 'description'])
        .where('entity_name', '=', `old#${run}`)
        .where('event_key', 'like', 'session.superseded:%')
        .execute()
      expect(events, `seed ${seed}`).toHaveLength(1)
      expect(events[0]!.description).toMatch(
        new RegExp(
          `closed when it was last heard of, at the latest at 2024-04-01T10:30:00.000Z: session new#${run} on NAS ${NAS.replace(/\./g, '\\.')} started holding its address 10\\.8\\.0\\.2 then`,
        ),
      )
    }
  })

  it('should end a dead session silent before the new one began at its last packet, in every order, batching and replay', async () => {
    const ip: [string, string] = ['Framed-IP-Address', '10.8.0.4']
    for (let seed = 1; seed <= 8; seed++) {
      const run = `heard${seed}-${Date.now().toString(36)}`
      NAS = `198.18.22.${seed}`
      // Killed after 10:20: no Stop. Its address goes to the new session at 10:30.
      const records = [
        packet(`old#${run}`, 1, '2024-04-05T10:00:00Z', []),
        packet(`old#${run}`, 3, '2024-04-05T10:10:00Z', [ip, ['Acct-Session-Time', 600]]),
        packet(`old#${run}`, 3, '2024-04-05T10:20:00Z', [ip, ['Acct-Session-Time', 1200]]),
        packet(`new#${run}`, 1, '2024-04-05T10:30:00Z', [ip]),
      ]
      for (const batch of batches(shuffled(records, seed), seed))
        await db.transaction().execute((tx) => applyBatch(tx, batch))
      const old = await db
        .selectFrom('sessions')
        .select(['stop_time', 'stop_time_latest', 'closed_by'])
        .where('session_id', '=', `old#${run}`)
        .executeTakeFirstOrThrow()
      expect(old, `seed ${seed}`).toEqual({
        stop_time: new Date('2024-04-05T10:20:00Z'),
        stop_time_latest: new Date('2024-04-05T10:30:00Z'),
        closed_by: 'superseded',
      })
    }
  })

  it('should leave a session that stopped before the newer one started as its Stop says', async () => {
    NAS = '198.18.21.1'
    const run = `clean-${Date.now().toString(36)}`
    const ip: [string, string] = ['Framed-IP-Address', '10.8.0.3']
    await db
      .transaction()
      .execute((tx) =>
        applyBatch(tx, [
          packet(`b#${run}`, 1, '2024-04-02T11:00:00Z', [ip]),
          packet(`a#${run}`, 1, '2024-04-02T10:00:00Z', [ip]),
          packet(`a#${run}`, 2, '2024-04-02T10:50:00Z', [ip, ['Acct-Terminate-Cause', 1]]),
        ]),
      )
    expect((await rows(run)).map((r) => [r.session_id, r.closed_by])).toEqual([
      [`a#${run}`, 'Stop'],
      [`b#${run}`, null],
    ])
  })

  it('should take delegated prefixes that overlap as the same address, and ignore 0.0.0.0', async () => {
    NAS = '198.18.21.2'
    const run = `v6-${Date.now().toString(36)}`
    await db
      .transaction()
      .execute((tx) =>
        applyBatch(tx, [
          packet(`a#${run}`, 1, '2024-04-03T10:00:00Z', [['Delegated-IPv6-Prefix', '2001:db8:aa00::/56']]),
          packet(`b#${run}`, 1, '2024-04-03T11:00:00Z', [['Delegated-IPv6-Prefix', '2001:db8:aa00:42::/64']]),
          packet(`c#${run}`, 1, '2024-04-03T10:00:00Z', [['Framed-IP-Address', '0.0.0.0']]),
          packet(`d#${run}`, 1, '2024-04-03T11:00:00Z', [['Framed-IP-Address', '0.0.0.0']]),
        ]),
      )
    const closed = await sql<{ session_id: string; stop_time: Date | null }>`
      select session_id, stop_time from sessions where session_id like ${`%#${run}`} order by session_id`.execute(db)
    expect(closed.rows).toEqual([
      // Last heard of at its Start; b's start is the latest it can have ended.
      { session_id: `a#${run}`, stop_time: new Date('2024-04-03T10:00:00Z') },
      { session_id: `b#${run}`, stop_time: null },
      { session_id: `c#${run}`, stop_time: null },
      { session_id: `d#${run}`, stop_time: null },
    ])
  })

  it('should close the older session when two batches of records keyed as before NAS keying write the two sessions at once', async () => {
    NAS = '198.18.21.3'
    const run = `race-${Date.now().toString(36)}`
    const ip: [string, string] = ['Framed-IP-Address', '10.8.0.9']
    // Known users and sessions: the batches below write no audit event, only their passes need the lock.
    await db
      .transaction()
      .execute((tx) =>
        applyBatch(tx, [
          packet(`old#warm-${run}`, 1, '2024-04-04T09:00:00Z', []),
          packet(`new#warm-${run}`, 1, '2024-04-04T09:00:00Z', []),
        ]),
      )
    const old = packet(`old#${run}`, 3, '2024-04-04T10:00:00Z', [ip, ['Acct-Session-Time', 0]])
    const fresh = packet(`new#${run}`, 3, '2024-04-04T10:30:00Z', [ip, ['Acct-Session-Time', 0]])
    // Two partitions' batches of the old keying (one NAS over every partition) in flight together:
    // the first has written its row and not committed.
    const legacy = (partition: number) => ({ lane: auditLanes.partition(partition), legacyKeys: true })
    const first = await writtenNotCommitted([old], legacy(0))
    let secondDone = false
    const second = db
      .transaction()
      .execute((tx) => applyBatch(tx, [fresh], legacy(1)))
      .then(() => (secondDone = true))
    // The second waits for the first to commit before its pass ...
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect(secondDone).toBe(false)
    first.commit()
    await Promise.all([first.committed, second])
    // ... and so sees the first's row, and closes it.
    expect((await rows(run)).map((r) => [r.session_id.split('#')[0], r.closed_by, r.stop_time])).toEqual([
      ['new', null, null],
      // Closed when it was last heard of, 10:00 (the new one began at 10:30).
      ['old', 'superseded', new Date('2024-04-04T10:00:00Z')],
    ])
  })
})

describe('batches of different partitions', () => {
  it('should commit without waiting for each other when keyed by NAS, their audit events each in their lane', async () => {
    const run = `lanes-${Date.now().toString(36)}`
    const started = (nas: string, id: string) => packet(`${id}#${run}`, 1, '2024-04-06T10:00:00Z', [], nas)
    // Partition 0's batch holds its transaction open, its audit events appended, not committed ...
    const first = await writtenNotCommitted([started('198.18.23.1', 'a')], { lane: auditLanes.partition(0) })
    // ... and partition 1's batch, another NAS, commits meanwhile: no lock between them.
    const outcome = await db
      .transaction()
      .execute((tx) => applyBatch(tx, [started('198.18.23.2', 'b')], { lane: auditLanes.partition(1) }))
    expect(outcome.lockWaitMs).toBeLessThan(100)
    first.commit()
    await first.committed
    const lanes = await db
      .selectFrom('audit_events')
      .select(['entity_name', 'lane'])
      .where('entity_name', 'in', [`a#${run}`, `b#${run}`])
      .orderBy('entity_name')
      .execute()
    expect(lanes).toEqual([
      { entity_name: `a#${run}`, lane: 'partition-0' },
      { entity_name: `b#${run}`, lane: 'partition-1' },
    ])
  })

  it('should run a batch of records keyed as before alone, and the others after it', async () => {
    const run = `drain-${Date.now().toString(36)}`
    const first = await writtenNotCommitted([packet(`a#${run}`, 1, '2024-04-06T11:00:00Z', [], '198.18.23.3')], {
      lane: auditLanes.partition(0),
      legacyKeys: true,
    })
    let done = false
    const second = db
      .transaction()
      .execute((tx) =>
        applyBatch(tx, [packet(`b#${run}`, 1, '2024-04-06T11:00:00Z', [], '198.18.23.4')], {
          lane: auditLanes.partition(1),
        }),
      )
      .then(() => (done = true))
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect(done).toBe(false)
    first.commit()
    await Promise.all([first.committed, second])
  })
})

describe('an Accounting-On and a session of its NAS written at once by two partitions', () => {
  it('should close the session that began before the reboot', async () => {
    const nas = '198.18.22.1'
    const run = `reboot-race-${Date.now().toString(36)}`
    const start = packet(`s#${run}`, 1, '2024-04-05T10:00:00Z', [], nas)
    const reboot = accountingRecord([
      ['NAS-IP-Address', nas],
      ['Acct-Status-Type', 7],
      ['Event-Timestamp', at('2024-04-05T11:00:00Z')],
    ])
    // Records keyed as before NAS keying: the Accounting-On in flight in one partition, not committed ...
    const first = await writtenNotCommitted([reboot], { lane: auditLanes.partition(0), legacyKeys: true })
    // ... while another partition's batch writes a session that began before it.
    const second = db
      .transaction()
      .execute((tx) => applyBatch(tx, [start], { lane: auditLanes.partition(1), legacyKeys: true }))
    await new Promise((resolve) => setTimeout(resolve, 300))
    first.commit()
    await Promise.all([first.committed, second])
    expect((await rows(run)).map((r) => [r.session_id.split('#')[0], r.closed_by, r.stop_time])).toEqual([
      ['s', 'Accounting-On', new Date('2024-04-05T11:00:00Z')],
    ])
  })
})
