import { createServer, connect, type Server, type Socket } from 'node:net'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { inject } from 'vitest'
import { createDb, type Db } from '@radstream/db'
import { listeningApi } from '../../../test/support/api-app'
import { accessToken, newApiClient } from '../../../test/support/api-client'

/** A TCP relay to the real PostgreSQL that the test can cut, as a database going away would. */
async function relay(target: URL): Promise<{ port: number; cut(): Promise<void> }> {
  const sockets = new Set<Socket>()
  const server: Server = createServer((client) => {
    const upstream = connect(Number(target.port || 5432), target.hostname)
    for (const s of [client, upstream]) {
      sockets.add(s)
      s.on('error', () => s.destroy())
      s.on('close', () => sockets.delete(s))
    }
    client.pipe(upstream).pipe(client)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as { port: number }).port,
    cut: async () => {
      await new Promise((resolve) => server.close(resolve).unref())
      for (const s of sockets) s.destroy()
    },
  }
}

describe('API while PostgreSQL is down', () => {
  let app: FastifyInstance
  let db: Db
  let cut: () => Promise<void>
  let token: string
  let base: string

  beforeAll(async () => {
    const real = new URL(inject('databaseUrl'))
    const proxy = await relay(real)
    cut = proxy.cut
    const viaRelay = new URL(real)
    viaRelay.port = String(proxy.port)
    db = createDb({ url: viaRelay.toString(), poolSize: 2 })
    ;({ app, base } = await listeningApi(db))
    token = await accessToken(base, await newApiClient(db, ['admin', 'auditor']))
    // One answered query, so the client's principal is cached and the next one reaches a resolver.
    await fetch(`${base}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: '{"query":"{ getOnlineSessions(first: 1) { id } }"}',
    })
    await cut()
  })
  afterAll(async () => {
    await app?.close()
    await db?.destroy()
  })

  it('should answer GraphQL with 503 and a clear body, never 500', async () => {
    const response = await fetch(`${base}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: '{"query":"{ getOnlineSessions(first: 1) { id } }"}',
    })
    const body = await response.json()
    expect(response.status, JSON.stringify(body)).toBe(503)
    expect(body).toMatchObject({
      data: null,
      errors: [{ message: 'the database is unavailable; retry shortly', extensions: { code: 'SERVICE_UNAVAILABLE' } }],
    })
  })

  it('should answer the audit log and health with 503', async () => {
    const audit = await fetch(`${base}/api/v1/audit-log?size=1`, { headers: { authorization: `Bearer ${token}` } })
    expect(audit.status).toBe(503)
    expect(await audit.json()).toMatchObject({ error: 'SERVICE_UNAVAILABLE' })
    expect((await fetch(`${base}/healthz`)).status).toBe(503)
  })
})
