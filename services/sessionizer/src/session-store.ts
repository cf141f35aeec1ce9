import { sql, type Transaction } from 'kysely'
import { borrowedCadence, pgArray, type Database } from '@radstream/db'
import { CLOSING, DESCRIPTIVE, LARGEST, LATEST_BY_EVENT_TIME, type SessionDraft } from './session-draft'

type Tx = Transaction<Database>

/** Column name and PostgreSQL array type, in the order of the unnest below. */
const COLUMNS = [
  ['session_key', 'text'],
  ['user_id', 'int4'],
  ['username', 'text'],
  ['session_id', 'text'],
  ['nas_ip_address', 'inet'],
  ['nas_ipv6_address', 'inet'],
  ['nas_identifier', 'text'],
  ['nas_source_address', 'inet'],
  ['nas_port_id', 'text'],
  ['nas_port_type', 'text'],
  ['start_time', 'timestamptz'],
  ['start_time_from_start', 'bool'],
  ['update_time', 'timestamptz'],
  ['stop_time', 'timestamptz'],
  ['session_time', 'int8'],
  ['input_octets', 'numeric'],
  ['output_octets', 'numeric'],
  ['input_packets', 'int8'],
  ['output_packets', 'int8'],
  ['connect_info_start', 'text'],
  ['connect_info_stop', 'text'],
  ['calling_station_id', 'text'],
  ['called_station_id', 'text'],
  ['terminate_cause', 'text'],
  ['framed_ip_address', 'inet'],
  ['framed_ipv6_address', 'inet'],
  // Read as inet and stored as cidr: the cast zeroes the host bits a NAS may send with a prefix
  // (2001:db8:0:1::5/64 is stored as 2001:db8:0:1::/64, as the network it names), where a
  // direct cast to cidr fails the statement.
  ['framed_ipv6_prefix', 'inet'],
  ['delegated_ipv6_prefix', 'inet'],
  ['framed_ip_address_time', 'timestamptz'],
  ['framed_ipv6_address_time', 'timestamptz'],
  ['framed_ipv6_prefix_time', 'timestamptz'],
  ['delegated_ipv6_prefix_time', 'timestamptz'],
  ['closed_by', 'text'],
  ['interim_interval', 'int4'],
  ['least_interim_session_time', 'int8'],
  ['next_interim_session_time', 'int8'],
] as const

type ColumnName = (typeof COLUMNS)[number][0]

// A superseded session ends when it was last heard of, never after its successor's start: a later
// packet of it moves its stop up to that bound (supersession.ts).
const supersededStop = `least(sessions.stop_time_latest, greatest(sessions.stop_time, excluded.update_time))`

// The same ranking as session-draft.ts's closingSource: of two Stops, the greater by (stop time,
// cause, Connect-Info); a Stop over a synthetic close; else the first close. And one rule the drafts
// never meet (only the sweep closes as stale): a session closed as stale that is heard from after
// the time it was closed at reopens, since the close was a guess and the packet shows it alive.
const stopRank = (row: string) =>
  // collate "C": code-point order, as JavaScript compares the strings in memory.
  `(${row}.stop_time, coalesce(${row}.terminate_cause, '') collate "C", coalesce(${row}.connect_info_stop, '') collate "C")`
const closingCase = (column: string) =>
  `case when sessions.closed_by = 'stale' and excluded.closed_by is null and excluded.update_time > sessions.stop_time
      then excluded.${column}
    when sessions.closed_by = 'superseded' and excluded.closed_by is distinct from 'Stop'
      then ${column === 'stop_time' ? supersededStop : `sessions.${column}`}
    when sessions.closed_by = 'Stop' and excluded.closed_by = 'Stop'
      then case when ${stopRank('excluded')} > ${stopRank('sessions')} then excluded.${column} else sessions.${column} end
    when sessions.closed_by = 'Stop' then sessions.${column}
    when excluded.closed_by = 'Stop' then excluded.${column}
    when sessions.closed_by is not null then sessions.${column}
    else excluded.${column} end`

// The same rule as session-draft.ts's standingStart: a Start's own time, else the earliest.
const startTime = `case when sessions.start_time_from_start = excluded.start_time_from_start
      then least(sessions.start_time, excluded.start_time)
    when excluded.start_time_from_start then excluded.start_time
    else sessions.start_time end`

