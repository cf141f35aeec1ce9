import type { FastifyInstance } from 'fastify'
import { isDatabaseReachable, type Db } from '@radstream/db'

export interface HealthDeps {
  readonly db: Db
  /** True when Kafka answers; cached by the caller so probes cannot hammer the broker. */
  readonly kafkaReachable: () => Promise<boolean>
}

/** GET /healthz: 200 only when both PostgreSQL and Kafka answer, else 503 naming what does not. */
export async function healthRoutes(app: FastifyInstance, deps: HealthDeps): Promise<void> {
  app.get('/healthz', async (_request, reply) => {
    const [database, kafka] = await Promise.all([isDatabaseReachable(deps.db), deps.kafkaReachable()])
    const ok = database && kafka
    return reply
      .code(ok ? 200 : 503)
      .send({ status: ok ? 'ok' : 'unavailable', database: database ? 'up' : 'down', kafka: kafka ? 'up' : 'down' })
  })
}
