import { isIP } from 'node:net'
import { sql, type ExpressionBuilder, type SelectQueryBuilder } from 'kysely'
import type { Database, Db } from '@radstream/db'
import { ApiError } from '../errors'
import { decodeCursor } from './cursor'

/** The GraphQL ConnectionRecord: the contract's fields, then radstream's additions. */
export interface ConnectionRecord {
  readonly id: string
  readonly sessionId: string
  readonly nasIpAddress: string
  readonly nasPortId: string | null
  readonly nasPortType: string | null
  readonly startTime: Date
  readonly stopTime: Date | null
  readonly connectInfoStart: string | null
  readonly callingStationId: string | null
  readonly terminateCause: string | null
  readonly framedIpAddress: string | null
  readonly userId: number | null
  readonly username: string | null
  readonly updateTime: Date | null
  readonly framedIpv6Address: string | null
  readonly framedIpv6Prefix: string | null
  readonly delegatedIpv6Prefix: string | null
  readonly inputOctets: string | null
  readonly outputOctets: string | null
  readonly sessionTime: string | null
}

export interface Page {
  readonly first: number
  readonly after?: string | null | undefined
}

export const DEFAULT_PAGE = 100
export const MAX_PAGE = 1000

export function pageSize(first: number | null | undefined): number {
  if (first === null || first === undefined) return DEFAULT_PAGE
  if (!Number.isInteger(first) || first < 1 || first > MAX_PAGE) {
    throw new ApiError('BAD_USER_INPUT', `first: must be an integer from 1 to ${MAX_PAGE}`)
  }
  return first
}

type SessionQuery = SelectQueryBuilder<Database, 'sessions', object>

function selectRecord(query: SessionQuery) {
  return query.select((eb) => [
    sql<string>`sessions.id::text`.as('id'),
    'sessions.session_id as sessionId',
    sql<string>`host(sessions.nas_ip_address)`.as('nasIpAddress'),
    'sessions.nas_port_id as nasPortId',
    'sessions.nas_port_type as nasPortType',
    'sessions.start_time as startTime',
    'sessions.stop_time as stopTime',
    'sessions.connect_info_start as connectInfoStart',
    'sessions.calling_station_id as callingStationId',
    'sessions.terminate_cause as terminateCause',
    sql<string | null>`host(sessions.framed_ip_address)`.as('framedIpAddress'),
    'sessions.user_id as userId',
    'sessions.username as username',
    'sessions.update_time as updateTime',
    sql<string | null>`host(sessions.framed_ipv6_address)`.as('framedIpv6Address'),
    sql<string | null>`sessions.framed_ipv6_prefix::text`.as('framedIpv6Prefix'),
    sql<string | null>`sessions.delegated_ipv6_prefix::text`.as('delegatedIpv6Prefix'),
    'sessions.input_octets as inputOctets',
    'sessions.output_octets as outputOctets',
    eb.cast<string | null>('sessions.session_time', 'text').as('sessionTime'),
  ])
}

/** Newest first, after the cursor if one is given: (start_time, id) descending, one index scan. */
function newestFirst(query: SessionQuery, page: Page): SessionQuery {
  let paged = query.orderBy('sessions.start_time', 'desc').orderBy('sessions.id', 'desc').limit(page.first)
  if (page.after) {
    const cursor = decodeCursor(page.after)
    paged = paged.where((eb) =>
      eb(eb.refTuple('sessions.start_time', 'sessions.id'), '<', eb.tuple(cursor.startTime, cursor.id)),
    )
  }
  return paged
}

/** Confines a query on sessions to the users of one reseller. */
function ofReseller(resellerId: number | undefined) {
  return (eb: ExpressionBuilder<Database, 'sessions'>) =>
    resellerId === undefined
      ? eb.val(true)
      : eb.exists(
          eb
            .selectFrom('users')
            .select('users.id')
            .whereRef('users.id', '=', 'sessions.user_id')
            .where('users.reseller_id', '=', resellerId),
        )
}

