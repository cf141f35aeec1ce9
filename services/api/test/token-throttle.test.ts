import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { inject } from 'vitest'
import { createLogger } from '@radstream/config'
import { createDb, type Db } from '@radstream/db'
import { buildApp } from '../src'
import { tokenSigningKey } from '../src/auth/signing-key'
import { newApiClient, type ApiCredentials } from '../../../test/support/api-client'

let db: Db
let app: FastifyInstance
let client: ApiCredentials
const WINDOW_MS = 1500

/** One token request, as if from `address`. */
async function token(address: string, clientId: string, clientSecret: string) {
  const response = await app.inject({
    method: 'POST',
    url: '/api/v1/oauth/token',
    remoteAddress: address,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: clientId,
      client_secret: clientSecret,
    }).toString(),
  })
  return { status: response.statusCode, retryAfter: response.headers['retry-after'], body: response.json() }
}

beforeAll(async () => {
  db = createDb({ url: inject('databaseUrl'), poolSize: 2 })
  app = await buildApp({
    db,
    logger: createLogger('silent', 'test'),
    kafkaReachable: async () => true,
    tokenSigningKey: await tokenSigningKey(db, undefined),
    tokenFailureLimits: { perClientAndAddress: 3, perAddress: 6, windowMs: WINDOW_MS },
  })
  client = await newApiClient(db, ['auditor'])
})

afterAll(async () => {
  await app?.close()
  await db?.destroy()
})

describe('the token endpoint under guessing', () => {
  it('should answer 429 with Retry-After once an address fails too often for a client, and recover', async () => {
    const attacker = '198.18.50.1'
    for (let i = 0; i < 3; i++) expect((await token(attacker, client.clientId, 'wrong')).status).toBe(401)
    const throttled = await token(attacker, client.clientId, 'wrong')
    expect(throttled).toMatchObject({ status: 429, body: { error: 'too_many_attempts' } })
    expect(Number(throttled.retryAfter)).toBeGreaterThanOrEqual(1)
    expect(Number(throttled.retryAfter)).toBeLessThanOrEqual(Math.ceil(WINDOW_MS / 1000))
    // Refused before the secret is hashed: even the right secret waits, from that address.
    expect((await token(attacker, client.clientId, client.clientSecret)).status).toBe(429)
    // The legitimate client elsewhere is not locked out by someone else's failures.
    expect((await token('198.18.50.2', client.clientId, client.clientSecret)).status).toBe(200)
    await new Promise((resolve) => setTimeout(resolve, WINDOW_MS + 100))
    expect((await token(attacker, client.clientId, client.clientSecret)).status).toBe(200)
  })

  it('should throttle an address that guesses across client ids, and only that address', async () => {
    const guesser = '198.18.50.3'
    for (let i = 0; i < 6; i++) expect((await token(guesser, `rsc_guess${i}`, 'x')).status).toBe(401)
    expect((await token(guesser, 'rsc_another', 'x')).status).toBe(429)
    expect((await token('198.18.50.4', 'rsc_another', 'x')).status).toBe(401)
  })
})
