import { sql, type RawBuilder } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { auditLanes, effectiveMonthlyQuota, ensureReseller, type Db } from '@radstream/db'
import type { AccountingRecord } from '@radstream/events'
import { applyBatch, closeStaleSessions } from '@radstream/sessionizer'
import type { Principal } from '../src/auth/principal'
import { onlineSessionCount, sessionTimeline, terminateCauses, type ActivityFilter } from '../src/graphql/activity'
import { usageOperations } from '../src/graphql/usage'
import { accountingRecord, sessionPacketAt } from '../../../test/support/records'
import { scratchDatabase } from '../../../test/support/scratch-database'

/**
 * The console's numbers come from rollups the triggers keep (migration 0019). Here every writer
 * changes sessions (batches of three partitions' lanes, replays and reorders, the supersession
 * pass, an Accounting-On, the stale sweep, a user moved between resellers, a session deleted) and
 * each number, for every NAS and reseller filter, is compared with a recount over the sessions.
 */

const NAS = ['198.18.120.1', '198.18.120.2', '198.18.120.3']
const MINUTE = 60_000
const now = Date.now()
const minuteOf = (ms: number) => Math.floor(ms / MINUTE) * MINUTE
/** The window the charts are checked over: the last two days, and the minutes since. */
const FROM = new Date(minuteOf(now - 2 * 86_400_000))
const TO = new Date(minuteOf(now) + 10 * MINUTE)

let db: Db
const resellers: number[] = []
/** Users of two realms, so that a realm's quota applies to some. */
const username = (n: number) => `rollup-user-${n}@${n % 2 === 0 ? 'even.example' : 'odd.example'}`
const ADMIN: Principal = {
  clientId: 'rollups',
  clientName: 'rollups',
  scopes: ['admin'],
  resellerId: null,
  auditHistoryDays: 1,
  rateLimitPerMinute: 1000,
  tokenExpiresAt: Number.MAX_SAFE_INTEGER,
}

/** A seeded generator, so a failing run can be replayed. */
function random(seed: number) {
  let state = seed
  return (n: number) => {
    state = (state * 1103515245 + 12345) % 2 ** 31
    return state % n
  }
}

function sessionPackets(pick: (n: number) => number, index: number): AccountingRecord[] {
  const nas = NAS[index % NAS.length]!
  const common = [
    ['User-Name', username(pick(12))],
    ['Acct-Session-Id', `rollup-${index}`],
    ['NAS-IP-Address', nas],
    // Few addresses: sessions of one NAS take each other's, and the older is superseded.
    ['Framed-IP-Address', `10.120.0.${1 + pick(15)}`],
  ] as const
  const start = now - 2 * 86_400_000 + pick(2 * 86_400) * 1000 + pick(1000)
  // Traffic grows with the session's time: 2,000 octets a second.
  const packet = (status: number, at: number, extra: [string, string | number][] = []) =>
    sessionPacketAt(common, start, status, at, { input: 2, output: 0 }, extra)
  const length = Math.min(now - start - 1000, (60 + pick(20_000)) * 1000)
  const records = [packet(1, start)]
  if (pick(2) === 0) records.push(packet(3, start + Math.floor(length / 2)))
  // Three in four stop, some without a cause; the rest stay open (or are closed by others).
  if (pick(4) !== 0)
    records.push(packet(2, start + length, pick(3) === 0 ? [] : [['Acct-Terminate-Cause', 1 + pick(6)]]))
  return records
}

function shuffled<T>(items: readonly T[], pick: (n: number) => number): T[] {
  const out = [...items]
  for (let i = out.length - 1; i > 0; i--) {
    const j = pick(i + 1)
    ;[out[i], out[j]] = [out[j]!, out[i]!]
  }
  return out
}

async function applyInBatches(records: readonly AccountingRecord[], pick: (n: number) => number): Promise<void> {
  for (let i = 0; i < records.length;) {
    const size = 1 + pick(40)
    const batch = records.slice(i, i + size)
    const lane = auditLanes.partition(pick(3))
    await db.transaction().execute((tx) => applyBatch(tx, batch, { lane }))
    // A batch redelivered after a rebalance, to another partition's consumer.
    if (pick(4) === 0) await db.transaction().execute((tx) => applyBatch(tx, batch, { lane: auditLanes.partition(3) }))
    i += size
  }
}

