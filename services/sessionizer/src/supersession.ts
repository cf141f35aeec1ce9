import { sql, type RawBuilder, type Transaction } from 'kysely'
import { mayHoldWithin, pgArray, type Database } from '@radstream/db'

type Tx = Transaction<Database>

/** A session closed because a newer session on its NAS took its address. */
export interface SupersededSession {
  readonly session_key: string
  readonly session_id: string
  readonly username: string | null
  readonly nas_ip_address: string
  /** When its packets last prove it alive. */
  readonly stop_time: Date
  /** The newer session's start: the latest it can have ended. */
  readonly stop_time_latest: Date
  /** The Acct-Session-Id of the newer session, and the address it took. */
  readonly by_session_id: string
  readonly address: string
}

/** RFC 2865 5.8: values that ask the NAS or the user to choose an address, not an address held. */
const NOT_HELD = `'{0.0.0.0, 255.255.255.254, 255.255.255.255}'::inet[]`

/**
 * The addresses a session holds, each with how another session's claim on it is matched: the same
 * IPv4 or IPv6 address, or a prefix that overlaps (a /64 inside a delegated /56 is the same customer
 * network). `held` is the older session's, `claim` the newer's. Both are said to be present first:
 * one of the two is the probing row, and a test on it alone runs before the index scan, so a session
 * without that kind of address (most have one of the four) costs no probe for it.
 */
const ADDRESSES: readonly {
  readonly text: (row: string) => string
  readonly same: (held: string, claim: string) => RawBuilder<boolean>
  /**
   * An address (not a prefix) has a btree on (address, start_time): the first newer holder is
   * the first entry after the older one's start, read in order. A prefix has only its GiST index,
   * searched by the span it may be held.
   */
  readonly inStartOrder: boolean
}[] = [
  { column: 'framed_ip_address', text: (row: string) => `host(${row}.framed_ip_address)`, match: '=' },
  { column: 'framed_ipv6_address', text: (row: string) => `host(${row}.framed_ipv6_address)`, match: '=' },
  { column: 'framed_ipv6_prefix', text: (row: string) => `${row}.framed_ipv6_prefix::text`, match: '&&' },
  { column: 'delegated_ipv6_prefix', text: (row: string) => `${row}.delegated_ipv6_prefix::text`, match: '&&' },
].map(({ column, text, match }) => ({
  text,
  inStartOrder: match === '=',
  same: (held: string, claim: string) =>
    sql.raw(
      [
        `${held}.${column} is not null`,
        `${claim}.${column} is not null`,
        ...(column === 'framed_ip_address' ? [`${claim}.${column} <> all(${NOT_HELD})`] : []),
        `${held}.${column} ${match} ${claim}.${column}`,
      ].join(' and '),
    ),
}))

/**
 * A session on a NAS holds its address until a newer session on the same NAS starts holding it: a
 * NAS that crashed and came back gives its addresses out again, while its dead sessions stay open
 * (or an orphaned process keeps reporting them). Such an older session is closed, closed_by
 * 'superseded', at the last time its packets prove it alive (its last event time, or its start plus
 * its Acct-Session-Time), and never after the newer one's start, which is kept beside it
 * (stop_time_latest) as the latest it can have ended: between the two nobody knows. No later packet
 * reopens it; a later packet of it moves its stop up to that bound, not past it. A session closed
 * as stale (at its last-heard time too) that a newer session's address claim reaches is marked
 * superseded the same way, so the outcome does not depend on whether the sweep or the claim came
 * first.
 *
 * Run after the batch's rows are written, for the batch's sessions in either role: as the newer
 * one (older holders are found through their address, open or closed after it began) and as the
 * older one (the first newer holder, whenever it was written). "Newer" orders by (start_time,
 * session_key), so two sessions that claim to start at the same instant do not both hold it. Returns
 * the sessions it closed or moved the stop of; on a replay, none.
 */
export async function closeSupersededSessions(tx: Tx, sessionKeys: readonly string[]): Promise<SupersededSession[]> {
  if (sessionKeys.length === 0) return []
  // The columns every candidate carries, so that no step joins back to the table.
  const columns = (row: string) =>
    sql.raw(
      [
        'id',
        'session_key',
        'nas_ip_address',
        'start_time',
        'stop_time',
        'stop_time_latest',
        'closed_by',
        'framed_ip_address',
        'framed_ipv6_address',
        'framed_ipv6_prefix',
        'delegated_ipv6_prefix',
      ]
        .map((c) => `${row}.${c}`)
        .join(', '),
    )
  // Lateral probes, one per session of the batch and address: each a probe of the address's holds
  // that reach past the session's start (as a join, the planner scans the whole table, which grows
  // with the retention; offset 0 keeps it from turning the probes back into a join).
  const olderHolders = sql.join(
    ADDRESSES.map(
      ({ same }) => sql`
        select ${columns('older')} from batch b cross join lateral (
          select ${columns('o')} from sessions o
          where ${same('o', 'b')} and ${mayHoldWithin('o', sql.ref('b.start_time'))}
            and o.nas_ip_address = b.nas_ip_address
            and (o.start_time, o.session_key) < (b.start_time, b.session_key)
            and (o.stop_time is null or o.stop_time > b.start_time or o.closed_by = 'stale'
              or o.stop_time_latest > b.start_time)
          offset 0
        ) older`,
    ),
    sql` union `,
  )
  const firstNewerHolder = sql.join(
    ADDRESSES.map(
      ({ text, same, inStartOrder }) => sql`(
        select n.start_time, n.session_key, n.session_id, ${sql.raw(text('n'))} as address
        from sessions n
        where ${same('o', 'n')} and ${inStartOrder ? sql`true` : mayHoldWithin('n', sql.ref('o.start_time'))}
          and n.nas_ip_address = o.nas_ip_address
          and (n.start_time, n.session_key) > (o.start_time, o.session_key)
        order by n.start_time, n.session_key limit 1)`,
    ),
    sql` union all `,
  )
  const result = await sql<SupersededSession>`
    with batch as (
      select ${columns('sessions')}
      from sessions where session_key = any(${pgArray(sessionKeys)}::text[])
        and num_nonnulls(framed_ip_address, framed_ipv6_address, framed_ipv6_prefix, delegated_ipv6_prefix) > 0
    ),
    candidates as (select * from batch union ${olderHolders}),
    superseded as (
      select o.id, newer.start_time, newer.session_id, newer.address
      from candidates o
      cross join lateral (
        select * from (${firstNewerHolder}) claims order by start_time, session_key limit 1
      ) newer
      where o.stop_time is null or o.stop_time > newer.start_time or o.closed_by = 'stale'
        or o.stop_time_latest > newer.start_time
    )
    update sessions s
    set stop_time = least(x.start_time,
          greatest(s.update_time, s.start_time + make_interval(secs => coalesce(s.session_time, 0)))),
      stop_time_latest = x.start_time, closed_by = 'superseded', terminate_cause = 'Lost-Service'
    from superseded x where s.id = x.id
    returning s.session_key, s.session_id, s.username, host(s.nas_ip_address) as nas_ip_address, s.stop_time,
      s.stop_time_latest, x.session_id as by_session_id, x.address`.execute(tx)
  return result.rows
}