/** A user, or undefined when there is none the caller may see (a reseller sees only its own). */
export async function findUser(db: Db, where: { id: number } | { username: string }, resellerId: number | undefined) {
  // No stored username contains NUL (PostgreSQL text cannot), and the database would refuse the comparison.
  if ('username' in where && where.username.includes('\u0000')) return undefined
  let query = db
    .selectFrom('users')
    .leftJoin('resellers', 'resellers.id', 'users.reseller_id')
    .select(['users.id', 'users.username', 'resellers.name as reseller'])
  query = 'id' in where ? query.where('users.id', '=', where.id) : query.where('users.username', '=', where.username)
  if (resellerId !== undefined) query = query.where('users.reseller_id', '=', resellerId)
  return query.executeTakeFirst()
}

export async function connectionHistory(
  db: Db,
  userId: number,
  range: { from?: Date | null | undefined; to?: Date | null | undefined },
  page: Page,
): Promise<ConnectionRecord[]> {
  let query: SessionQuery = db.selectFrom('sessions').where('sessions.user_id', '=', userId)
  if (range.from) query = query.where('sessions.start_time', '>=', range.from)
  if (range.to) query = query.where('sessions.start_time', '<', range.to)
  return selectRecord(newestFirst(query, page)).execute()
}

export async function onlineSessions(
  db: Db,
  filter: {
    nasIpAddress?: string | null | undefined
    userId?: number | null | undefined
    resellerId: number | undefined
  },
  page: Page,
): Promise<ConnectionRecord[]> {
  let query: SessionQuery = db
    .selectFrom('sessions')
    .where('sessions.stop_time', 'is', null)
    .where(ofReseller(filter.resellerId))
  if (filter.nasIpAddress) {
    if (isIP(filter.nasIpAddress) === 0) throw new ApiError('BAD_USER_INPUT', 'nasIpAddress: not an IP address')
    query = query.where(sql<boolean>`sessions.nas_ip_address = ${filter.nasIpAddress}::inet`)
  }
  if (filter.userId !== null && filter.userId !== undefined) query = query.where('sessions.user_id', '=', filter.userId)
  return selectRecord(newestFirst(query, page)).execute()
}

/**
 * The sessions that held `ip` at instant `at`: started at or before it and not stopped by then.
 * IPv4 matches Framed-IP-Address; IPv6 matches Framed-IPv6-Address or falls within
 * Framed-IPv6-Prefix or Delegated-IPv6-Prefix.
 */
export async function whoHadIp(
  db: Db,
  ip: string,
  at: Date,
  resellerId: number | undefined,
): Promise<ConnectionRecord[]> {
  const family = isIP(ip)
  if (family === 0) throw new ApiError('BAD_USER_INPUT', 'ip: not an IPv4 or IPv6 address')
  const holds =
    family === 4
      ? sql<boolean>`sessions.framed_ip_address = ${ip}::inet`
      : sql<boolean>`(sessions.framed_ipv6_address = ${ip}::inet or sessions.framed_ipv6_prefix >>= ${ip}::inet or sessions.delegated_ipv6_prefix >>= ${ip}::inet)`
  const query: SessionQuery = db
    .selectFrom('sessions')
    .where(holds)
    .where('sessions.start_time', '<=', at)
    .where((eb) => eb.or([eb('sessions.stop_time', 'is', null), eb('sessions.stop_time', '>', at)]))
    .where(ofReseller(resellerId))
    .orderBy('sessions.start_time', 'desc')
    .orderBy('sessions.id', 'desc')
    .limit(MAX_PAGE)
  return selectRecord(query).execute()
}

/** Sessions by FreeRADIUS key, with the reseller of their user, for subscription events. */
export async function sessionsByKey(
  db: Db,
  keys: readonly string[],
): Promise<(ConnectionRecord & { resellerId: number | null })[]> {
  const query = selectRecord(
    db.selectFrom('sessions').where(sql<boolean>`sessions.session_key = any(${keys}::text[])`) as SessionQuery,
  ).select((eb) =>
    eb.selectFrom('users').select('users.reseller_id').whereRef('users.id', '=', 'sessions.user_id').as('resellerId'),
  )
  return query.execute()
}
