import type { FastifyInstance } from 'fastify'
import rateLimit from '@fastify/rate-limit'
import Type from 'typebox'
import type { Db } from '@radstream/db'
import type { ApiMetrics } from '../metrics'
import type { Authenticate } from '../auth/authenticate'
import { ApiError } from '../errors'
import { cursorCodec } from './cursor'
import { auditLogPage } from './page'
import { AUDIT_LOG_PARAMETERS, parseAuditLogQuery } from './params'
import { singleQueryValues } from '../query-params'

export interface AuditLogRouteOptions {
  readonly db: Db
  readonly authenticate: Authenticate
  readonly cursorKey: string
  readonly metrics: ApiMetrics
}

const Nullable = (schema: ReturnType<typeof Type.String>) => Type.Union([schema, Type.Null()])

const AuditLog = Type.Object(
  {
    id: Type.String(),
    timestamp: Type.String({ format: 'date-time', description: 'ISO-8601 UTC with microseconds' }),
    initiatorType: Type.String({ description: 'USER, SYSTEM, API_CLIENT or CLI' }),
    initiatorId: Type.String({ description: 'empty for events radstream itself initiates' }),
    initiatorName: Nullable(
      Type.String({ description: "the API client's name, the user's, the operator's login (user@host)" }),
    ),
    initiatorPublicIp: Nullable(Type.String({ description: "the caller's address, for API and CLI changes" })),
    operation: Type.String({ description: 'CREATE, UPDATE, DELETE, REJECT, DISCONNECT or CHANGE' }),
    entityType: Type.String(),
    entityId: Type.String(),
    entityName: Type.String(),
    entityParentType: Nullable(Type.String({ description: "USER for a session's events, RESELLER for a user's" })),
    entityParentId: Nullable(Type.String()),
    entityParentName: Nullable(Type.String()),
    description: Type.String(),
    fields: Type.Array(
      Type.Object({ name: Type.String(), oldValue: Nullable(Type.String()), newValue: Nullable(Type.String()) }),
    ),
    requestId: Type.String(),
  },
  { $id: 'AuditLogResponse' },
)

const AuditLogsResponse = Type.Object(
  {
    auditLogs: Type.Array(Type.Ref('AuditLogResponse')),
    nextCursor: Type.Optional(Type.String({ description: 'absent when there are no more auditLogs' })),
  },
  { $id: 'AuditLogsResponse' },
)

const ErrorBody = Type.Object({ error: Type.String(), parameter: Type.Optional(Type.String()), message: Type.String() })

const Query = Type.Object({
  startDate: Type.Optional(
    Type.String({ format: 'date-time', description: 'inclusive; ISO instant; default now - 1 day' }),
  ),
  endDate: Type.Optional(
    Type.String({
      format: 'date-time',
      description: 'exclusive; ISO instant; default now; at most 24 hours after startDate',
    }),
  ),
  size: Type.Integer({ format: 'int32', minimum: 1, maximum: 100, description: 'auditLogs per page, 1 to 100' }),
  initiatorId: Type.Optional(Type.String({ description: 'only events of this initiator' })),
  cursor: Type.Optional(Type.String({ description: 'the nextCursor of the previous page' })),
})

/**
 * GET /api/v1/audit-log, as the published Audit Log API: auditors (scope admin or auditor) page
 * through a time window with opaque, tamper-checked cursors, within their plan's history and
 * rate limit.
 */
export async function auditLogRoute(app: FastifyInstance, options: AuditLogRouteOptions): Promise<void> {
  const cursors = cursorCodec(options.cursorKey)
  // Named schemas, as the published contract names them (OpenAPI components AuditLogResponse and AuditLogsResponse).
  app.addSchema(AuditLog)
  app.addSchema(AuditLogsResponse)
  // Our own Retry-After (60, as the contract says) replaces the plugin's seconds-remaining one.
  await app.register(rateLimit, {
    global: false,
    hook: 'preHandler',
    addHeaders: {
      'x-ratelimit-limit': true,
      'x-ratelimit-remaining': true,
      'x-ratelimit-reset': true,
      'retry-after': false,
    },
  })

  app.get(
    '/api/v1/audit-log',
    {
      schema: {
        summary: 'Returns a list of AuditLogs by batches (up to 100 in a single request)',
        description: 'The maximum time window is 24 hours per request. Follow nextCursor until it is absent.',
        security: [{ oauth: [] }],
        querystring: Query,
        response: {
          200: Type.Ref('AuditLogsResponse'),
          400: ErrorBody,
          401: ErrorBody,
          403: ErrorBody,
          429: ErrorBody,
        },
      },
      // The schema documents the route (OpenAPI); parseAuditLogQuery checks it, naming the parameter.
      validatorCompiler: () => () => true,
      onRequest: async (request) => {
        request.principal = await options.authenticate(request.headers.authorization, ['admin', 'auditor'])
      },
      config: {
        rateLimit: {
          timeWindow: 60_000,
          max: async (request) => request.principal?.rateLimitPerMinute ?? 60,
          keyGenerator: (request) => request.principal?.clientId ?? request.ip,
          errorResponseBuilder: () => {
            options.metrics.rateLimited.inc({ endpoint: 'audit_log' })
            return new ApiError('RATE_LIMITED', 'Rate limit exceeded: retry after 1 minute', { 'retry-after': '60' })
          },
        },
      },
    },
    async (request) => {
      const principal = request.principal!
      const given = singleQueryValues(request.query, AUDIT_LOG_PARAMETERS)
      const query = parseAuditLogQuery(given, new Date(), principal, cursors)
      const page = await auditLogPage(options.db, query)
      return { auditLogs: page.items, ...(page.next && { nextCursor: cursors.encode(page.next) }) }
    },
  )
}
