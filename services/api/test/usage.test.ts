import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { createDb, ensureReseller, type Db } from '@radstream/db'
import { applyBatch } from '@radstream/sessionizer'
import { listeningApi } from '../../../test/support/api-app'
import { accessToken, graphqlAs, newApiClient } from '../../../test/support/api-client'
import { accountingRecord, at } from '../../../test/support/records'

type Json = Record<string, any>

let db: Db
let app: FastifyInstance
let base: string
const tokens = { admin: '', acme: '', globex: '' }
const run = Date.now().toString(36)
const u = (name: string) => `${name}-${run}`
const ids: Record<string, number> = {}

const graphql = (token: string, query: string, variables: Json = {}) => graphqlAs(base, token, query, variables)

/** One session of `user`: Start at `start`, Stop `seconds` later with these totals. */
function session(user: string, id: string, start: string, seconds: number, input: number, output: number) {
  const common = [
    ['User-Name', user],
    ['Acct-Session-Id', `${id}-${run}`],
    ['NAS-IP-Address', '198.51.100.90'],
  ] as const
  return [
    accountingRecord([...common, ['Acct-Status-Type', 1], ['Event-Timestamp', at(start)]]),
    accountingRecord([
      ...common,
      ['Acct-Status-Type', 2],
      ['Event-Timestamp', at(start) + seconds],
      ['Acct-Session-Time', seconds],
      ['Acct-Input-Octets', input],
      ['Acct-Output-Octets', output],
    ]),
  ]
}

const USAGE = `query ($u: Int!, $from: DateTime!, $to: DateTime!, $g: UsageGranularity) {
  usage(userId: $u, from: $from, to: $to, granularity: $g) { start inputOctets outputOctets totalOctets sessionTime sessions }
}`
const TOP = `query ($by: UsageOrder!, $p: String!, $n: Int) {
  topUsers(by: $by, period: $p, first: $n) { user { username } totalOctets sessionTime sessions }
}`

beforeAll(async () => {
  db = createDb({ url: inject('databaseUrl'), poolSize: 2 })
  ;({ app, base } = await listeningApi(db))
  // A day far from any other test's data, so topUsers of it sees only these users.
  await db
    .transaction()
    .execute((tx) =>
      applyBatch(tx, [
        ...session(u('ann'), 'a1', '2011-02-10T08:00:00Z', 3600, 5_000_000, 1_000_000),
        ...session(u('ann'), 'a2', '2011-02-11T23:00:00Z', 7200, 2_000_000, 0),
        ...session(u('bob'), 'b1', '2011-02-10T09:00:00Z', 600, 9_000_000, 1_000_000),
        ...session(u('cy'), 'c1', '2011-02-10T10:00:00Z', 80_000, 100, 0),
      ]),
    )
  for (const name of ['ann', 'bob', 'cy'])
    ids[name] = (await db.selectFrom('users').select('id').where('username', '=', u(name)).executeTakeFirstOrThrow()).id
  const acme = await ensureReseller(db, u('acme'))
  const globex = await ensureReseller(db, u('globex'))
  await db.updateTable('users').set({ reseller_id: acme.id }).where('id', 'in', [ids.ann!, ids.cy!]).execute()
  await db.updateTable('users').set({ reseller_id: globex.id }).where('id', '=', ids.bob!).execute()
  tokens.admin = await accessToken(base, await newApiClient(db, ['admin']))
  tokens.acme = await accessToken(base, await newApiClient(db, ['reseller'], u('acme')))
  tokens.globex = await accessToken(base, await newApiClient(db, ['reseller'], u('globex')))
})

afterAll(async () => {
  await app?.close()
  await db?.destroy()
})

