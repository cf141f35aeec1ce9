import type { Logger, Settings } from '@radstream/config'
import { createDb } from '@radstream/db'
import { createKafka, isKafkaReachable } from '@radstream/kafka'
import { startOpsServer } from '@radstream/ops'
import { buildApp, failureLimits } from './app'
import { ApiMetrics } from './metrics'
import { tokenSigningKey } from './auth/signing-key'

export interface RunningApi {
  readonly port: number
  /** Stops accepting, lets in-flight requests finish, closes the pool. */
  stop(): Promise<void>
}

/** Remembers a probe's answer for `ttlMs`, so health checks cannot hammer what they check. */
function cached(probe: () => Promise<boolean>, ttlMs: number): () => Promise<boolean> {
  let last: { at: number; value: Promise<boolean> } | undefined
  return () => {
    if (!last || Date.now() - last.at > ttlMs) last = { at: Date.now(), value: probe() }
    return last.value
  }
}

export async function startApi(settings: Settings, logger: Logger): Promise<RunningApi> {
  const log = logger.child({ component: 'api' })
  const db = createDb({
    url: settings.database.url,
    poolSize: settings.database.poolSize,
    applicationName: 'radstream-api',
    // Planning a read of live and archived sessions (a partition a month) takes longer than
    // running it: measured, a history page's p50 went from 2.2 to 1.1 ms prepared.
    preparedStatements: settings.database.preparedStatements,
  })
  const kafka = createKafka({ ...settings.kafka, clientId: `${settings.kafka.clientId}-api` })
  // Exports hold a connection as long as their client reads: a pool of their own, so slow readers
  // never take the connections every other request needs.
  const exportDb = createDb({
    url: settings.database.url,
    poolSize: settings.api.limits.exportPoolSize,
    applicationName: 'radstream-api-export',
  })
  const metrics = new ApiMetrics()
  const app = await buildApp({
    db,
    exportDb,
    metrics,
    limits: settings.api.limits,
    logger: log,
    kafkaReachable: cached(() => isKafkaReachable(kafka, settings.kafka.brokers), 2000),
    graphiql: settings.api.graphiql,
    tokenSigningKey: await tokenSigningKey(db, settings.api.tokenSecret?.reveal()),
    tokenTtlSeconds: settings.api.tokenTtlSeconds,
    dynamicAuthorization: settings.dynamicAuthorization,
    tokenFailureLimits: failureLimits(settings),
    databaseUrl: settings.database.url,
    consoleDir: settings.api.consoleDir,
  })
  await app.listen({ host: settings.api.host, port: settings.api.port })
  const ops = await startOpsServer(settings.api.metricsHost, settings.api.metricsPort, {
    registry: metrics.registry,
    ready: () => true,
  })
  const address = app.server.address()
  const port = typeof address === 'object' && address ? address.port : settings.api.port
  return {
    port,
    async stop() {
      await app.close()
      await new Promise((resolve) => ops.close(resolve))
      await Promise.all([db.destroy(), exportDb.destroy()])
    },
  }
}
