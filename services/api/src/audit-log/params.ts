import { badParameter } from '../errors'
import type { AuditCursor, CursorCodec } from './cursor'

export interface AuditLogQuery {
  startDate?: string
  endDate?: string
  size?: string
  initiatorId?: string
  cursor?: string
}

export interface AuditLogRequest {
  /** ISO instants as given (microseconds kept), start inclusive, end exclusive. */
  readonly startDate: string
  readonly endDate: string
  readonly size: number
  readonly initiatorId: string | null
  readonly after: AuditCursor | undefined
}

const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/
const DAY_MS = 86_400_000

export function instant(parameter: string, text: string): { text: string; ms: number } {
  const ms = Date.parse(text)
  if (!ISO_INSTANT.test(text) || Number.isNaN(ms)) {
    throw badParameter(parameter, `must be an ISO instant such as 2022-11-08T14:53:43Z, got ${JSON.stringify(text)}`)
  }
  return { text, ms }
}

/**
 * The contract's parameters: size required 1..100; startDate inclusive, default now - 1 day;
 * endDate exclusive, default now; a window of at most 24 hours; a startDate no older than the
 * client's plan allows. With a cursor, the filters it was issued for apply, and any given
 * explicitly must be the same.
 */
export function parseAuditLogQuery(
  query: AuditLogQuery,
  now: Date,
  historyDays: number,
  cursors: CursorCodec,
): AuditLogRequest {
  if (query.size === undefined || query.size === '') throw badParameter('size', 'is required: an integer from 1 to 100')
  if (!/^\d{1,3}$/.test(query.size) || Number(query.size) < 1 || Number(query.size) > 100) {
    throw badParameter('size', `must be an integer from 1 to 100, got ${JSON.stringify(query.size)}`)
  }
  const size = Number(query.size)
  const initiatorId = query.initiatorId === undefined || query.initiatorId === '' ? null : query.initiatorId
  if (initiatorId !== null && initiatorId.length > 320)
    throw badParameter('initiatorId', 'is longer than 320 characters')
  // PostgreSQL text cannot hold NUL: no initiator has one, and the database would refuse to compare.
  if (initiatorId?.includes('\u0000')) throw badParameter('initiatorId', 'must not contain NUL characters')

  if (query.cursor !== undefined && query.cursor !== '') {
    const after = cursors.decode(query.cursor)
    const explicit: [string, string | null | undefined, string | null][] = [
      ['startDate', query.startDate, after.startDate],
      ['endDate', query.endDate, after.endDate],
      ['initiatorId', query.initiatorId === undefined ? undefined : initiatorId, after.initiatorId],
    ]
    for (const [name, given, bound] of explicit) {
      if (given !== undefined && given !== bound)
        throw badParameter(
          'cursor',
          `was issued for another ${name}; repeat the first request's parameters or leave them out`,
        )
    }
    return { startDate: after.startDate, endDate: after.endDate, size, initiatorId: after.initiatorId, after }
  }

  const end =
    query.endDate === undefined ? { text: now.toISOString(), ms: now.getTime() } : instant('endDate', query.endDate)
  const start =
    query.startDate === undefined
      ? { text: new Date(now.getTime() - DAY_MS).toISOString(), ms: now.getTime() - DAY_MS }
      : instant('startDate', query.startDate)
  if (start.ms < now.getTime() - historyDays * DAY_MS) {
    throw badParameter('startDate', `is earlier than the ${historyDays} days of history this client's plan allows`)
  }
  if (end.ms - start.ms > DAY_MS)
    throw badParameter('endDate', 'the window from startDate to endDate is longer than 24 hours')
  return { startDate: start.text, endDate: end.text, size, initiatorId, after: undefined }
}
