import type { SessionClosedBy } from '@radstream/db'
import type { AccountingRecord } from '@radstream/events'
import { AcctStatusType } from '@radstream/radius'
import { sessionKey } from './session-key'

/** A session row as one or more packets of a batch describe it, before it meets the table. */
export interface SessionDraft {
  session_key: string
  username: string | null
  session_id: string
  nas_ip_address: string
  nas_ipv6_address: string | null
  nas_identifier: string | null
  nas_source_address: string
  nas_port_id: string | null
  nas_port_type: string | null
  start_time: Date
  start_time_from_start: boolean
  update_time: Date
  stop_time: Date | null
  session_time: number | null
  input_octets: bigint | null
  output_octets: bigint | null
  input_packets: number | null
  output_packets: number | null
  connect_info_start: string | null
  connect_info_stop: string | null
  calling_station_id: string | null
  called_station_id: string | null
  terminate_cause: string | null
  framed_ip_address: string | null
  framed_ipv6_address: string | null
  framed_ipv6_prefix: string | null
  delegated_ipv6_prefix: string | null
  framed_ip_address_time: Date | null
  framed_ipv6_address_time: Date | null
  framed_ipv6_prefix_time: Date | null
  delegated_ipv6_prefix_time: Date | null
  closed_by: SessionClosedBy | null
  interim_interval: number | null
  /** The two least distinct Acct-Session-Times of the session's Interim-Updates. */
  least_interim_session_time: number | null
  next_interim_session_time: number | null
}

/** True for the packets that make or change a session row: Start, Interim-Update, Stop. */
export function isSessionPacket(record: AccountingRecord): boolean {
  const status = record.accounting.statusType
  return status === AcctStatusType.Start || status === AcctStatusType.InterimUpdate || status === AcctStatusType.Stop
}

/** The session row this one packet describes, as if it were the only packet of its session. */
export function draftFromRecord(record: AccountingRecord): SessionDraft {
  const a = record.accounting
  const eventTime = new Date(record.eventTime)
  const isStart = a.statusType === AcctStatusType.Start
  const isStop = a.statusType === AcctStatusType.Stop
  return {
    session_key: sessionKey(record),
    username: a.userName ?? null,
    session_id: a.sessionId,
    nas_ip_address: record.nasAddress,
    nas_ipv6_address: a.nasIpv6Address ?? null,
    nas_identifier: a.nasIdentifier ?? null,
    nas_source_address: record.source.address,
    nas_port_id: a.nasPortId ?? (a.nasPort === undefined ? null : String(a.nasPort)),
    nas_port_type: a.nasPortType ?? null,
    // Without its Start, a session began Acct-Session-Time before this packet's event.
    start_time: isStart ? eventTime : new Date(eventTime.getTime() - (a.sessionTime ?? 0) * 1000),
    start_time_from_start: isStart,
    update_time: eventTime,
    stop_time: isStop ? eventTime : null,
    session_time: a.sessionTime ?? null,
    input_octets: a.inputOctets === undefined ? null : BigInt(a.inputOctets),
    output_octets: a.outputOctets === undefined ? null : BigInt(a.outputOctets),
    input_packets: a.inputPackets ?? null,
    output_packets: a.outputPackets ?? null,
    connect_info_start: isStart ? (a.connectInfo ?? null) : null,
    connect_info_stop: isStop ? (a.connectInfo ?? null) : null,
    calling_station_id: a.callingStationId ?? null,
    called_station_id: a.calledStationId ?? null,
    terminate_cause: isStop ? (a.terminateCause ?? null) : null,
    framed_ip_address: a.framedIpAddress ?? null,
    framed_ipv6_address: a.framedIpv6Address ?? null,
    framed_ipv6_prefix: a.framedIpv6Prefix ?? null,
    delegated_ipv6_prefix: a.delegatedIpv6Prefix ?? null,
    framed_ip_address_time: a.framedIpAddress === undefined ? null : eventTime,
    framed_ipv6_address_time: a.framedIpv6Address === undefined ? null : eventTime,
    framed_ipv6_prefix_time: a.framedIpv6Prefix === undefined ? null : eventTime,
    delegated_ipv6_prefix_time: a.delegatedIpv6Prefix === undefined ? null : eventTime,
    closed_by: isStop ? 'Stop' : null,
    // Acct-Interim-Interval is 32 bits unsigned; past 2^31 - 1 s (68 years) it is no interval at all.
    interim_interval: a.interimInterval !== undefined && a.interimInterval <= INT4_MAX ? a.interimInterval : null,
    least_interim_session_time: a.statusType === AcctStatusType.InterimUpdate ? (a.sessionTime ?? null) : null,
    next_interim_session_time: null,
  }
}

const INT4_MAX = 2 ** 31 - 1

/**
 * Descriptive columns: a later packet may omit them, so a value stays once known. The packets of a
 * session agree on them (most are part of its key); where they do not, the least value in
 * code-point order stands, so that no arrival order decides.
 */
export const DESCRIPTIVE = [
  'username',
  'nas_ipv6_address',
  'nas_identifier',
  'nas_source_address',
  'nas_port_id',
  'nas_port_type',
  'connect_info_start',
  'calling_station_id',
  'called_station_id',
] as const