/**
 * A column's value as text, for comparisons that must agree with JavaScript's on the drafts:
 * host() prints addresses as the codec does; collate "C" orders by code point.
 */
function asText(row: string, column: string): string {
  const type = COLUMNS.find(([name]) => name === column)?.[1]
  const value =
    type === 'inet'
      ? column.endsWith('_prefix')
        ? `${row}.${column}::text`
        : `host(${row}.${column})`
      : `${row}.${column}`
  return `${value} collate "C"`
}

// The same rule as session-draft.ts's least: a value stays once known; of two, the lesser.
const leastWins = (column: string) =>
  `sessions.${column} is null or (excluded.${column} is not null and ${asText('excluded', column)} < ${asText('sessions', column)})`

// The same rule as session-draft.ts's latestOf: the later event's value, then the greater text.
const latestWins = (column: string) => {
  const time = (row: string) => `coalesce(${row}.${column}_time, '-infinity')`
  return `excluded.${column} is not null and (sessions.${column} is null
    or ${time('excluded')} > ${time('sessions')}
    or (${time('excluded')} = ${time('sessions')} and ${asText('excluded', column)} > ${asText('sessions', column)}))`
}

// The same rule as session-draft.ts's twoLeast.
const interimTimes = `(select array_agg(v order by v) from (
    select distinct v from (values (sessions.least_interim_session_time), (sessions.next_interim_session_time),
      (excluded.least_interim_session_time), (excluded.next_interim_session_time)) t(v)
    where v is not null order by v limit 2) two)`

/** Each column the merge sets, with the expression it sets it to. */
const merged: [string, string][] = [
  ['start_time', startTime],
  ['start_time_from_start', 'sessions.start_time_from_start or excluded.start_time_from_start'],
  ...LATEST_BY_EVENT_TIME.flatMap((c): [string, string][] => [
    [c, `case when ${latestWins(c)} then excluded.${c} else sessions.${c} end`],
    [`${c}_time`, `case when ${latestWins(c)} then excluded.${c}_time else sessions.${c}_time end`],
  ]),
  ['user_id', 'coalesce(sessions.user_id, excluded.user_id)'],
  // Its user's reseller, once the user is known (a user moved later moves their sessions: migration 0019).
  ['reseller_id', 'case when sessions.user_id is null then excluded.reseller_id else sessions.reseller_id end'],
  ...DESCRIPTIVE.map((c): [string, string] => [
    c,
    `case when ${leastWins(c)} then excluded.${c} else sessions.${c} end`,
  ]),
  ...LARGEST.map((c): [string, string] => [c, `greatest(sessions.${c}, excluded.${c})`]),
  ['least_interim_session_time', `${interimTimes}[1]`],
  ['next_interim_session_time', `${interimTimes}[2]`],
  ...CLOSING.map((c): [string, string] => [c, closingCase(c)]),
  // Kept only while the row stays superseded (a Stop that wins clears it; the pass may set it again).
  ['stop_time_latest', `case when (${closingCase('closed_by')}) = 'superseded' then sessions.stop_time_latest end`],
]

const updates = sql.raw(merged.map(([column, expression]) => `${column} = ${expression}`).join(', '))
// A packet that changes nothing (a replay, an Interim-Update older than what the row holds) writes
// no new row version: no dead tuple, no WAL, no index entry.
const changesSomething = sql.raw(
  `(${merged.map(([column]) => `sessions.${column}`).join(', ')}) is distinct from (${merged.map(([, expression]) => expression).join(', ')})`,
)

/** What the usage rollups read of a session the batch wrote, as it stands after the write. */
export interface WrittenSession {
  readonly id: string
  readonly session_key: string
  readonly user_id: number | null
  readonly start_time: Date
  readonly session_time: string | null
  readonly stop_time: Date | null
}

/** The addresses a session holds, as one text (supersession compares it before and after a write). */
const ADDRESSES = `concat_ws(' ', framed_ip_address, framed_ipv6_address, framed_ipv6_prefix, delegated_ipv6_prefix)`

