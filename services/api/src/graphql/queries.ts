import { isIP } from 'node:net'
import { sql, type RawBuilder, type SelectQueryBuilder } from 'kysely'
import { mayHoldAt, mayHoldWithin, type Database, type Db } from '@radstream/db'
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
  readonly stopTimeLatest: Date | null
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

/**
 * Every session, live or archived (migration 0024), under the name `sessions` that the queries'
 * columns use. Open sessions are all live: what reads only those reads `sessions` itself.
 */
const everySession = (db: Db): SessionQuery => db.selectFrom('session_records as sessions') as SessionQuery

/** How each ConnectionRecord field is read from the sessions table. */
const RECORD_COLUMNS = {
  id: sql<string>`sessions.id::text`,
  sessionId: sql<string>`sessions.session_id`,
  nasIpAddress: sql<string>`host(sessions.nas_ip_address)`,
  nasPortId: sql<string | null>`sessions.nas_port_id`,
  nasPortType: sql<string | null>`sessions.nas_port_type`,
  startTime: sql<Date>`sessions.start_time`,
  stopTime: sql<Date | null>`sessions.stop_time`,
  stopTimeLatest: sql<Date | null>`sessions.stop_time_latest`,
  connectInfoStart: sql<string | null>`sessions.connect_info_start`,
  callingStationId: sql<string | null>`sessions.calling_station_id`,
  terminateCause: sql<string | null>`sessions.terminate_cause`,
  framedIpAddress: sql<string | null>`host(sessions.framed_ip_address)`,
  userId: sql<number | null>`sessions.user_id`,
  username: sql<string | null>`sessions.username`,
  updateTime: sql<Date | null>`sessions.update_time`,
  framedIpv6Address: sql<string | null>`host(sessions.framed_ipv6_address)`,
  framedIpv6Prefix: sql<string | null>`sessions.framed_ipv6_prefix::text`,
  delegatedIpv6Prefix: sql<string | null>`sessions.delegated_ipv6_prefix::text`,
  inputOctets: sql<string | null>`sessions.input_octets::text`,
  outputOctets: sql<string | null>`sessions.output_octets::text`,
  sessionTime: sql<string | null>`sessions.session_time::text`,
} satisfies { [K in keyof ConnectionRecord]: RawBuilder<ConnectionRecord[K]> }

export type RecordField = keyof ConnectionRecord

export const ALL_RECORD_FIELDS = Object.keys(RECORD_COLUMNS) as RecordField[]

/**
 * Selects the fields a client asked for, and always id and startTime (paging and cursors need
 * them): a page of 100 records costs the API far less to read and parse when it is 4 columns, not 20.
 * The rows are typed as whole records; fields not selected are absent and never resolved.
 */
function selectRecord(query: SessionQuery, fields: readonly RecordField[]) {
  return query
    .select(selectedFields(fields).map((field) => (RECORD_COLUMNS[field] as RawBuilder<unknown>).as(field)))
    .$castTo<ConnectionRecord>()
}

/** The fields selectRecord selects, in its order. */
const selectedFields = (fields: readonly RecordField[]) => [...new Set<RecordField>(['id', 'startTime', ...fields])]

/**
 * Newest first, after the cursor if one is given: (start_time, id) descending, one index scan.
 * The start bound the cursor implies is stated too: on the partitioned history it prunes the
 * months after the cursor as the statement runs (a row comparison prunes nothing).
 */
function newestFirst(query: SessionQuery, page: Page): SessionQuery {
  let paged = query.orderBy('sessions.start_time', 'desc').orderBy('sessions.id', 'desc').limit(page.first)
  if (page.after) {
    const cursor = decodeCursor(page.after)
    paged = paged
      .where('sessions.start_time', '<=', cursor.startTime)
      .where((eb) => eb(eb.refTuple('sessions.start_time', 'sessions.id'), '<', eb.tuple(cursor.startTime, cursor.id)))
  }
  return paged
}

/**
 * The sessions a reseller may see, those of its users, as SQL on a sessions row (`row`: the table,
 * or its alias in the query); undefined, an admin: every session.
 */
export function ofReseller(resellerId: number | undefined, row = 'sessions'): RawBuilder<boolean> {
  if (resellerId === undefined) return sql<boolean>`true`
  return sql<boolean>`exists (select 1 from users where users.id = ${sql.ref(`${row}.user_id`)} and ${usersOf(resellerId)})`
}

/** The users a reseller may see, its own, as SQL on a `users` row; undefined, an admin: every user. */
function usersOf(resellerId: number | undefined): RawBuilder<boolean> {
  return resellerId === undefined ? sql<boolean>`true` : sql<boolean>`users.reseller_id = ${resellerId}`
}

