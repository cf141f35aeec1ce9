import { badParameter } from '../errors'
import { parseInstant } from '../instant'
import type { AuditCursor, CursorCodec } from './cursor'

export const AUDIT_LOG_PARAMETERS = ['startDate', 'endDate', 'size', 'initiatorId', 'cursor'] as const

export type AuditLogQuery = Partial<Record<(typeof AUDIT_LOG_PARAMETERS)[number], string>>

export interface AuditLogRequest {
  /** Who asks: the next page's cursor is theirs alone. */
  readonly clientId: string
  /** ISO instants as given (microseconds kept), start inclusive, end exclusive. */
  readonly startDate: string
  readonly endDate: string
  readonly size: number
  readonly initiatorId: string | null
  readonly after: AuditCursor | undefined
}

const DAY_MS = 86_400_000

/** A REST parameter that must be an ISO instant in UTC (ISO_INSTANT, as the contract says). */
export function instant(parameter: string, text: string): { text: string; ms: number } {
  const ms = parseInstant(text, { utcOnly: true })
  if (ms === undefined) {
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
  client: { readonly clientId: string; readonly auditHistoryDays: number },
  cursors: CursorCodec,
): AuditLogRequest {
  const historyDays = client.auditHistoryDays
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
    if (after.clientId !== client.clientId) throw badParameter('cursor', 'was issued to another client')
    // The plan's history is checked again on every page: a window that has left it is closed to it.
    if (Date.parse(after.startDate) < now.getTime() - historyDays * DAY_MS)
      throw badParameter(
        'cursor',
        `its window is now earlier than the ${historyDays} days of history this client's plan allows`,
      )
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
    return {
      clientId: client.clientId,
      startDate: after.startDate,
      endDate: after.endDate,
      size,
      initiatorId: after.initiatorId,
      after,
    }
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
  return { clientId: client.clientId, startDate: start.text, endDate: end.text, size, initiatorId, after: undefined }
}
