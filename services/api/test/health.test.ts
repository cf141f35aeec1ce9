import { afterAll, describe, expect, it } from 'vitest'
import { inject } from 'vitest'
import { createLogger } from '@radstream/config'
import { createDb } from '@radstream/db'
import { buildApp } from '../src'

const logger = createLogger('silent', 'test')

describe('GET /healthz', () => {
  const live = createDb({ url: inject('databaseUrl'), poolSize: 1 })
  // Nothing listens on port 1: a real connection attempt that is refused.
  const dead = createDb({ url: 'postgres://postgres@127.0.0.1:1/radstream', poolSize: 1 })
  afterAll(async () => Promise.all([live.destroy(), dead.destroy()]))

  it('should answer 200 when PostgreSQL and Kafka answer', async () => {
    const app = await buildApp({ db: live, logger, kafkaReachable: async () => true, tokenSigningKey: 'k' })
    const response = await app.inject({ method: 'GET', url: '/healthz' })
    expect(response.statusCode).toBe(200)
    expect(response.json()).toEqual({ status: 'ok', database: 'up', kafka: 'up' })
  })

  it('should answer 503 naming PostgreSQL when it does not answer', async () => {
    const app = await buildApp({ db: dead, logger, kafkaReachable: async () => true, tokenSigningKey: 'k' })
    const response = await app.inject({ method: 'GET', url: '/healthz' })
    expect(response.statusCode).toBe(503)
    expect(response.json()).toEqual({ status: 'unavailable', database: 'down', kafka: 'up' })
  })

  it('should answer 503 naming Kafka when it does not answer', async () => {
    const app = await buildApp({ db: live, logger, kafkaReachable: async () => false, tokenSigningKey: 'k' })
    const response = await app.inject({ method: 'GET', url: '/healthz' })
    expect(response.statusCode).toBe(503)
    expect(response.json()).toMatchObject({ database: 'up', kafka: 'down' })
  })
})