/** The sessions of one NAS, as SQL on a sessions row; a text that is no IP address is bad input. */
export function ofNas(nasIpAddress: string, row = 'sessions'): RawBuilder<boolean> {
  if (isIP(nasIpAddress) === 0) throw new ApiError('BAD_USER_INPUT', 'nasIpAddress: not an IP address')
  return sql<boolean>`${sql.ref(`${row}.nas_ip_address`)} = ${nasIpAddress}::inet`
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
  return query.where(usersOf(resellerId)).executeTakeFirst()
}

/**
 * A page of a user's history, newest first; undefined when there is no such user or the caller
 * may not see it (a reseller sees only its own). One statement: the user's row and the page.
 */
export async function connectionHistory(
  db: Db,
  user: { readonly id: number; readonly resellerId: number | undefined },
  range: { from?: Date | null | undefined; to?: Date | null | undefined },
  page: Page,
  fields: readonly RecordField[] = ALL_RECORD_FIELDS,
): Promise<ConnectionRecord[] | undefined> {
  // The live sessions' page and the history's apart, merged: over the view, PostgreSQL merges
  // every month of the history (an index probe and a heap page each, 14 at a 400-day retention);
  // on session_history alone it reads the months newest first and stops at a full page.
  const pageOf = (sessions: SessionQuery) => {
    let query = sessions.where('sessions.user_id', '=', user.id)
    if (range.from) query = query.where('sessions.start_time', '>=', range.from)
    if (range.to) query = query.where('sessions.start_time', '<', range.to)
    return selectRecord(newestFirst(query, page), fields).select([
      'sessions.start_time as page_start',
      'sessions.id as page_id',
    ])
  }
  const live = pageOf(db.selectFrom('sessions'))
  const archived = pageOf(db.selectFrom('session_history as sessions') as SessionQuery)
  // The user's row with the page beside it: no row, no such user; one row of nulls, no sessions.
  const { rows } = await sql<ConnectionRecord>`
    select ${sql.join(selectedFields(fields).map((field) => sql.ref(`page.${field}`)))}
    from users left join lateral (
      select * from ((${live}) union all (${archived})) merged
      order by merged.page_start desc, merged.page_id desc limit ${page.first}
    ) page on true
    where users.id = ${user.id} and ${usersOf(user.resellerId)}
    order by page.page_start desc, page.page_id desc`.execute(db)
  if (rows.length === 0) return undefined
  return rows[0]!.id === null ? [] : rows
}

export async function onlineSessions(
  db: Db,
  filter: {
    nasIpAddress?: string | null | undefined
    userId?: number | null | undefined
    resellerId: number | undefined
  },
  page: Page,
  fields: readonly RecordField[] = ALL_RECORD_FIELDS,
): Promise<ConnectionRecord[]> {
  let query: SessionQuery = db
    .selectFrom('sessions')
    .where('sessions.stop_time', 'is', null)
    .where(ofReseller(filter.resellerId))
  if (filter.nasIpAddress) query = query.where(ofNas(filter.nasIpAddress))
  if (filter.userId !== null && filter.userId !== undefined) query = query.where('sessions.user_id', '=', filter.userId)
  return selectRecord(newestFirst(query, page), fields).execute()
}

/**
 * A whoHadIp answer: the session; whether sessions of other NAS held the address too; and whether
 * its hold at that instant is unconfirmed (its packets stopped before it; its NAS gave the address
 * to another session only after it).
 */
export type IpHolder = ConnectionRecord & { readonly ambiguousAddress: boolean; readonly holdUnconfirmed: boolean }

/**
 * The sessions that held `ip` at instant `at`: started at or before it, not stopped by then, and
 * not superseded by then (a newer session on the same NAS holding the address: the sessionizer
 * closes such a session, and this rule keeps the answer exact before it has). IPv4 matches
 * Framed-IP-Address; IPv6 matches Framed-IPv6-Address or falls within Framed-IPv6-Prefix or
 * Delegated-IPv6-Prefix. One NAS gives one session at most; when several NAS claim the address,
 * the data cannot say which one had it: all are returned, each marked ambiguousAddress.
 *
 * A superseded session ends when it was last heard of; its successor started later. Between the
 * two it is still returned, marked holdUnconfirmed: the address was given to nobody else, and the
 * session's packets no longer prove it held it (its NAS may have died). The same holds, before the
 * sessionizer has closed it, for an open session last heard of before `at` whose address a newer
 * session of its NAS took after `at`.
 */
