import { randomUUID } from 'node:crypto'
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply } from 'fastify'
import formbody from '@fastify/formbody'
import jwt from '@fastify/jwt'
import swagger from '@fastify/swagger'
import mercurius from 'mercurius'
import fastifyMetrics from 'fastify-metrics'
import {
  loadSettings,
  type ApiLimits,
  type DynamicAuthorizationSettings,
  type Logger,
  type Settings,
} from '@radstream/config'
import type { Db } from '@radstream/db'
import { auditLogRoute } from './audit-log/route'
import { exportRoutes } from './export/route'
import { ExportGate } from './export/export-gate'
import { perClientLimiter } from './per-client-limiter'
import { queryCost } from './graphql/query-cost'
import { consoleRoute } from './console-route'
import { createAuthenticator } from './auth/authenticate'
import { tokenRoute } from './auth/token-route'
import type { FailureLimits } from './auth/failure-throttle'
import { ApiError } from './errors'
import { maxSelections } from './graphql/complexity'
import { formatErrors } from './graphql/error-formatter'
import { buildResolvers } from './graphql/resolvers'
import { schema } from './graphql/schema'
import { startSessionEventHub } from './graphql/session-events'
import { SubscriptionGuard } from './graphql/subscription-guard'
import { countGraphqlOperations } from './graphql/operation-metrics'
import { healthRoutes } from './health'
import { ApiMetrics } from './metrics'
import { isDatabaseDown } from './database-errors'

export interface AppDeps {
  readonly db: Db
  readonly logger: Logger
  readonly kafkaReachable: () => Promise<boolean>
  readonly tokenSigningKey: string
  readonly tokenTtlSeconds?: number
  /** Failed token requests allowed; unset: the defaults. */
  readonly tokenFailureLimits?: FailureLimits
  readonly graphiql?: boolean
  /** Disconnect and CoA timing and rate limit; unset: the defaults. */
  readonly dynamicAuthorization?: DynamicAuthorizationSettings
  /** Where the sessionEvents subscription LISTENs; without it the subscription stays silent. */
  readonly databaseUrl?: string
  /** The built console to serve at /console; unset: no console. */
  readonly consoleDir?: string
  /** What one client may ask; unset: the defaults. */
  readonly limits?: ApiLimits
  /** The exports' own pool (EXPORT_POOL_SIZE connections); unset: `db`'s. */
  readonly exportDb?: Db
  /** Where the app counts; the caller serves its registry on the ops port. Unset: counted, unserved. */
  readonly metrics?: ApiMetrics
}

/** The token endpoint's throttle, from the API settings. */
export function failureLimits(settings: Settings): FailureLimits {
  return {
    perClientAndAddress: settings.api.tokenFailuresPerClientAndAddress,
    perAddress: settings.api.tokenFailuresPerAddress,
    windowMs: settings.api.tokenFailureWindowSeconds * 1000,
  }
}

const TOKEN_ISSUER = 'radstream'
const TOKEN_AUDIENCE = 'radstream-api'
const GRAPHQL_SCOPES = ['admin', 'reseller'] as const

function sendGraphqlError(reply: FastifyReply, error: ApiError) {
  return reply
    .code(error.statusCode)
    .headers(error.headers)
    .send({ errors: [{ message: error.message, extensions: { code: error.code } }], data: null })
}