/**
 * Framed addresses: the value of the latest packet, by event time, that carried one (as FreeRADIUS's
 * interim and stop queries keep the last); each column with the time of the packet it came from.
 * Two packets of one instant that disagree: the greater value in code-point order stands.
 */
export const LATEST_BY_EVENT_TIME = [
  'framed_ip_address',
  'framed_ipv6_address',
  'framed_ipv6_prefix',
  'delegated_ipv6_prefix',
] as const

/**
 * Cumulative columns: the largest seen is the truest, whatever the order. The interim interval too:
 * of two that disagree, the longer one never closes a live session as stale.
 */
export const LARGEST = [
  'update_time',
  'interim_interval',
  'session_time',
  'input_octets',
  'output_octets',
  'input_packets',
  'output_packets',
] as const

/**
 * Closing columns: a real Stop wins over a synthetic close (NAS reboot, stale sweep); of two Stops
 * that disagree, the later one by its event time (then by cause and Connect-Info, so that no
 * arrival order decides); between synthetic closes the first stays.
 */
export const CLOSING = ['stop_time', 'terminate_cause', 'connect_info_stop', 'closed_by'] as const

/** The rank of a Stop among the Stops of its session: the greatest stands. */
const stopRank = (d: SessionDraft): [number, string, string] => [
  d.stop_time?.getTime() ?? 0,
  d.terminate_cause ?? '',
  d.connect_info_stop ?? '',
]

function outranks(a: SessionDraft, b: SessionDraft): boolean {
  const [x, y] = [stopRank(a), stopRank(b)]
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return x[i]! > y[i]!
  return false
}

/** Whose closing columns stand, all together: a Stop (the greatest of two), else whichever closed first. */
function closingSource(earlier: SessionDraft, later: SessionDraft): SessionDraft {
  if (earlier.closed_by === 'Stop' && later.closed_by === 'Stop') return outranks(later, earlier) ? later : earlier
  if (earlier.closed_by === 'Stop') return earlier
  if (later.closed_by === 'Stop') return later
  return earlier.closed_by !== null ? earlier : later
}

/**
 * The two least distinct values of both drafts' interim session times: the same two whatever the
 * order, so the gap between them (the session's cadence, learnt) is too.
 */
function twoLeast(a: SessionDraft, b: SessionDraft): [number | null, number | null] {
  const values = [
    a.least_interim_session_time,
    a.next_interim_session_time,
    b.least_interim_session_time,
    b.next_interim_session_time,
  ].filter((v): v is number => v !== null)
  const [least, next] = [...new Set(values)].sort((x, y) => x - y)
  return [least ?? null, next ?? null]
}

/** The start that stands: a Start's own time over one derived from Acct-Session-Time, then the earliest. */
function standingStart(a: SessionDraft, b: SessionDraft): SessionDraft {
  if (a.start_time_from_start !== b.start_time_from_start) return a.start_time_from_start ? a : b
  return b.start_time < a.start_time ? b : a
}

type LatestColumn = (typeof LATEST_BY_EVENT_TIME)[number]
const timeOf = (d: SessionDraft, column: LatestColumn) => d[`${column}_time`]?.getTime() ?? -Infinity

/** Of two drafts, the one whose value of `column` stands: the later event, then the greater value. */
function latestOf(a: SessionDraft, b: SessionDraft, column: LatestColumn): SessionDraft {
  if (b[column] === null) return a
  if (a[column] === null) return b
  const [x, y] = [timeOf(a, column), timeOf(b, column)]
  if (x !== y) return y > x ? b : a
  return b[column]! > a[column]! ? b : a
}

function least(a: string | null, b: string | null): string | null {
  if (a === null) return b
  if (b === null) return a
  return b < a ? b : a
}

function larger<T extends number | bigint | Date>(a: T | null, b: T | null): T | null {
  if (a === null) return b
  if (b === null) return a
  return b > a ? b : a
}

/**
 * Merges a later packet's draft into an earlier one with the same rules the SQL upsert applies to
 * the stored row (a Start's time, else the earliest start; the least descriptive value; the latest
 * framed address; the largest counter; Stop wins): so folding a batch in memory
 * first and then upserting gives the row that one upsert per packet would.
 */
export function mergeDrafts(earlier: SessionDraft, later: SessionDraft): SessionDraft {
  const merged: SessionDraft = { ...earlier }
  const start = standingStart(earlier, later)
  merged.start_time = start.start_time
  merged.start_time_from_start = start.start_time_from_start
  for (const column of LATEST_BY_EVENT_TIME) {
    const source = latestOf(earlier, later, column)
    ;(merged as unknown as Record<string, unknown>)[column] = source[column]
    merged[`${column}_time`] = source[`${column}_time`]
  }
  for (const column of DESCRIPTIVE)
    (merged as unknown as Record<string, unknown>)[column] = least(earlier[column], later[column])
  for (const column of LARGEST)
    (merged as unknown as Record<string, unknown>)[column] = larger(earlier[column], later[column])
  ;[merged.least_interim_session_time, merged.next_interim_session_time] = twoLeast(earlier, later)
  const closer = closingSource(earlier, later)
  for (const column of CLOSING) (merged as unknown as Record<string, unknown>)[column] = closer[column]
  return merged
}
