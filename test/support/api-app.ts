import type { FastifyInstance } from 'fastify'
import { createLogger } from '@radstream/config'
import type { Db } from '@radstream/db'
import { startOpsServer } from '@radstream/ops'
import { buildApp, type AppDeps } from '../../services/api/src'
import { tokenSigningKey } from '../../services/api/src/auth/signing-key'
import { ApiMetrics } from '../../services/api/src/metrics'

/**
 * The real API app on a free loopback port, signing tokens with the key the migrations stored,
 * and its metrics on an ops port of their own, as `radstream api` serves them.
 */
export async function listeningApi(
  db: Db,
  options: Partial<AppDeps> = {},
): Promise<{ app: FastifyInstance; base: string; metricsBase: string }> {
  const metrics = options.metrics ?? new ApiMetrics()
  const app = await buildApp({
    db,
    logger: createLogger('silent', 'test'),
    kafkaReachable: async () => true,
    tokenSigningKey: await tokenSigningKey(db, undefined),
    metrics,
    ...options,
  })
  const ops = await startOpsServer('127.0.0.1', 0, { registry: metrics.registry, ready: () => true })
  app.addHook('onClose', () => new Promise<void>((resolve) => ops.close(() => resolve())))
  await app.listen({ host: '127.0.0.1', port: 0 })
  const port = (server: { address(): unknown }) => (server.address() as { port: number }).port
  return { app, base: `http://127.0.0.1:${port(app.server)}`, metricsBase: `http://127.0.0.1:${port(ops)}` }
}
