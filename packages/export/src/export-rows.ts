import { sql, type RawBuilder } from 'kysely'
import { AUDIT_TIMESTAMP_FORMAT, auditFinalHorizon, type Db } from '@radstream/db'
import type { ExportRow } from './encode'

export const EXPORT_KINDS = ['sessions', 'audit'] as const
export type ExportKind = (typeof EXPORT_KINDS)[number]

export interface ExportRequest {
  readonly kind: ExportKind
  /** Sessions that started, or audit events that occurred, in [from, to). */
  readonly from: Date
  readonly to: Date
  /** Only this reseller's users' sessions; unset: all. */
  readonly resellerId?: number | undefined
}

const iso = (column: string) => sql`to_char(${sql.ref(column)} at time zone 'UTC', ${sql.raw(AUDIT_TIMESTAMP_FORMAT)})`
const text = (column: string) => sql`${sql.ref(column)}::text`
const host = (column: string) => sql`host(${sql.ref(column)})`

/** Each kind's columns, in the order every export has them (the CSV header), with how each is read. */
const COLUMNS: Record<ExportKind, readonly (readonly [string, RawBuilder<unknown>])[]> = {
  sessions: [
    ['id', text('id')],
    ['session_key', sql.ref('session_key')],
    ['username', sql.ref('username')],
    ['user_id', text('user_id')],
    ['session_id', sql.ref('session_id')],
    ['nas_ip_address', host('nas_ip_address')],
    ['nas_ipv6_address', host('nas_ipv6_address')],
    ['nas_identifier', sql.ref('nas_identifier')],
    ['nas_port_id', sql.ref('nas_port_id')],
    ['nas_port_type', sql.ref('nas_port_type')],
    ['start_time', iso('start_time')],
    ['update_time', iso('update_time')],
    ['stop_time', iso('stop_time')],
    ['session_time', text('session_time')],
    ['input_octets', text('input_octets')],
    ['output_octets', text('output_octets')],
    ['input_packets', text('input_packets')],
    ['output_packets', text('output_packets')],
    ['framed_ip_address', host('framed_ip_address')],
    ['framed_ipv6_address', host('framed_ipv6_address')],
    ['framed_ipv6_prefix', text('framed_ipv6_prefix')],
    ['delegated_ipv6_prefix', text('delegated_ipv6_prefix')],
    ['calling_station_id', sql.ref('calling_station_id')],
    ['called_station_id', sql.ref('called_station_id')],
    ['connect_info_start', sql.ref('connect_info_start')],
    ['connect_info_stop', sql.ref('connect_info_stop')],
    ['terminate_cause', sql.ref('terminate_cause')],
    ['closed_by', sql.ref('closed_by')],
  ],
  audit: [
    ['id', text('id')],
    ['occurred_at', iso('occurred_at')],
    ['chain_seq', text('chain_seq')],
    ['initiator_type', sql.ref('initiator_type')],
    ['initiator_id', sql.ref('initiator_id')],
    ['request_id', sql.ref('request_id')],
    ['operation', sql.ref('operation')],
    ['entity_type', sql.ref('entity_type')],
    ['entity_id', sql.ref('entity_id')],
    ['entity_name', sql.ref('entity_name')],
    ['description', sql.ref('description')],
    ['fields', sql.ref('fields')],
    ['hash', sql.ref('hash')],
    ['lane', sql.ref('lane')],
    ['initiator_name', sql.ref('initiator_name')],
    ['initiator_public_ip', host('initiator_public_ip')],
    ['entity_parent_type', sql.ref('entity_parent_type')],
    ['entity_parent_id', sql.ref('entity_parent_id')],
    ['entity_parent_name', sql.ref('entity_parent_name')],
  ],
}

/** The column names of a kind, in export order. */
export function exportColumns(kind: ExportKind): string[] {
  return COLUMNS[kind].map(([name]) => name)
}

/** Rows fetched from a server-side cursor this many at a time. */
const FETCH_ROWS = 1000

/**
 * The rows of an export, oldest first, read through a server-side cursor as the consumer asks for
 * them: memory stays flat whatever the size, and a consumer that stops (a client gone) closes the
 * cursor and frees its connection at once. Audit events end at the final horizon, below which
 * every event is committed: an export never misses one that commits later.
 */
export async function* exportRows(db: Db, request: ExportRequest): AsyncGenerator<ExportRow> {
  const selections = COLUMNS[request.kind].map(([name, expression]) => expression.as(name))
  if (request.kind === 'sessions') {
    let query = db
      .selectFrom('session_records as sessions')
      .select(selections)
      .where('start_time', '>=', request.from)
      .where('start_time', '<', request.to)
    if (request.resellerId !== undefined) {
      const reseller = request.resellerId
      query = query.where(sql<boolean>`user_id in (select id from users where reseller_id = ${reseller})`)
    }
    // Qualified: the bare names are the output columns (text), which would sort "1001" before "228".
    yield* query.orderBy('sessions.start_time').orderBy('sessions.id').stream(FETCH_ROWS)
    return
  }
  const horizon = await auditFinalHorizon(db)
  yield* db
    .selectFrom('audit_events')
    .select(selections)
    .where('occurred_at', '>=', request.from)
    .where(sql<boolean>`occurred_at < least(${request.to}::timestamptz, ${horizon}::timestamptz)`)
    .orderBy('audit_events.occurred_at')
    .orderBy('audit_events.id')
    .stream(FETCH_ROWS)
}