/** What the liveness table needs of a session the upsert changed, besides WrittenSession. */
export interface ChangedSession extends WrittenSession {
  readonly closed_by: string | null
  readonly addresses: string
  readonly session_id: string
  readonly username: string | null
  readonly update_time: Date
  /** Seconds: the learnt cadence, else the reported Acct-Interim-Interval; null when neither. */
  readonly own_cadence: number | null
  /** Seconds between its two least interim Acct-Session-Times; null until it has two. */
  readonly interim_gap: number | null
  /** Where its NAS's registered interval is looked up: the source address, else the NAS's. */
  readonly nas_address: string
  /** Its NAS's identity (nas_ip_address, the Kafka key), where the learnt cadence is kept. */
  readonly nas_identity: string
}

/** A session as it stood before a batch wrote it. */
export interface PriorSession extends WrittenSession {
  readonly closed_by: string | null
  readonly addresses: string
  readonly interim_gap: number | null
}

/** The gap between a row's two least interim session times, as SQL. */
const INTERIM_GAP = `case when next_interim_session_time > least_interim_session_time
  then next_interim_session_time - least_interim_session_time end`

/**
 * Writes many session drafts in one statement (one array parameter per column, so the statement
 * stays the same size whatever the batch) with the merge rules of session-draft.ts. Returns the
 * sessions it inserted or changed, with the columns usage and liveness need, which saves them
 * reading the rows again; a session the drafts did not change is not returned.
 */
export async function upsertSessions(
  tx: Tx,
  drafts: readonly (SessionDraft & { user_id: number | null })[],
): Promise<ChangedSession[]> {
  if (drafts.length === 0) return []
  const arrays = COLUMNS.map(
    ([name, type]) => sql`${pgArray(drafts.map((d) => d[name as ColumnName]))}::${sql.raw(type)}[]`,
  )
  const columns = sql.raw(COLUMNS.map(([name]) => name).join(', '))
  const result = await sql<ChangedSession>`
    insert into sessions (${columns}, reseller_id)
    select ${sql.raw(COLUMNS.map(([name]) => (name.endsWith('_prefix') ? `cidr(${name})` : name)).join(', '))},
      (select reseller_id from users where users.id = draft.user_id)
    from unnest(${sql.join(arrays)}) as draft(${columns})
    on conflict (session_key) do update set ${updates} where ${changesSomething}
    returning id, session_key, session_id, username, user_id, start_time, session_time, stop_time, update_time, closed_by,
      ${sql.raw(ADDRESSES)} as addresses,
      coalesce(${sql.raw(INTERIM_GAP)}, interim_interval)::int4 as own_cadence,
      (${sql.raw(INTERIM_GAP)})::int4 as interim_gap,
      host(coalesce(nas_source_address, nas_ip_address)) as nas_address, host(nas_ip_address) as nas_identity`.execute(
    tx,
  )
  return result.rows
}

/** The batch's sessions as they stand before its write, by key; new sessions are absent. */
export async function priorSessions(tx: Tx, sessionKeys: readonly string[]): Promise<Map<string, PriorSession>> {
  if (sessionKeys.length === 0) return new Map()
  const rows = await tx
    .selectFrom('sessions')
    .select([
      'id',
      'session_key',
      'user_id',
      'start_time',
      'session_time',
      'stop_time',
      'closed_by',
      sql<number | null>`(${sql.raw(INTERIM_GAP)})::int4`.as('interim_gap'),
      sql<string>`${sql.raw(ADDRESSES)}`.as('addresses'),
    ])
    .where(sql<boolean>`session_key = any(${pgArray(sessionKeys)}::text[])`)
    .execute()
  return new Map(rows.map((r) => [r.session_key, r]))
}

/**
 * Keeps session_liveness in step with the sessions a batch changed: an open one is heard of at its
 * update time with its cadence (its own, else its NAS's: registered, else learnt, else 0 for none),
 * a closed one leaves. The NAS is looked up only for sessions with no cadence of their own. A row
 * that would not change is not written.
 */