/** Sessions of the filter, as SQL on sessions aliased `s`: the API's own confinement, recounted. */
function recountScope(filter: ActivityFilter): RawBuilder<boolean> {
  const nas = filter.nasIpAddress ? sql`s.nas_ip_address = ${filter.nasIpAddress}::inet` : sql`true`
  const reseller =
    filter.resellerId === undefined
      ? sql`true`
      : sql`exists (select 1 from users u where u.id = s.user_id and u.reseller_id = ${filter.resellerId})`
  return sql<boolean>`${nas} and ${reseller}`
}

async function recountTimeline(filter: ActivityFilter, stepSeconds: number, window = { from: FROM, to: TO }) {
  const { rows } = await sql<{ at: Date; concurrent: string; started: string; stopped: string }>`
    select t.at,
      (select count(*) from sessions s where ${recountScope(filter)} and s.start_time < t.at
        and (s.stop_time is null or s.stop_time >= t.at)) as concurrent,
      (select count(*) from sessions s where ${recountScope(filter)} and s.start_time >= t.at
        and s.start_time < least(t.at + make_interval(secs => ${stepSeconds}), ${window.to})) as started,
      (select count(*) from sessions s where ${recountScope(filter)} and s.stop_time >= t.at
        and s.stop_time < least(t.at + make_interval(secs => ${stepSeconds}), ${window.to})) as stopped
    from generate_series(${window.from}::timestamptz, ${window.to}::timestamptz - interval '1 microsecond',
      make_interval(secs => ${stepSeconds})) t(at)
    order by t.at`.execute(db)
  return rows.map((r) => ({
    at: r.at,
    concurrent: Number(r.concurrent),
    started: Number(r.started),
    stopped: Number(r.stopped),
  }))
}

async function recountCauses(filter: ActivityFilter) {
  const { rows } = await sql<{ cause: string; sessions: string }>`
    select coalesce(s.terminate_cause, 'unknown') as cause, count(*) as sessions from sessions s
    where ${recountScope(filter)} and s.stop_time >= ${FROM} and s.stop_time < ${TO}
    group by 1 order by 2 desc, 1`.execute(db)
  return rows.map((r) => ({ cause: r.cause, sessions: Number(r.sessions) }))
}

async function recountOpen(filter: ActivityFilter) {
  const { rows } = await sql<{ open: string }>`
    select count(*) as open from sessions s where s.stop_time is null and ${recountScope(filter)}`.execute(db)
  return Number(rows[0]!.open)
}

/** The users over quota in a month as the query before crossings found them: every monthly row. */
async function recountOverQuota(month: string, resellerId: number | null) {
  const { rows } = await sql<{ username: string; total: string }>`
    select u.username, (m.input_octets + m.output_octets)::text as total from usage_monthly m
    join users u on u.id = m.user_id
    cross join lateral (select ${effectiveMonthlyQuota(sql.ref('u.id'), sql.ref('u.username'))} as quota) q
    where m.month = ${`${month}-01`}::date and q.quota is not null and m.input_octets + m.output_octets >= q.quota
      and (${resellerId}::int is null or u.reseller_id = ${resellerId})
    order by m.input_octets + m.output_octets desc, u.id`.execute(db)
  return rows.map((r) => ({ username: r.username, total: r.total }))
}

async function expectOverQuotaToMatchRecount(stage: string): Promise<void> {
  const { rows } = await sql<{
    month: string
  }>`select distinct to_char(month, 'YYYY-MM') as month from usage_monthly`.execute(db)
  expect(rows.length, stage).toBeGreaterThan(0)
  for (const { month } of rows)
    for (const resellerId of [null, ...resellers]) {
      const ctx = {
        principal: { ...ADMIN, resellerId, scopes: resellerId === null ? ADMIN.scopes : ['reseller' as const] },
        requestId: stage,
      }
      const listed = await usageOperations(db).usersOverQuota(ctx, month)
      expect(
        listed.map((l) => ({ username: l.user.username, total: l.totalOctets })),
        `${stage}: ${month}, reseller ${resellerId}`,
      ).toEqual(await recountOverQuota(month, resellerId))
    }
}

