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
const tokens = { admin: '', acme: '' }
const run = Date.now().toString(36)
const u = (name: string) => `${name}-${run}`
// Days of a recent week: a timeline reads back from now, so it may start at most 7 days ago.
const dayOf = (daysAgo: number) => new Date(Date.now() - daysAgo * 86_400_000).toISOString().slice(0, 10)
const [D1, D3, D9] = [dayOf(3), dayOf(1), dayOf(-5)]
// A NAS of this file's own: other files' sessions never count in its charts.
const NAS = '198.51.100.201'
const OTHER_NAS = '198.51.100.202'

/** A session on `nas`: Start at `start`; a Stop at `stop` with `cause` (RFC 2866 code) when given. */
function session(user: string, id: string, nas: string, start: string, stop?: string, cause?: number) {
  const common = [
    ['User-Name', user],
    ['Acct-Session-Id', `${id}-${run}`],
    ['NAS-IP-Address', nas],
  ] as const
  const records = [accountingRecord([...common, ['Acct-Status-Type', 1], ['Event-Timestamp', at(start)]])]
  if (stop)
    records.push(
      accountingRecord([
        ...common,
        ['Acct-Status-Type', 2],
        ['Event-Timestamp', at(stop)],
        ['Acct-Session-Time', at(stop) - at(start)],
        ...(cause === undefined ? [] : ([['Acct-Terminate-Cause', cause]] as const)),
      ]),
    )
  return records
}

const TIMELINE = `query ($from: DateTime!, $to: DateTime!, $step: Int, $nas: String) {
  sessionTimeline(from: $from, to: $to, stepSeconds: $step, nasIpAddress: $nas) { at concurrent started stopped }
}`
const CAUSES = `query ($from: DateTime!, $to: DateTime!, $nas: String) {
  terminateCauses(from: $from, to: $to, nasIpAddress: $nas) { cause sessions }
}`

beforeAll(async () => {
  db = createDb({ url: inject('databaseUrl'), poolSize: 2 })
  ;({ app, base } = await listeningApi(db))
  await db
    .transaction()
    .execute((tx) =>
      applyBatch(tx, [
        ...session(u('ann'), 'open', NAS, `${D1}T09:50:00Z`),
        ...session(u('ann'), 'first', NAS, `${D1}T10:00:00Z`, `${D1}T10:30:00Z`, 1),
        ...session(u('bob'), 'long', NAS, `${D1}T10:10:00Z`, `${D1}T11:05:00Z`, 4),
        ...session(u('cy'), 'short', NAS, `${D1}T10:20:00Z`, `${D1}T10:20:30Z`),
        ...session(u('bob'), 'elsewhere', OTHER_NAS, `${D1}T10:05:00Z`, `${D1}T10:40:00Z`, 1),
      ]),
    )
  const acme = await ensureReseller(db, u('acme'))
  await db
    .updateTable('users')
    .set({ reseller_id: acme.id })
    .where('username', 'in', [u('ann'), u('cy')])
    .execute()
  tokens.admin = await accessToken(base, await newApiClient(db, ['admin']))
  tokens.acme = await accessToken(base, await newApiClient(db, ['reseller'], u('acme')))
})

afterAll(async () => {
  await app?.close()
  await db?.destroy()
})

const window = { from: `${D1}T10:00:00Z`, to: `${D1}T11:00:00Z`, step: 900, nas: NAS }

