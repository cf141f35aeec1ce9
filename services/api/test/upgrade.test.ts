import type { FastifyInstance } from 'fastify'
import { Migrator, sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { auditLaneNames, auditLanes, ensureReseller, migrateToLatest, verifyAuditLane, type Db } from '@radstream/db'
import type { AccountingRecord } from '@radstream/events'
import { applyBatch, archiveSealedSessions, closeStaleSessions, manageReportBuckets } from '@radstream/sessionizer'
import { migrations } from '../../../migrations'
import { listeningApi } from '../../../test/support/api-app'
import { accessToken, graphqlAs, newApiClient } from '../../../test/support/api-client'
import { accountingRecord, sessionPacketAt } from '../../../test/support/records'
import { scratchDatabase } from '../../../test/support/scratch-database'

/**
 * The upgrade to this wave's storage: an installation filled through the sessionizer, taken back
 * to the schema of the release before it (0017) by the down migrations, as an existing
 * installation has it, then migrated to the latest. Every API answer (history, online sessions,
 * whoHadIp, usage, the console's numbers, the audit log's pages), the audit chain's
 * verification and the sessions' counter reports are the same before and after.
 */

const PREVIOUS_RELEASE = '0017_audit_lanes'
const NAS = ['198.18.130.1', '198.18.130.2']
const MINUTE = 60_000
const now = Date.now()
const FROM = new Date(Math.floor((now - 2 * 86_400_000) / MINUTE) * MINUTE)
const TO = new Date(Math.floor(now / MINUTE) * MINUTE + MINUTE)

let db: Db
let app: FastifyInstance
let base: string
let token: string

function sessionPackets(index: number): AccountingRecord[] {
  const nas = NAS[index % NAS.length]!
  const start = now - 2 * 86_400_000 + index * 1_400_000
  const length = Math.min(now - start - 1000, 600_000 + (index % 7) * 400_000)
  const common = [
    ['User-Name', `upgrade-${index % 9}@${index % 2 === 0 ? 'even.example' : 'odd.example'}`],
    ['Acct-Session-Id', `upgrade-${index}`],
    ['NAS-IP-Address', nas],
    ['Framed-IP-Address', `10.130.0.${1 + (index % 20)}`],
  ] as const
  const packet = (status: number, at: number, extra: [string, string | number][] = []) =>
    sessionPacketAt(common, start, status, at, { input: 3, output: 5 }, extra)
  const records = [packet(1, start), packet(3, start + length / 2)]
  if (index % 4 !== 0) records.push(packet(2, start + length, [['Acct-Terminate-Cause', 1 + (index % 5)]]))
  return records
}

const HISTORY = `query ($u: Int!) { getConnectionHistory(userId: $u) {
  id sessionId username nasIpAddress startTime stopTime updateTime sessionTime inputOctets outputOctets terminateCause framedIpAddress
} }`
const ONLINE = `{ getOnlineSessions(first: 1000) { id sessionId startTime framedIpAddress } }`
const WHO = `query ($ip: String!, $at: DateTime!) { whoHadIp(ip: $ip, at: $at) { id sessionId stopTime ambiguousAddress holdUnconfirmed } }`
const USAGE = `query ($u: Int!, $f: DateTime!, $t: DateTime!, $g: UsageGranularity) {
  usage(userId: $u, from: $f, to: $t, granularity: $g) { start inputOctets outputOctets sessionTime sessions }
}`
const CONSOLE = `query ($f: DateTime!, $t: DateTime!, $m: String!) {
  sessionTimeline(from: $f, to: $t, stepSeconds: 600) { at concurrent started stopped }
  terminateCauses(from: $f, to: $t) { cause sessions }
  onlineSessionCount
  usersOverQuota(month: $m) { user { username } monthlyOctets totalOctets crossedAt }
  topUsers(by: OCTETS, period: $m) { user { username } totalOctets }
}`

async function graphql(query: string, variables: Record<string, unknown> = {}) {
  const { status, body } = await graphqlAs(base, token, query, variables)
  expect(body.errors, JSON.stringify(body.errors)).toBeUndefined()
  expect(status).toBe(200)
  return body.data
}

/** Every answer the upgrade must keep; the audit log's up to `auditEnd` (a window in the past ends). */
async function answers(auditEnd: Date) {
  const { rows: users } = await sql<{ id: number }>`select id from users order by id`.execute(db)
  const history = await Promise.all(users.map((u) => graphql(HISTORY, { u: u.id })))
  const month = new Date(now).toISOString().slice(0, 7)
  const usage = await Promise.all(
    users.flatMap((u) => [
      graphql(USAGE, { u: u.id, f: FROM.toISOString(), t: TO.toISOString(), g: 'DAY' }),
      graphql(USAGE, { u: u.id, f: `${month}-01T00:00:00Z`, t: TO.toISOString(), g: 'MONTH' }),
    ]),
  )
  const who = []
  for (let host = 1; host <= 20; host++)
    for (const at of [now - 86_400_000, now - 3_600_000, now - 60_000])
      who.push(await graphql(WHO, { ip: `10.130.0.${host}`, at: new Date(at).toISOString() }))
  const consoleNumbers = await graphql(CONSOLE, { f: FROM.toISOString(), t: TO.toISOString(), m: month })
  // The audit log a day at a time (a request's window is at most 24 hours).
  const auditPages = []
  for (let day = FROM.getTime(); day < auditEnd.getTime(); day += 86_400_000) {
    const end = new Date(Math.min(day + 86_400_000, auditEnd.getTime()))
    let query = `size=50&startDate=${new Date(day).toISOString()}&endDate=${end.toISOString()}`
    for (;;) {
      const response = await fetch(`${base}/api/v1/audit-log?${query}`, {
        headers: { authorization: `Bearer ${token}` },
      })
      const page = (await response.json()) as { auditLogs: unknown[]; nextCursor?: string }
      expect(response.status, JSON.stringify(page)).toBe(200)
      auditPages.push(page.auditLogs)
      if (!page.nextCursor) break
      query = `size=50&cursor=${encodeURIComponent(page.nextCursor)}`
    }
  }
  const verified = await Promise.all((await auditLaneNames(db)).map((lane) => verifyAuditLane(db, lane)))
  // Not an API answer, but what the next Interim-Update of a session is split against.
  const { rows: reports } = await sql`
    select s.session_key, p.session_time, p.input_octets, p.output_octets
    from session_usage_points p join sessions s on s.id = p.session_id order by 1, 2`.execute(db)
  return {
    reports,
    history,
    online: await graphql(ONLINE),
    who,
    usage,
    consoleNumbers,
    auditPages,
    verified,
  }
}

beforeAll(async () => {
  ;({ db } = await scratchDatabase('upgrade'))
  const reseller = await ensureReseller(db, 'upgrade-reseller')
  await sql`insert into realm_assignments (realm, reseller_id) values ('odd.example', ${reseller.id})`.execute(db)
  ;({ app, base } = await listeningApi(db))
  token = await accessToken(
    base,
    await newApiClient(db, ['admin', 'auditor'], undefined, { rateLimitPerMinute: 100_000 }),
  )
  const records = Array.from({ length: 120 }, (_, i) => sessionPackets(i)).flat()
  for (let i = 0; i < records.length; i += 25)
    await db
      .transaction()
      .execute((tx) => applyBatch(tx, records.slice(i, i + 25), { lane: auditLanes.partition((i / 25) % 3) }))
  const reboot = accountingRecord([
    ['NAS-IP-Address', NAS[1]!],
    ['Acct-Status-Type', 7],
    ['Acct-Session-Id', 'reboot'],
    ['Event-Timestamp', Math.floor((now - 7_200_000) / 1000)],
  ])
  await db.transaction().execute((tx) => applyBatch(tx, [reboot]))
  await closeStaleSessions(db, { interimMultiplier: 1, withoutInterimSeconds: 6 * 3600, minSilenceSeconds: 6 * 3600 })
  await graphql(`
    mutation {
      setUsageQuota(realm: "even.example", monthlyOctets: "20000000") {
        realm
      }
    }
  `)
})

afterAll(async () => {
  await app?.close()
  await db?.destroy()
})

describe('the upgrade from the previous release', () => {
  it('should answer every API query the same after the migrations as before', async () => {
    // Every event is older than this, and pagers stop at a window that has ended.
    await new Promise((resolve) => setTimeout(resolve, 10))
    const auditEnd = new Date()
    const before = await answers(auditEnd)
    // Enough that the comparison means something.
    expect(before.history.flatMap((h) => h.getConnectionHistory)).toHaveLength(120)
    expect(before.consoleNumbers.onlineSessionCount).toBeGreaterThan(0)
    expect(before.consoleNumbers.usersOverQuota.length).toBeGreaterThan(0)
    expect(before.who.filter((w) => w.whoHadIp.length > 0).length).toBeGreaterThan(10)
    expect(before.auditPages.flat().length).toBeGreaterThan(100)
    expect(before.reports.length).toBeGreaterThan(100)

    const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } })
    const down = await migrator.migrateTo(PREVIOUS_RELEASE)
    expect(down.error).toBeUndefined()
    expect(down.results?.length).toBeGreaterThan(0)
    const { rows } = await sql<{ name: string }>`select name from kysely_migration order by name desc limit 1`.execute(
      db,
    )
    expect(rows[0]!.name).toBe(PREVIOUS_RELEASE)

    await migrateToLatest(db)
    expect(await answers(auditEnd)).toEqual(before)
  }, 120_000)

  it('should answer the same once the closed sessions have moved to the session history', async () => {
    const auditEnd = new Date()
    const { reports: _, ...before } = await answers(auditEnd)
    // The sweep two days on, with a reports' retention of an hour: every closed session is sealed
    // (its bucket dropped) and moves; the open ones are carried and stay live.
    await manageReportBuckets(db, 1, new Date(now + 2 * 86_400_000))
    const moved = await archiveSealedSessions(db)
    const { rows } = await sql<{ live: number; open: number }>`
      select count(*)::int as live, count(*) filter (where stop_time is null)::int as open from sessions`.execute(db)
    expect(moved).toBeGreaterThan(50)
    expect(rows[0]).toEqual({ live: rows[0]!.open, open: before.online.getOnlineSessions.length })
    // The reports are not an API answer: the carry keeps the open sessions' last ones only.
    const { reports: __, ...after } = await answers(auditEnd)
    expect(after).toEqual(before)
  }, 120_000)
})
