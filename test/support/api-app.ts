import type { FastifyInstance } from 'fastify'
import { createLogger } from '@radstream/config'
import type { Db } from '@radstream/db'
import { buildApp, type AppDeps } from '../../services/api/src'
import { tokenSigningKey } from '../../services/api/src/auth/signing-key'

/** The real API app on a free loopback port, signing tokens with the key the migrations stored. */
export async function listeningApi(
  db: Db,
  options: Partial<AppDeps> = {},
): Promise<{ app: FastifyInstance; base: string }> {
  const app = await buildApp({
    db,
    logger: createLogger('silent', 'test'),
    kafkaReachable: async () => true,
    tokenSigningKey: await tokenSigningKey(db, undefined),
    ...options,
  })
  await app.listen({ host: '127.0.0.1', port: 0 })
  return { app, base: `http://127.0.0.1:${(app.server.address() as { port: number }).port}` }
}
