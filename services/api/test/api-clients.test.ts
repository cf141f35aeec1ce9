import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest'
import { createDb, type Db } from '@radstream/db'
import { listeningApi } from '../../../test/support/api-app'
import {
  accessToken,
  graphqlAs,
  newApiClient,
  requestToken,
  type ApiCredentials,
} from '../../../test/support/api-client'

let db: Db
let app: FastifyInstance
let base: string
let adminToken: string
let admin: ApiCredentials

type Json = Record<string, any>

const graphql = (token: string, query: string, variables: Json = {}) => graphqlAs(base, token, query, variables)

const tokenStatus = async (clientId: string, clientSecret: string) =>
  (await requestToken(base, { clientId, clientSecret })).status

const ROTATE = `mutation ($id: ID!, $grace: Int) {
  rotateApiClientSecret(clientId: $id, graceSeconds: $grace) { clientId clientSecret previousSecretValidUntil }
}`
const REVOKE = 'mutation ($id: ID!) { revokeApiClient(clientId: $id) { id revokedAt } }'
const LIST = `query ($all: Boolean) {
  apiClients(includeRevoked: $all) { id name scopes reseller secretRotatedAt previousSecretValidUntil revokedAt }
}`

async function eventsOf(clientId: string) {
  return db
    .selectFrom('audit_events')
    .select(['initiator_type', 'initiator_id', 'operation', 'fields'])
    .where('entity_type', '=', 'API_CLIENT')
    .where('entity_id', '=', clientId)
    .orderBy('chain_seq')
    .execute()
}

beforeAll(async () => {
  db = createDb({ url: inject('databaseUrl'), poolSize: 2 })
  ;({ app, base } = await listeningApi(db))
  admin = await newApiClient(db, ['admin'])
  adminToken = await accessToken(base, admin)
})

afterAll(async () => {
  await app?.close()
  await db?.destroy()
})

describe('API clients over GraphQL', () => {
  it('should rotate a secret with the old one valid for its grace period only, audited', async () => {
    const client = await newApiClient(db, ['auditor'])
    const { status, body } = await graphql(adminToken, ROTATE, { id: client.clientId, grace: 2 })
    expect(status).toBe(200)
    const rotated = body.data.rotateApiClientSecret
    expect(rotated.clientId).toBe(client.clientId)
    expect(rotated.clientSecret).not.toBe(client.clientSecret)
    const validFor = Date.parse(rotated.previousSecretValidUntil) - Date.now()
    expect(validFor).toBeGreaterThan(0)
    expect(validFor).toBeLessThanOrEqual(2000)

    expect(await tokenStatus(client.clientId, rotated.clientSecret)).toBe(200)
    expect(await tokenStatus(client.clientId, client.clientSecret)).toBe(200)
    await new Promise((resolve) => setTimeout(resolve, validFor + 200))
    expect(await tokenStatus(client.clientId, client.clientSecret)).toBe(401)
    expect(await tokenStatus(client.clientId, rotated.clientSecret)).toBe(200)

    // Without grace the old secret stops at once, and so does the one of the rotation before.
    const again = (await graphql(adminToken, ROTATE, { id: client.clientId, grace: 0 })).body.data.rotateApiClientSecret
    expect(again.previousSecretValidUntil).toBeNull()
    expect(await tokenStatus(client.clientId, rotated.clientSecret)).toBe(401)
    expect(await tokenStatus(client.clientId, again.clientSecret)).toBe(200)

    const events = await eventsOf(client.clientId)
    expect(events.map((e) => [e.initiator_type, e.initiator_id, e.operation])).toEqual([
      ['API_CLIENT', admin.clientId, 'UPDATE'],
      ['API_CLIENT', admin.clientId, 'UPDATE'],
    ])
    expect(events[0]!.fields).toEqual([
      { name: 'secret', oldValue: '(set)', newValue: '(new)' },
      { name: 'previousSecretValidUntil', oldValue: null, newValue: rotated.previousSecretValidUntil },
    ])
    expect(JSON.stringify(events)).not.toContain(rotated.clientSecret)
  })

  it('should list active clients, revoke one so that no secret of it works, and list it when asked', async () => {
    const client = await newApiClient(db, ['reseller'], `clients-${Date.now()}`)
    const rotated = (await graphql(adminToken, ROTATE, { id: client.clientId, grace: 600 })).body.data
      .rotateApiClientSecret
    const listed = (await graphql(adminToken, LIST)).body.data.apiClients as Json[]
    expect(listed.find((c) => c.id === client.clientId)).toMatchObject({
      scopes: ['reseller'],
      reseller: expect.stringMatching(/^clients-/),
      previousSecretValidUntil: rotated.previousSecretValidUntil,
      revokedAt: null,
    })
    expect(JSON.stringify(listed)).not.toMatch(/secret_hash|scrypt/)

    const revoked = await graphql(adminToken, REVOKE, { id: client.clientId })
    expect(revoked.status).toBe(200)
    expect(Date.parse(revoked.body.data.revokeApiClient.revokedAt)).toBeLessThanOrEqual(Date.now())
    expect(await tokenStatus(client.clientId, client.clientSecret)).toBe(401)
    expect(await tokenStatus(client.clientId, rotated.clientSecret)).toBe(401)

    const active = (await graphql(adminToken, LIST)).body.data.apiClients as Json[]
    expect(active.some((c) => c.id === client.clientId)).toBe(false)
    const all = (await graphql(adminToken, LIST, { all: true })).body.data.apiClients as Json[]
    expect(all.find((c) => c.id === client.clientId)?.revokedAt).toBe(revoked.body.data.revokeApiClient.revokedAt)
    expect((await eventsOf(client.clientId)).map((e) => e.fields[0]?.name)).toEqual(['secret', 'revoked'])
  })

  it('should answer 404 CLIENT_NOT_FOUND for an unknown or revoked client, and 403 to a reseller', async () => {
    const unknown = await graphql(adminToken, REVOKE, { id: 'rsc_nobody' })
    expect(unknown.status).toBe(404)
    expect(unknown.body.errors[0].extensions.code).toBe('CLIENT_NOT_FOUND')
    const client = await newApiClient(db, ['auditor'])
    await graphql(adminToken, REVOKE, { id: client.clientId })
    const late = await graphql(adminToken, ROTATE, { id: client.clientId })
    expect([late.status, late.body.errors[0].extensions.code]).toEqual([404, 'CLIENT_NOT_FOUND'])
    const negative = await graphql(adminToken, ROTATE, { id: admin.clientId, grace: -1 })
    expect([negative.status, negative.body.errors[0].message]).toEqual([400, 'graceSeconds: must be 0 or more seconds'])

    const reseller = await accessToken(base, await newApiClient(db, ['reseller'], `r-${Date.now()}`))
    for (const [query, variables] of [
      [LIST, {}],
      [ROTATE, { id: admin.clientId }],
      [REVOKE, { id: admin.clientId }],
    ] as const) {
      const refused = await graphql(reseller, query, variables)
      expect([refused.status, refused.body.errors[0].extensions.code]).toEqual([403, 'FORBIDDEN'])
    }
    expect(await tokenStatus(admin.clientId, admin.clientSecret)).toBe(200)
  })
})
