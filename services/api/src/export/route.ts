import { pipeline } from 'node:stream'
import { createGzip } from 'node:zlib'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import Type from 'typebox'
import type { ApiScope, Db } from '@radstream/db'
import { EXPORT_CONTENT_TYPES, exportColumns, exportStream, isExportFormat, type ExportKind } from '@radstream/export'
import type { Authenticate } from '../auth/authenticate'
import { resellerScope } from '../auth/principal'
import { instant } from '../audit-log/params'
import { badParameter } from '../errors'
import { singleQueryValues } from '../query-params'
import type { ExportGate } from './export-gate'

export interface ExportRouteOptions {
  /** The exports' own pool (EXPORT_POOL_SIZE connections), apart from the API's. */
  readonly db: Db
  readonly authenticate: Authenticate
  readonly gate: ExportGate
}

const EXPORT_PARAMETERS = ['from', 'to', 'format'] as const
type ExportQuery = Partial<Record<(typeof EXPORT_PARAMETERS)[number], string>>

const DAY_MS = 86_400_000

const Query = Type.Object({
  from: Type.String({ description: 'ISO-8601 UTC instant, inclusive (e.g. 2025-03-01T00:00:00Z)' }),
  to: Type.String({ description: 'ISO-8601 UTC instant, exclusive' }),
  format: Type.Optional(Type.Union([Type.Literal('ndjson'), Type.Literal('csv')], { default: 'ndjson' })),
})

/** from and to required, to after from; format ndjson (default) or csv; a 400 names the parameter. */
function parseExportQuery(query: ExportQuery, historyDays: number | undefined, now: number) {
  if (!query.from) throw badParameter('from', 'is required: an ISO instant such as 2025-03-01T00:00:00Z')
  if (!query.to) throw badParameter('to', 'is required: an ISO instant such as 2025-04-01T00:00:00Z')
  const from = instant('from', query.from)
  const to = instant('to', query.to)
  if (to.ms <= from.ms) throw badParameter('to', 'must be after from')
  const format = query.format ?? 'ndjson'
  if (!isExportFormat(format)) throw badParameter('format', `must be ndjson or csv, got ${JSON.stringify(format)}`)
  if (historyDays !== undefined && from.ms < now - historyDays * DAY_MS)
    throw badParameter('from', `is before the ${historyDays} days of history this client may read`)
  return { from: new Date(from.ms), to: new Date(to.ms), format }
}

const EXPORTS: readonly {
  path: string
  kind: ExportKind
  scopes: readonly ApiScope[]
  summary: string
  description: string
}[] = [
  {
    path: '/api/v1/sessions/export',
    kind: 'sessions',
    scopes: ['admin', 'reseller'],
    summary: 'Streams the sessions that started in [from, to), oldest first, as NDJSON or CSV',
    description: `Scope admin (every session) or reseller (its users' only). Columns, in this order (the CSV header): ${exportColumns('sessions').join(', ')}. Times are ISO-8601 UTC with microseconds, octets decimal text, empty (CSV) or null (NDJSON) when unknown. CSV is RFC 4180 (CRLF, quoted where needed). Send Accept-Encoding: gzip for a gzipped stream.`,
  },
  {
    path: '/api/v1/audit-log/export',
    kind: 'audit',
    scopes: ['admin', 'auditor'],
    summary: "Streams the audit events that occurred in [from, to), in the audit log's order, as NDJSON or CSV",
    description: `Scope admin or auditor, within the client's history; ordered by occurred_at, then id (the audit log's order). Columns: ${exportColumns('audit').join(', ')} (fields as JSON). Events end at the moment below which all are committed, so a later export of the same window has every event this one had, and none in between. Accept-Encoding: gzip for gzip.`,
  },
]

/** Sends an export as a stream: PostgreSQL is read only as fast as the client takes it. */
function sendExport(request: FastifyRequest, reply: FastifyReply, options: ExportRouteOptions, kind: ExportKind) {
  const { db } = options
  const principal = request.principal!
  const query = parseExportQuery(
    singleQueryValues(request.query, EXPORT_PARAMETERS),
    kind === 'audit' ? principal.auditHistoryDays : undefined,
    Date.now(),
  )
  const resellerId = kind === 'sessions' ? resellerScope(principal) : undefined
  // Held until the response ends or its client goes away, whichever comes first.
  reply.raw.once('close', options.gate.enter(principal.clientId))
  const body = exportStream(db, { kind, from: query.from, to: query.to, resellerId }, query.format)
  const name = `radstream-${kind}-${query.from.toISOString()}-${query.to.toISOString()}.${query.format}`
  reply
    .header('content-type', EXPORT_CONTENT_TYPES[query.format])
    .header('content-disposition', `attachment; filename="${name.replaceAll(':', '')}"`)
    .header('cache-control', 'no-store')
    .header('vary', 'accept-encoding')
  if (!/\bgzip\b/.test(request.headers['accept-encoding'] ?? '')) return reply.send(body)
  // A client gone mid-stream destroys the gzip stream, and pipeline the rows' cursor with it.
  const gzip = pipeline(body, createGzip(), (error) => {
    if (error && error.code !== 'ERR_STREAM_PREMATURE_CLOSE') request.log.warn({ err: error }, 'export failed')
  })
  return reply.header('content-encoding', 'gzip').send(gzip)
}

/** GET /api/v1/sessions/export and /api/v1/audit-log/export. */
export async function exportRoutes(app: FastifyInstance, options: ExportRouteOptions): Promise<void> {
  for (const route of EXPORTS) {
    app.get(
      route.path,
      {
        schema: {
          summary: route.summary,
          description: route.description,
          security: [{ oauth: [] }],
          querystring: Query,
          produces: ['application/x-ndjson', 'text/csv'],
        },
        // The schema documents the route (OpenAPI); parseExportQuery checks it, naming the parameter.
        validatorCompiler: () => () => true,
        onRequest: async (request) => {
          request.principal = await options.authenticate(request.headers.authorization, route.scopes)
        },
      },
      async (request, reply) => sendExport(request, reply, options, route.kind),
    )
  }
}
