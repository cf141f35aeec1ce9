import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { inject } from 'vitest'
import { createDb, type Db } from '@radstream/db'
import { applyBatch } from '@radstream/sessionizer'
import { listeningApi } from '../../../test/support/api-app'
import { accessToken, newApiClient } from '../../../test/support/api-client'
import { accountingRecord, at } from '../../../test/support/records'

const run = Date.now().toString(36)
const IP = '10.77.0.2'
const WHO = `query($ip: String!, $at: DateTime!) { whoHadIp(ip: $ip, at: $at) { sessionId nasIpAddress ambiguousAddress } }`

let db: Db
let app: FastifyInstance
let base: string
let token: string

const start = (sessionId: string, nas: string, time: string) =>
  accountingRecord([
    ['User-Name', `who-${sessionId}`],
    ['Acct-Session-Id', `${sessionId}-${run}`],
    ['NAS-IP-Address', nas],
    ['Acct-Status-Type', 1],
    ['Event-Timestamp', at(time)],
    ['Framed-IP-Address', IP],
  ])

async function whoHadIp(time: string) {
  const response = await fetch(`${base}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: WHO, variables: { ip: IP, at: time } }),
  })
  const body = (await response.json()) as { data: { whoHadIp: { sessionId: string; ambiguousAddress: boolean }[] } }
  return body.data.whoHadIp.map((s) => [s.sessionId.replace(`-${run}`, ''), s.ambiguousAddress])
}

beforeAll(async () => {
  db = createDb({ url: inject('databaseUrl'), poolSize: 2 })
  ;({ app, base } = await listeningApi(db))
  token = await accessToken(base, await newApiClient(db, ['admin']))
  await db
    .transaction()
    .execute((tx) =>
      applyBatch(tx, [
        start('dead', '198.18.30.1', '2024-05-01T10:00:00Z'),
        start('restarted', '198.18.30.1', '2024-05-01T10:30:00Z'),
        start('elsewhere', '198.18.30.2', '2024-05-01T10:40:00Z'),
      ]),
    )
})

afterAll(async () => {
  await app?.close()
  await db?.destroy()
})

describe('whoHadIp after a NAS gave an address out again', () => {
  it('should name one session per NAS at any instant, and mark the answer ambiguous across NAS', async () => {
    expect(await whoHadIp('2024-05-01T10:20:00Z')).toEqual([['dead', false]])
    expect(await whoHadIp('2024-05-01T10:35:00Z')).toEqual([['restarted', false]])
    expect(await whoHadIp('2024-05-01T10:45:00Z')).toEqual([
      ['elsewhere', true],
      ['restarted', true],
    ])
  })

  it('should hold to that while the sessionizer has not closed the older session yet', async () => {
    // Two sessionizer transactions that wrote the two Starts at once see neither the other's row.
    await db
      .updateTable('sessions')
      .set({ stop_time: null, closed_by: null, terminate_cause: null })
      .where('session_id', '=', `dead-${run}`)
      .execute()
    expect(await whoHadIp('2024-05-01T10:20:00Z')).toEqual([['dead', false]])
    expect(await whoHadIp('2024-05-01T10:35:00Z')).toEqual([['restarted', false]])
  })
})