export async function whoHadIp(
  db: Db,
  ip: string,
  at: Date,
  resellerId: number | undefined,
  fields: readonly RecordField[] = ALL_RECORD_FIELDS,
): Promise<IpHolder[]> {
  const family = isIP(ip)
  if (family === 0) throw new ApiError('BAD_USER_INPUT', 'ip: not an IPv4 or IPv6 address')
  // The address kinds, each with the span condition beside it: one index probe each. A probe that
  // names an outer row is a subquery of its own per kind (PostgreSQL would take the span out of an
  // OR of the kinds, and probe by the address alone).
  const kinds = (row: string, span: RawBuilder<boolean>): RawBuilder<boolean>[] =>
    family === 4
      ? [sql<boolean>`${sql.ref(`${row}.framed_ip_address`)} = ${ip}::inet and ${span}`]
      : [
          sql<boolean>`${sql.ref(`${row}.framed_ipv6_address`)} = ${ip}::inet and ${span}`,
          sql<boolean>`${sql.ref(`${row}.framed_ipv6_prefix`)} >>= ${ip}::inet and ${span}`,
          sql<boolean>`${sql.ref(`${row}.delegated_ipv6_prefix`)} >>= ${ip}::inet and ${span}`,
        ]
  const holds = (row: string, span: RawBuilder<boolean>) =>
    sql<boolean>`(${sql.join(
      kinds(row, span).map((kind) => sql`(${kind})`),
      sql` or `,
    )})`
  /**
   * A newer session of the same NAS held the address, at some instant of the span condition.
   * `offset 0` keeps each a probe per holder (a few): PostgreSQL would otherwise turn `not exists`
   * into an anti join, and over the live and archived sessions it hashed every session the address
   * ever had instead. The start condition, implied by the row comparison, lets each probe skip the
   * history's months before the holder's start.
   */
  const newerHolder = (when: RawBuilder<boolean>, span: RawBuilder<boolean>) =>
    sql<boolean>`(${sql.join(
      kinds('newer', span).map(
        (kind) => sql`exists (
          select 1 from session_records newer
          where newer.nas_ip_address = sessions.nas_ip_address and ${when}
            and newer.start_time >= sessions.start_time
            and (newer.start_time, newer.session_key) > (sessions.start_time, sessions.session_key) and ${kind}
          offset 0)`,
      ),
      sql` or `,
    )})`
  // The hold (from the start, inclusive) has the session started by `at`: no start condition beside
  // it, which PostgreSQL would take to an index of its own (every session started before `at`).
  const query: SessionQuery = everySession(db)
    .where(holds('sessions', mayHoldAt('sessions', at)))
    .where((eb) =>
      eb.or([
        eb('sessions.stop_time', 'is', null),
        eb('sessions.stop_time', '>', at),
        eb('sessions.stop_time_latest', '>', at),
      ]),
    )
    .where(
      sql<boolean>`not ${newerHolder(sql`newer.start_time <= ${at}`, mayHoldWithin('newer', sql.ref('sessions.start_time'), at))}`,
    )
    .where(ofReseller(resellerId))
    .orderBy('sessions.start_time', 'desc')
    .orderBy('sessions.id', 'desc')
    .limit(MAX_PAGE)
  const lastHeard = sql`greatest(sessions.update_time, sessions.start_time + make_interval(secs => coalesce(sessions.session_time, 0)))`
  const holders = await selectRecord(query, [...fields, 'nasIpAddress'])
    .select(
      sql<boolean>`sessions.stop_time <= ${at} or (sessions.stop_time is null and ${lastHeard} < ${at}
        and ${newerHolder(sql`newer.start_time > ${at}`, mayHoldWithin('newer', at))})`.as('holdUnconfirmed'),
    )
    .execute()
  const ambiguousAddress = new Set(holders.map((h) => h.nasIpAddress)).size > 1
  return holders.map((holder) => ({ ...holder, ambiguousAddress, holdUnconfirmed: Boolean(holder.holdUnconfirmed) }))
}

/** One session by row id, unconfined: callers have checked the caller may see it. */
export async function sessionById(
  db: Db,
  id: string,
  fields: readonly RecordField[] = ALL_RECORD_FIELDS,
): Promise<ConnectionRecord | undefined> {
  // An id is in one of the two (a move keeps it): the limit stops at the live row, before the
  // history's months are probed.
  return selectRecord(everySession(db).where('sessions.id', '=', id), fields)
    .limit(1)
    .executeTakeFirst()
}

/** Sessions by FreeRADIUS key, with the reseller of their user, for subscription events. */
export async function sessionsByKey(
  db: Db,
  keys: readonly string[],
): Promise<(ConnectionRecord & { resellerId: number | null })[]> {
  const query = selectRecord(
    db.selectFrom('sessions').where(sql<boolean>`sessions.session_key = any(${keys}::text[])`) as SessionQuery,
    ALL_RECORD_FIELDS,
  ).select((eb) =>
    eb.selectFrom('users').select('users.reseller_id').whereRef('users.id', '=', 'sessions.user_id').as('resellerId'),
  )
  return query.execute()
}