async function expectRollupsToMatchRecount(stage: string): Promise<void> {
  await expectOverQuotaToMatchRecount(stage)
  const filters: ActivityFilter[] = [undefined, ...resellers].flatMap((resellerId) =>
    [null, ...NAS].map((nasIpAddress) => ({ nasIpAddress, resellerId })),
  )
  for (const filter of filters) {
    const label = `${stage}: ${JSON.stringify(filter)}`
    expect(await onlineSessionCount(db, filter), label).toBe(await recountOpen(filter))
    expect(await terminateCauses(db, { from: FROM, to: TO }, filter), label).toEqual(await recountCauses(filter))
    expect(await sessionTimeline(db, { from: FROM, to: TO, stepSeconds: 300 }, filter), label).toEqual(
      await recountTimeline(filter, 300),
    )
    // A window of the past: what came after it is counted back, not shown.
    const past = { from: FROM, to: new Date(FROM.getTime() + 86_400_000) }
    expect(await sessionTimeline(db, { ...past, stepSeconds: 600 }, filter), `${label}, past`).toEqual(
      await recountTimeline(filter, 600, past),
    )
  }
}

beforeAll(async () => {
  ;({ db } = await scratchDatabase('activity_rollups'))
  for (const name of ['north', 'south']) resellers.push((await ensureReseller(db, `rollup-${name}`)).id)
  // Users of both resellers and of none, before any session.
  for (let n = 0; n < 12; n++)
    await sql`insert into users (username, reseller_id) values (${username(n)}, ${[resellers[0], resellers[1], null][n % 3]})`.execute(
      db,
    )
})

afterAll(async () => db?.destroy())

describe('the console rollups', () => {
  it('should equal a recount after every kind of writer, in any order and with replays', async () => {
    const pick = random(20261206)
    const records = shuffled(Array.from({ length: 300 }, (_, i) => sessionPackets(pick, i)).flat(), pick)
    // One user's quota before any traffic: the sessionizer records the crossing.
    await usageOperations(db).setQuota({ principal: ADMIN, requestId: 'q' }, { userId: 3 }, '50000000')
    await applyInBatches(records, pick)
    await expectRollupsToMatchRecount('batches')
    // A realm's quota and a lower one for a user, both set after the traffic: setQuota records those past them.
    await usageOperations(db).setQuota({ principal: ADMIN, requestId: 'q' }, { realm: 'odd.example' }, '60000000')
    await usageOperations(db).setQuota({ principal: ADMIN, requestId: 'q' }, { userId: 3 }, '1000')
    await expectRollupsToMatchRecount('quotas set')

    // The NAS reboots: an Accounting-On closes its open sessions.
    const reboot = accountingRecord([
      ['NAS-IP-Address', NAS[0]!],
      ['Acct-Status-Type', 7],
      ['Acct-Session-Id', 'reboot'],
      ['Event-Timestamp', Math.floor((now - 3600_000) / 1000)],
    ])
    await db.transaction().execute((tx) => applyBatch(tx, [reboot], { lane: auditLanes.partition(0) }))
    await expectRollupsToMatchRecount('Accounting-On')

    // Every open session silent for more than a minute is stale.
    const closed = await closeStaleSessions(db, {
      interimMultiplier: 1,
      withoutInterimSeconds: 60,
      minSilenceSeconds: 60,
    })
    expect(closed).toBeGreaterThan(0)
    await expectRollupsToMatchRecount('stale sweep')

    // A user moved to the other reseller takes their sessions, closed and open, along.
    await sql`update users set reseller_id = ${resellers[1]} where username = ${username(0)}`.execute(db)
    await sql`update users set reseller_id = null where username = ${username(1)}`.execute(db)
    await expectRollupsToMatchRecount('user moved')

    // A session erased by hand, and the batches replayed from the start (a consumer group reset).
    await sql`delete from sessions where session_id = 'rollup-7'`.execute(db)
    await applyInBatches(records, random(7))
    await expectRollupsToMatchRecount('erased and replayed')
  })
})