describe('usage over GraphQL', () => {
  it('should give a user’s days, zeros included, and split the session across midnight', async () => {
    const { status, body } = await graphql(tokens.admin, USAGE, {
      u: ids.ann,
      from: '2011-02-10T00:00:00Z',
      to: '2011-02-13T00:00:00Z',
    })
    expect(status).toBe(200)
    expect(body.data.usage).toEqual([
      {
        start: '2011-02-10T00:00:00Z',
        inputOctets: '5000000',
        outputOctets: '1000000',
        totalOctets: '6000000',
        sessionTime: 3600,
        sessions: 1,
      },
      {
        start: '2011-02-11T00:00:00Z',
        inputOctets: '1000000',
        outputOctets: '0',
        totalOctets: '1000000',
        sessionTime: 3600,
        sessions: 1,
      },
      {
        start: '2011-02-12T00:00:00Z',
        inputOctets: '1000000',
        outputOctets: '0',
        totalOctets: '1000000',
        sessionTime: 3600,
        sessions: 0,
      },
    ])
    const month = await graphql(tokens.admin, USAGE, {
      u: ids.ann,
      from: '2011-01-15T00:00:00Z',
      to: '2011-03-01T00:00:00Z',
      g: 'MONTH',
    })
    expect(month.body.data.usage.map((p: Json) => [p.start, p.totalOctets, p.sessions])).toEqual([
      ['2011-01-01T00:00:00Z', '0', 0],
      ['2011-02-01T00:00:00Z', '8000000', 2],
    ])
  })

  it('should rank a day’s users by traffic or by time, and a reseller only among its own', async () => {
    const byOctets = await graphql(tokens.admin, TOP, { by: 'OCTETS', p: '2011-02-10' })
    expect(byOctets.body.data.topUsers.map((t: Json) => [t.user.username, t.totalOctets])).toEqual([
      [u('bob'), '10000000'],
      [u('ann'), '6000000'],
      [u('cy'), '63'], // 14 of its 22.2 hours fell on the 10th
    ])
    const byTime = await graphql(tokens.admin, TOP, { by: 'TIME', p: '2011-02', n: 1 })
    expect(byTime.body.data.topUsers).toEqual([
      { user: { username: u('cy') }, totalOctets: '100', sessionTime: 80_000, sessions: 1 },
    ])
    const acme = await graphql(tokens.acme, TOP, { by: 'OCTETS', p: '2011-02-10' })
    expect(acme.body.data.topUsers.map((t: Json) => t.user.username)).toEqual([u('ann'), u('cy')])
  })

  it('should hide another reseller’s user exactly like an unknown one, and name a bad argument', async () => {
    const range = { from: '2011-02-10T00:00:00Z', to: '2011-02-11T00:00:00Z' }
    const hidden = await graphql(tokens.globex, USAGE, { u: ids.ann, ...range })
    const unknown = await graphql(tokens.globex, USAGE, { u: 2_000_000_000, ...range })
    expect([hidden.status, hidden.body.errors[0].extensions.code]).toEqual([404, 'USER_NOT_FOUND'])
    expect(hidden.body).toEqual(unknown.body)
    const backwards = await graphql(tokens.admin, USAGE, { u: ids.ann, from: range.to, to: range.from })
    expect([backwards.status, backwards.body.errors[0].message]).toEqual([400, 'to: must be after from'])
    const tooLong = await graphql(tokens.admin, USAGE, {
      u: ids.ann,
      from: '2000-01-01T00:00:00Z',
      to: '2011-01-01T00:00:00Z',
    })
    expect(tooLong.body.errors[0].message).toBe('to: at most 366 days after from')
    const badPeriod = await graphql(tokens.admin, TOP, { by: 'TIME', p: '2011-13' })
    expect(badPeriod.body.errors[0].message).toMatch(/^period: expected a day \(YYYY-MM-DD\) or a month \(YYYY-MM\)/)
  })

  it('should list users over a realm or user quota, let only admins set one, and audit it', async () => {
    const quota = `mutation ($u: Int, $r: String, $o: String!) { setUsageQuota(userId: $u, realm: $r, monthlyOctets: $o) { userId realm monthlyOctets } }`
    const refused = await graphql(tokens.acme, quota, { u: ids.bob, o: '1000' })
    expect([refused.status, refused.body.errors[0].extensions.code]).toEqual([403, 'FORBIDDEN'])
    const set = await graphql(tokens.admin, quota, { u: ids.bob, o: '9000000' })
    expect(set.body.data.setUsageQuota).toEqual({ userId: ids.bob, realm: null, monthlyOctets: '9000000' })
    const bad = await graphql(tokens.admin, quota, { u: ids.bob, r: 'x.example', o: '1' })
    expect(bad.body.errors[0].message).toBe('userId, realm: give exactly one')

    const over = await graphql(
      tokens.admin,
      '{ usersOverQuota(month: "2011-02") { user { username } monthlyOctets totalOctets crossedAt } }',
    )
    expect(over.body.data.usersOverQuota).toEqual([
      { user: { username: u('bob') }, monthlyOctets: '9000000', totalOctets: '10000000', crossedAt: null },
    ])
    const hidden = await graphql(tokens.acme, '{ usersOverQuota(month: "2011-02") { user { username } } }')
    expect(hidden.body.data.usersOverQuota).toEqual([])
    const events = await db
      .selectFrom('audit_events')
      .select(['operation', 'entity_type', 'entity_id', 'fields'])
      .where('event_key', 'like', `api.quota.set.user_id.${ids.bob}:%`)
      .execute()
    expect(events).toEqual([
      {
        operation: 'CREATE',
        entity_type: 'USER',
        entity_id: String(ids.bob),
        fields: [{ name: 'monthlyOctets', oldValue: null, newValue: '9000000' }],
      },
    ])
    const removed = await graphql(tokens.admin, 'mutation ($u: Int) { removeUsageQuota(userId: $u) }', { u: ids.bob })
    expect(removed.body.data.removeUsageQuota).toBe(true)
  })
})