export async function recordLiveness(tx: Tx, sessions: readonly ChangedSession[]): Promise<void> {
  const open = sessions.filter((s) => s.stop_time === null)
  const closed = sessions.filter((s) => s.stop_time !== null).map((s) => s.id)
  if (open.length > 0) {
    await sql`
      insert into session_liveness as l (session_id, cadence, heard_at, nas_address, nas_identity, borrowed)
      select s.id, coalesce(s.own_cadence, ${sql.raw(borrowedCadence('s.nas', 's.identity'))}), s.heard_at, s.nas, s.identity,
        s.own_cadence is null
      from unnest(${pgArray(open.map((s) => s.id))}::bigint[], ${pgArray(open.map((s) => s.own_cadence))}::int4[],
        ${pgArray(open.map((s) => s.update_time))}::timestamptz[], ${pgArray(open.map((s) => s.nas_address))}::inet[],
        ${pgArray(open.map((s) => s.nas_identity))}::inet[])
        as s(id, own_cadence, heard_at, nas, identity)
      order by s.id
      on conflict (session_id) do update set cadence = excluded.cadence, heard_at = excluded.heard_at,
        nas_address = excluded.nas_address, nas_identity = excluded.nas_identity, borrowed = excluded.borrowed
        where (l.cadence, l.heard_at, l.nas_address, l.nas_identity, l.borrowed)
          is distinct from (excluded.cadence, excluded.heard_at, excluded.nas_address, excluded.nas_identity, excluded.borrowed)`.execute(
      tx,
    )
  }
  if (closed.length > 0)
    await sql`delete from session_liveness where session_id = any(${pgArray(closed)}::bigint[])`.execute(tx)
}

/** How many of a NAS's latest sessions its learnt cadence is the median of. */
const CADENCE_SAMPLES = 31

/**
 * Learns each NAS's cadence from its sessions: a session whose interim gap the batch made known (it
 * had fewer than two Interim-Updates before) is one sample; a NAS's cadence is the median of its
 * last 31, so a session that misses or doubles a report moves nothing. Where a NAS's learnt cadence
 * changes, its sessions that borrow it follow at once (those with a registered interval keep that).
 */
export async function learnNasCadences(
  tx: Tx,
  changed: readonly ChangedSession[],
  prior: ReadonlyMap<string, PriorSession>,
): Promise<void> {
  const samples = changed.filter(
    (s) => s.interim_gap !== null && s.interim_gap > 0 && prior.get(s.session_key)?.interim_gap == null,
  )
  if (samples.length === 0) return
  // Keyed by the NAS's identity, the Kafka key: only this partition's batches write these rows.
  const moved = await sql<{ nas_identity: string }>`
    with incoming as (
      select identity, max(source) as source, array_agg(gap order by id) as gaps
      from unnest(${pgArray(samples.map((s) => s.nas_identity))}::inet[], ${pgArray(samples.map((s) => s.nas_address))}::inet[],
        ${pgArray(samples.map((s) => s.interim_gap))}::int4[], ${pgArray(samples.map((s) => s.id))}::bigint[])
        as s(identity, source, gap, id)
      group by identity
    ), merged as (
      select i.identity, i.source, m.samples,
        (select percentile_disc(0.5) within group (order by x) from unnest(m.samples) x) as cadence, c.cadence as was
      from incoming i
      left join nas_cadences c on c.nas_identity = i.identity
      cross join lateral (select (coalesce(c.samples, '{}') || i.gaps)[
        greatest(1, coalesce(cardinality(c.samples), 0) + cardinality(i.gaps) - ${CADENCE_SAMPLES - 1}):] as samples) m
    ), stored as (
      insert into nas_cadences as n (nas_identity, source_address, samples, cadence)
      select identity, source, samples, cadence from merged order by identity
      on conflict (nas_identity) do update set source_address = excluded.source_address, samples = excluded.samples,
        cadence = excluded.cadence, updated_at = now()
    )
    select host(identity) as nas_identity from merged where was is distinct from cadence`.execute(tx)
  if (moved.rows.length === 0) return
  await sql`
    update session_liveness l set cadence = ${sql.raw(borrowedCadence('l.nas_address', 'l.nas_identity'))}
    where l.borrowed and l.nas_identity = any(${pgArray(moved.rows.map((r) => r.nas_identity))}::inet[])`.execute(tx)
}

/**
 * Closes the batch's sessions that are still open although their NAS sent Accounting-On/Off after
 * they began: a packet that arrives after the reboot that ended its session does not reopen it.
 * Closed at the first such event after the start, as the bulk close would have.
 */
