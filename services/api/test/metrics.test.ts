import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest'
import { createDb, type Db } from '@radstream/db'
import { listeningApi } from '../../../test/support/api-app'
import { accessToken, newApiClient, requestToken } from '../../../test/support/api-client'
import { metricSum } from '../../../test/support/metrics'

let db: Db
let app: FastifyInstance
let base: string
let metricsBase: string

const scrape = async () => {
  const response = await fetch(`${metricsBase}/metrics`)
  expect(response.status).toBe(200)
  return response.text()
}

async function graphql(token: string, query: string) {
  const response = await fetch(`${base}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query }),
  })
  return response.status
}

const tokenRequest = (clientId: string, clientSecret: string) => requestToken(base, { clientId, clientSecret })

/** A graphql-transport-ws connection; resolves with whether it was acknowledged. */
async function connect(token: string) {
  const { WebSocket } = await import('ws')
  const socket = new WebSocket(`${base.replace('http', 'ws')}/graphql`, 'graphql-transport-ws')
  const acked = await new Promise<boolean>((resolve) => {
    socket.on('message', (data) => resolve(JSON.parse(data.toString()).type === 'connection_ack'))
    socket.on('close', () => resolve(false))
    socket.on('open', () =>
      socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } })),
    )
  })
  const closed = new Promise((resolve) => socket.once('close', resolve))
  return {
    acked,
    close: () => {
      socket.close()
      return closed
    },
  }
}

beforeAll(async () => {
  db = createDb({ url: inject('databaseUrl'), poolSize: 2 })
  ;({ app, base, metricsBase } = await listeningApi(db, {
    tokenFailureLimits: { perClientAndAddress: 2, perAddress: 100, windowMs: 60_000 },
  }))
})

afterAll(async () => {
  await app?.close()
  await db?.destroy()
})

describe('API metrics', () => {
  it('should count requests by route and status, GraphQL operations by field and outcome, tokens and limits', async () => {
    const admin = await newApiClient(db, ['admin'])
    const auditor = await newApiClient(db, ['auditor'], undefined, { rateLimitPerMinute: 1 })
    const adminToken = await accessToken(base, admin)
    const auditorToken = await accessToken(base, auditor)
    // Two wrong secrets reach the throttle's limit; the third is refused before any hashing.
    for (const expected of [401, 401, 429]) expect((await tokenRequest(admin.clientId, 'wrong')).status).toBe(expected)

    expect(await graphql(adminToken, '{ getOnlineSessions(first: 1) { id } }')).toBe(200)
    expect(await graphql(adminToken, '{ getConnectionHistory(userId: 2000000000) { id } }')).toBe(404)
    const window = `size=10&startDate=${new Date(Date.now() - 3_600_000).toISOString()}&endDate=${new Date().toISOString()}`
    const auditLog = (token: string) =>
      fetch(`${base}/api/v1/audit-log?${window}`, { headers: { authorization: `Bearer ${token}` } })
    expect((await auditLog(auditorToken)).status).toBe(200)
    expect((await auditLog(auditorToken)).status).toBe(429)

    const text = await scrape()
    const requests = (labels: Record<string, string>) =>
      metricSum(text, 'radstream_api_http_request_duration_seconds_count', labels)
    expect(requests({ route: '/api/v1/oauth/token', status: '200' })).toBe(2)
    expect(requests({ route: '/api/v1/oauth/token', status: '401' })).toBe(2)
    expect(requests({ route: '/api/v1/oauth/token', status: '429' })).toBe(1)
    expect(requests({ route: '/graphql', status: '404' })).toBe(1)
    expect(requests({ route: '/api/v1/audit-log', status: '429' })).toBe(1)
    expect(text).not.toMatch(/route="\/metrics"/)

    const operations = (labels: Record<string, string>) =>
      metricSum(text, 'radstream_api_graphql_operations_total', labels)
    expect(operations({ type: 'query', field: 'getOnlineSessions', outcome: 'ok' })).toBe(1)
    expect(operations({ type: 'query', field: 'getConnectionHistory', outcome: 'USER_NOT_FOUND' })).toBe(1)

    expect(metricSum(text, 'radstream_api_token_requests_total', { outcome: 'issued' })).toBe(2)
    expect(metricSum(text, 'radstream_api_token_requests_total', { outcome: 'invalid_client' })).toBe(2)
    expect(metricSum(text, 'radstream_api_token_requests_total', { outcome: 'throttled' })).toBe(1)
    expect(metricSum(text, 'radstream_api_rate_limited_total', { endpoint: 'token' })).toBe(1)
    expect(metricSum(text, 'radstream_api_rate_limited_total', { endpoint: 'audit_log' })).toBe(1)
    expect(text).toMatch(/^radstream_api_process_cpu_seconds_total /m)
  })

  it('should count the signed-in subscription connections that are open, and only those', async () => {
    const token = await accessToken(base, await newApiClient(db, ['admin']))
    const open = async () => metricSum(await scrape(), 'radstream_api_subscription_connections')
    const first = await connect(token)
    const second = await connect(token)
    const refused = await connect('forged')
    expect([first.acked, second.acked, refused.acked]).toEqual([true, true, false])
    expect(await open()).toBe(2)
    await first.close()
    await new Promise((resolve) => setTimeout(resolve, 200))
    expect(await open()).toBe(1)
    await second.close()
    await refused.close()
    await new Promise((resolve) => setTimeout(resolve, 200))
    expect(await open()).toBe(0)
  })
})