describe('sessionTimeline', () => {
  it('should count sessions open at each step and started and stopped within it', async () => {
    const { status, body } = await graphqlAs(base, tokens.admin, TIMELINE, window)
    expect(status).toBe(200)
    expect(body.data.sessionTimeline).toEqual([
      // Open at 10:00: the 09:50 session; the one starting at exactly 10:00 starts within the step.
      { at: `${D1}T10:00:00Z`, concurrent: 1, started: 2, stopped: 0 },
      { at: `${D1}T10:15:00Z`, concurrent: 3, started: 1, stopped: 1 },
      // Stopped at exactly 10:30: still open at 10:30, stopped within the step.
      { at: `${D1}T10:30:00Z`, concurrent: 3, started: 0, stopped: 1 },
      // The 11:05 stop is after the window: counted open, not stopped.
      { at: `${D1}T10:45:00Z`, concurrent: 2, started: 0, stopped: 0 },
    ])
  })

  it('should confine a reseller to its users’ sessions', async () => {
    const { body } = await graphqlAs(base, tokens.acme, TIMELINE, window)
    expect(body.data.sessionTimeline.map((s: Json) => [s.concurrent, s.started, s.stopped])).toEqual([
      [1, 1, 0],
      [2, 1, 1],
      [2, 0, 1],
      [1, 0, 0],
    ])
  })

  it('should end the last step at `to` when the window is not a whole number of steps', async () => {
    const { body } = await graphqlAs(base, tokens.admin, TIMELINE, { ...window, to: `${D1}T10:20:10Z` })
    expect(body.data.sessionTimeline).toEqual([
      { at: `${D1}T10:00:00Z`, concurrent: 1, started: 2, stopped: 0 },
      // `to` is taken at the start of its minute, 10:20: the 10:20:00 start is after it.
      { at: `${D1}T10:15:00Z`, concurrent: 3, started: 0, stopped: 0 },
    ])
  })

  it('should refuse steps under a minute or not whole minutes, too many steps, windows over a week and starts over a week ago', async () => {
    for (const variables of [
      { ...window, step: 30 },
      { ...window, step: 90 },
      { ...window, to: `${D1}T10:00:59Z` },
      { ...window, from: `${D1}T00:00:00Z`, to: `${D3}T00:00:00Z`, step: 60 },
      { ...window, from: `${D1}T00:00:00Z`, to: `${D9}T00:00:01Z`, step: 3600 },
      { ...window, from: `${dayOf(8)}T00:00:00Z`, to: `${dayOf(7)}T00:00:00Z`, step: 3600 },
      { ...window, to: window.from },
      { ...window, nas: 'not-an-address' },
    ]) {
      const { body } = await graphqlAs(base, tokens.admin, TIMELINE, variables)
      expect(body.errors?.[0]?.extensions?.code, JSON.stringify(variables)).toBe('BAD_USER_INPUT')
    }
  })
})

describe('terminateCauses', () => {
  it('should count the sessions stopped in the window by cause, most first', async () => {
    const hour = await graphqlAs(base, tokens.admin, CAUSES, window)
    expect(hour.body.data.terminateCauses).toEqual([
      { cause: 'User-Request', sessions: 1 },
      { cause: 'unknown', sessions: 1 },
    ])
    const twoHours = await graphqlAs(base, tokens.admin, CAUSES, { ...window, to: `${D1}T12:00:00Z`, nas: null })
    const ours = twoHours.body.data.terminateCauses.filter((c: Json) => c.sessions > 0)
    expect(ours).toEqual(
      expect.arrayContaining([
        { cause: 'User-Request', sessions: 2 },
        { cause: 'Idle-Timeout', sessions: 1 },
      ]),
    )
  })

  it('should give a reseller only its users’ stops', async () => {
    const { body } = await graphqlAs(base, tokens.acme, CAUSES, { ...window, to: `${D1}T12:00:00Z`, nas: null })
    expect(body.data.terminateCauses).toEqual([
      { cause: 'User-Request', sessions: 1 },
      { cause: 'unknown', sessions: 1 },
    ])
  })
})

describe('onlineSessionCount', () => {
  it('should count the open sessions of a NAS, and a reseller’s own', async () => {
    const query = 'query ($nas: String) { onlineSessionCount(nasIpAddress: $nas) }'
    expect((await graphqlAs(base, tokens.admin, query, { nas: NAS })).body.data.onlineSessionCount).toBe(1)
    expect((await graphqlAs(base, tokens.admin, query, { nas: OTHER_NAS })).body.data.onlineSessionCount).toBe(0)
    expect((await graphqlAs(base, tokens.acme, query, {})).body.data.onlineSessionCount).toBe(1)
  })
})