export async function closeSessionsEndedByNasEvents(tx: Tx, sessionKeys: readonly string[]): Promise<ClosedSession[]> {
  if (sessionKeys.length === 0) return []
  const result = await sql<ClosedSession>`
    with closing as (
      select s.session_key, e.event_time, e.status, e.terminate_cause
      from sessions s
      cross join lateral (
        select event_time, status, terminate_cause from nas_accounting_events
        where nas_ip_address in (s.nas_ip_address, s.nas_ipv6_address) and event_time > s.start_time
        order by event_time limit 1
      ) e
      where s.session_key = any(${pgArray(sessionKeys)}::text[]) and s.stop_time is null
    )
    update sessions s
    set stop_time = c.event_time, terminate_cause = c.terminate_cause, closed_by = c.status,
        update_time = greatest(s.update_time, c.event_time)
    from closing c
    where s.session_key = c.session_key
    returning s.session_key, s.session_id, s.username, host(s.nas_ip_address) as nas_ip_address, s.closed_by`.execute(
    tx,
  )
  return result.rows
}

export interface ClosedSession {
  readonly session_key: string
  readonly session_id: string
  readonly username: string | null
  readonly nas_ip_address: string
  readonly closed_by: string
}

/**
 * Accounting-On/Off: remembers the event under every address it names the NAS by, then closes
 * every open session of that NAS that began before it, at the event time. A dual-stack NAS may send
 * it with NAS-IP-Address, NAS-IPv6-Address or both, whichever its sessions carried: a session
 * matches by either of its two addresses. Returns the sessions it closed (none on a replay).
 */
export async function closeSessionsOfNas(
  tx: Tx,
  event: {
    nasAddresses: readonly string[]
    eventTime: Date
    status: 'Accounting-On' | 'Accounting-Off'
    terminateCause: string
  },
): Promise<ClosedSession[]> {
  await tx
    .insertInto('nas_accounting_events')
    .values(
      event.nasAddresses.map((address) => ({
        nas_ip_address: address,
        event_time: event.eventTime,
        status: event.status,
        terminate_cause: event.terminateCause,
      })),
    )
    .onConflict((oc) => oc.columns(['nas_ip_address', 'event_time']).doNothing())
    .execute()
  const addresses = sql`${pgArray(event.nasAddresses)}::inet[]`
  const result = await tx
    .updateTable('sessions')
    .set((eb) => ({
      stop_time: event.eventTime,
      terminate_cause: event.terminateCause,
      closed_by: event.status,
      update_time: sql`greatest(${eb.ref('update_time')}, ${event.eventTime})`,
    }))
    .where(sql<boolean>`(nas_ip_address = any(${addresses}) or nas_ipv6_address = any(${addresses}))`)
    .where('stop_time', 'is', null)
    .where('start_time', '<', event.eventTime)
    .returning([
      'session_key',
      'session_id',
      'username',
      sql<string>`host(nas_ip_address)`.as('nas_ip_address'),
      sql<string>`closed_by`.as('closed_by'),
    ])
    .execute()
  return result
}

/** The ids of these usernames, creating the missing users; also says which were created. */
export async function ensureUsers(
  tx: Tx,
  usernames: readonly string[],
): Promise<{ ids: Map<string, number>; created: string[] }> {
  if (usernames.length === 0) return { ids: new Map(), created: [] }
  const idsOf = async (names: readonly string[]) =>
    tx
      .selectFrom('users')
      .select(['id', 'username'])
      .where(sql<boolean>`username = any(${pgArray(names)}::text[])`)
      .execute()
  // Looked up first: nearly every user is known, and an insert that conflicts costs PostgreSQL a
  // speculative insertion a row (a tenth of its time for the batches when it came first).
  const ids = new Map((await idsOf(usernames)).map((r) => [r.username, r.id]))
  const missing = usernames.filter((u) => !ids.has(u))
  if (missing.length === 0) return { ids, created: [] }
  // A new user of a realm assigned to a reseller (user@realm) belongs to that reseller from the start.
  const created = await sql<{ id: number; username: string }>`
    insert into users (username, reseller_id)
    select u, (select reseller_id from realm_assignments where realm = nullif(split_part(u, '@', 2), ''))
    from unnest(${pgArray(missing)}::text[]) as u
    on conflict (username) do nothing returning id, username`.execute(tx)
  for (const r of created.rows) ids.set(r.username, r.id)
  // Created meanwhile by another transaction, which the insert waited for.
  const raced = missing.filter((u) => !ids.has(u))
  if (raced.length > 0) for (const r of await idsOf(raced)) ids.set(r.username, r.id)
  return { ids, created: created.rows.map((r) => r.username) }
}