/** The API as a Fastify instance, not yet listening: tests drive it with inject(). */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    bodyLimit: 1024 * 1024,
    // Request ids end up in audit events: unique across restarts and instances.
    genReqId: () => randomUUID(),
  })
  await app.register(formbody)
  await app.register(jwt, {
    secret: deps.tokenSigningKey,
    sign: { algorithm: 'HS256', iss: TOKEN_ISSUER, aud: TOKEN_AUDIENCE },
    // A token verified once is not decoded and its signature not checked again until it expires
    // (fast-jwt's cache; a revoked client is still refused within seconds, authenticate.ts).
    verify: { algorithms: ['HS256'], allowedIss: TOKEN_ISSUER, allowedAud: TOKEN_AUDIENCE, cache: true },
  })

  const metrics = deps.metrics ?? new ApiMetrics()
  await app.register(fastifyMetrics, {
    // Served on the ops port (API_METRICS_HOST, loopback unless configured), not beside the API.
    endpoint: null,
    defaultMetrics: { enabled: true, register: metrics.registry, prefix: 'radstream_api_' },
    routeMetrics: {
      enabled: { histogram: true, summary: false },
      // Route patterns (/api/v1/audit-log), never raw URLs: bounded label values.
      registeredRoutesOnly: true,
      overrides: {
        labels: { route: 'route', status: 'status' },
        histogram: {
          name: 'radstream_api_http_request_duration_seconds',
          help: 'HTTP request duration by method, route and status',
          buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
          registers: [metrics.registry],
        },
        // Disabled above, yet the plugin makes it anyway: in no registry, not the global one.
        summary: { registers: [] },
      },
    },
  })

  app.setErrorHandler((error, request, reply) => {
    if (error instanceof ApiError) {
      return reply
        .code(error.statusCode)
        .headers(error.headers)
        .send({ error: error.code, ...error.details, message: error.message })
    }
    if (isDatabaseDown(error)) {
      request.log.warn({ err: error }, 'database unavailable')
      return reply
        .code(503)
        .header('retry-after', '5')
        .send({ error: 'SERVICE_UNAVAILABLE', message: 'the database is unavailable; retry shortly' })
    }
    const status = (error as { statusCode?: number }).statusCode
    if (status && status >= 400 && status < 500) {
      return reply.code(status).send({ error: 'BAD_USER_INPUT', message: (error as Error).message })
    }
    request.log.error({ err: error }, 'request failed')
    return reply.code(500).send({ error: 'INTERNAL', message: 'internal error' })
  })

  const authenticate = createAuthenticator(app, deps.db)
  const limits = deps.limits ?? loadSettings({}).api.limits
  const admitGraphql = perClientLimiter(limits.graphqlRequestsPerMinute, 'GraphQL requests')

  await app.register(swagger, {
    // Schemas added with an $id are components under that name (not def-0, def-1, ...).
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => String(json.$id ?? `def-${i}`) },
    openapi: {
      openapi: '3.0.3',
      info: { title: 'radstream REST API', version: '1.0.0', description: 'The auditor REST API of radstream' },
      components: {
        securitySchemes: {
          oauth: {
            type: 'oauth2',
            flows: {
              clientCredentials: {
                tokenUrl: '/api/v1/oauth/token',
                scopes: { admin: 'everything', auditor: 'the audit log' },
              },
            },
          },
        },
      },
    },
  })
  await app.register(healthRoutes, { db: deps.db, kafkaReachable: deps.kafkaReachable })
  await app.register(auditLogRoute, { db: deps.db, authenticate, cursorKey: deps.tokenSigningKey, metrics })
  await app.register(exportRoutes, {
    db: deps.exportDb ?? deps.db,
    authenticate,
    gate: new ExportGate({ perClient: limits.exportsPerClient, total: limits.exportPoolSize }),
  })
  if (deps.consoleDir) await app.register(consoleRoute, { dir: deps.consoleDir })
  app.get('/api/v1/openapi.json', { schema: { hide: true } }, async () => app.swagger())
  await app.register(tokenRoute, {
    db: deps.db,
    tokenTtlSeconds: deps.tokenTtlSeconds ?? 3600,
    failureLimits: deps.tokenFailureLimits ?? failureLimits(loadSettings({})),
    metrics,
  })
  const subscriptionGuard = new SubscriptionGuard(deps.db, deps.logger)
  app.addHook('onClose', async () => subscriptionGuard.stop())
  await app.register(mercurius, {
    schema,
    resolvers: buildResolvers(
      deps.db,
      deps.dynamicAuthorization ?? loadSettings({}).dynamicAuthorization,
      subscriptionGuard,
    ),
    graphiql: deps.graphiql ?? false,
    path: '/graphql',
    queryDepth: 8,
    // Queries seen once are compiled to JavaScript (graphql-jit) from the second time on.
    jit: 1,
    validationRules: [maxSelections(300)],
    errorFormatter: formatErrors,
    context: (request) => ({ principal: request.principal!, requestId: request.id, ip: request.ip }),
    subscription: {
      // The socket, for the guard that ends it when its principal lapses.
      context: (socket) => ({ socket }),
      // WebSocket clients authenticate in the connection_init payload: { authorization: "Bearer ..." }.
      onConnect: async ({ payload }: { payload?: { authorization?: string } }) => {
        try {
          const principal = await authenticate(payload?.authorization, GRAPHQL_SCOPES)
          metrics.subscriptionsOpen.inc()
          return { principal, requestId: randomUUID(), subscriptionOpen: { counted: true } }
        } catch {
          return false
        }
      },
      // Called for refused connections too, and can be called twice for one: counted once, if signed in.
      onDisconnect: (context) => {
        const open = (context as { subscriptionOpen?: { counted: boolean } }).subscriptionOpen
        if (!open?.counted) return
        open.counted = false
        metrics.subscriptionsOpen.dec()
      },
    },
  })
  // After mercurius, whose WebSocket plugin marks requests that arrived as a real upgrade
  // (request.ws): those authenticate in their connection_init message instead (onConnect). A plain
  // request that merely carries an Upgrade header is authenticated like any other.
  app.addHook('onRequest', async (request, reply) => {
    // request.ws is @fastify/websocket's (mercurius's dependency, not ours: hence the cast).
    if (request.routeOptions.url !== '/graphql' || (request as { ws?: boolean }).ws === true) return
    try {
      request.principal = await authenticate(request.headers.authorization, GRAPHQL_SCOPES)
      admitGraphql(request.principal.clientId)
    } catch (error) {
      if (error instanceof ApiError && error.code === 'RATE_LIMITED') metrics.rateLimited.inc({ endpoint: 'graphql' })
      if (error instanceof ApiError) return sendGraphqlError(reply, error)
      throw error
    }
  })
  app.graphql.addHook('preExecution', async (_schema, document, context, variables) => {
    // The hook is not told which operation runs; the request says (a POST body, or a GET's query).
    const { request } = context.reply
    const { operationName } = (request.body ?? request.query ?? {}) as { operationName?: string }
    const cost = queryCost(document, typeof operationName === 'string' ? operationName : undefined, variables)
    if (cost > limits.graphqlMaxCost)
      throw new mercurius.ErrorWithProps(
        `the query may read ${cost} rows, more than the ${limits.graphqlMaxCost} one request may: ask for smaller pages or fewer fields at once`,
        { code: 'QUERY_TOO_COMPLEX' },
        400,
      )
  })
  countGraphqlOperations(app, metrics)

  if (deps.databaseUrl) {
    const hub = startSessionEventHub(
      deps.databaseUrl,
      deps.db,
      (event) => void app.graphql.pubsub.publish(event),
      deps.logger,
    )
    app.addHook('onClose', async () => hub.stop())
  }
  return app
}
