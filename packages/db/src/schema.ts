import type { ColumnType, Generated, Insertable, Selectable } from 'kysely'

/** Timestamps come back as Date and may be written as Date or ISO text. */
type Timestamp = ColumnType<Date, Date | string, Date | string>
/** numeric(20,0) holds unsigned 64-bit counters; pg returns it as text to keep every digit. */
type Numeric64 = ColumnType<string, string | bigint, string | bigint>

export interface NasClientTable {
  id: Generated<number>
  /** cidr: a single NAS is a /32 or /128. */
  network: string
  secret: string
  name: string | null
  /** The NAS's Dynamic Authorization (RFC 5176) port; NULL: it takes no Disconnect or CoA. */
  coa_port: ColumnType<number | null, number | null | undefined, number | null>
  /** Where its Dynamic Authorization server listens, when not at the session's NAS address. */
  coa_address: string | null
  /** The interim interval the NAS is configured with (often only in the Access-Accept); seconds. */
  interim_interval: number | null
  created_at: Generated<Date>
  updated_at: Generated<Date>
}

export interface UserTable {
  id: Generated<number>
  username: string
  reseller_id: number | null
  created_at: Generated<Date>
}

export interface ResellerTable {
  id: Generated<number>
  name: string
  created_at: Generated<Date>
}

export interface RealmAssignmentTable {
  realm: string
  reseller_id: number
  created_at: Generated<Date>
}

export type ApiScope = 'admin' | 'reseller' | 'auditor'

export interface ApiClientTable {
  id: string
  name: string
  secret_hash: string
  scopes: ApiScope[]
  reseller_id: number | null
  audit_history_days: Generated<number>
  rate_limit_per_minute: Generated<number>
  created_at: Generated<Date>
  revoked_at: Date | null
  /** The secret before the last rotation, valid until previous_secret_expires_at. */
  previous_secret_hash: string | null
  previous_secret_expires_at: Date | null
  secret_rotated_at: Date | null
}

export interface ApiSettingTable {
  name: string
  value: string
}

export interface SessionTable {
  id: Generated<string>
  session_key: string
  user_id: number | null
  username: string | null
  session_id: string
  nas_ip_address: string
  /** NAS-IPv6-Address of a NAS that also sent NAS-IP-Address (else NULL or the same as nas_ip_address). */
  nas_ipv6_address: string | null
  nas_identifier: string | null
  /** Where the session's accounting came from: the NAS as the collector verified it. */
  nas_source_address: string | null
  nas_port_id: string | null
  nas_port_type: string | null
  start_time: Timestamp
  /** start_time is a Start's own event time, not derived from a later packet's Acct-Session-Time. */
  start_time_from_start: Generated<boolean>
  update_time: Timestamp | null
  stop_time: Timestamp | null
  session_time: ColumnType<string | null, number | string | null, number | string | null>
  input_octets: Numeric64 | null
  output_octets: Numeric64 | null
  input_packets: ColumnType<string | null, number | null, number | null>
  output_packets: ColumnType<string | null, number | null, number | null>
  connect_info_start: string | null
  connect_info_stop: string | null
  calling_station_id: string | null
  called_station_id: string | null
  terminate_cause: string | null
  framed_ip_address: string | null
  framed_ipv6_address: string | null
  framed_ipv6_prefix: string | null
  delegated_ipv6_prefix: string | null
  /** Event times of the packets whose framed addresses the row holds: the latest wins. */
  framed_ip_address_time: Timestamp | null
  framed_ipv6_address_time: Timestamp | null
  framed_ipv6_prefix_time: Timestamp | null
  delegated_ipv6_prefix_time: Timestamp | null
  closed_by: SessionClosedBy | null
  /** A superseded session's successor's start: the latest it can have ended (stop_time: last heard of). */
  stop_time_latest: Timestamp | null
  /** Its user's reseller (users.reseller_id, kept in step by migration 0019's trigger), for the console's rollups. */
  reseller_id: number | null
  interim_interval: number | null
  /** The two least distinct Acct-Session-Times of its Interim-Updates: their gap is its cadence. */
  least_interim_session_time: ColumnType<string | null, number | null, number | null>
  next_interim_session_time: ColumnType<string | null, number | null, number | null>
  created_at: Generated<Date>
  /** The day partition of its counter reports: the UTC day it was made, or carried to (migration 0023). */
  usage_bucket: Generated<DateOnly>
  /** The least Acct-Session-Time of its counter reports kept when carried: its split before is final. */
  usage_reports_from: Generated<Int8>
}

/**
 * What closed a session: its own Stop, a NAS-wide Accounting-On/Off, the stale sweep, or a newer
 * session on its NAS that took its address.
 */
export type SessionClosedBy = 'Stop' | 'Accounting-On' | 'Accounting-Off' | 'stale' | 'superseded'

export interface NasAccountingEventTable {
  nas_ip_address: string
  event_time: Timestamp
  status: 'Accounting-On' | 'Accounting-Off'
  terminate_cause: string
}

export interface AuditFieldChange {
  readonly name: string
  readonly oldValue: string | null
  readonly newValue: string | null
}

export interface AuditEventTable {
  id: Generated<string>
  /** Deterministic from what caused the event, so a replayed write is a no-op. */
  event_key: string
  occurred_at: Generated<Date>
  initiator_type: string
  initiator_id: Generated<string>
  operation: string
  entity_type: string
  entity_id: string
  entity_name: Generated<string>
  description: string
  fields: ColumnType<AuditFieldChange[], string, string>
  request_id: Generated<string>
  /** The lane of the hash chain it is linked into (migration 0017). */
  lane: Generated<string>
  initiator_name: string | null
  initiator_public_ip: string | null
  entity_parent_type: string | null
  entity_parent_id: string | null
  entity_parent_name: string | null
  /** Position in its lane, assigned under the lane's lock held to commit. */
  chain_seq: Generated<string>
  prev_hash: Generated<string>
  hash: Generated<string>
}

/** bigint columns kysely reads as strings (pg's int8). */
type Int8 = ColumnType<string, string | number | bigint, string | number | bigint>
/** date columns, as YYYY-MM-DD text both ways (see connection.ts). */
type DateOnly = string

/** A counter report; one of the two counters may be missing. */
export interface SessionUsagePointTable {
  session_id: Int8
  session_time: Int8
  input_octets: Numeric64 | null
  output_octets: Numeric64 | null
  /** Its session's usage_bucket: the day partition it lives in (migration 0023). */
  bucket: DateOnly
}

/** When an open session was last heard of, and its cadence in seconds (0: none known). */
export interface SessionLivenessTable {
  session_id: Int8
  cadence: number
  heard_at: Date
  /** Its NAS, as the registered interval is looked up (the source address, else the NAS address). */
  nas_address: string | null
  /** Its NAS's identity (nas_ip_address), as the learnt cadence is kept. */
  nas_identity: string | null
  /** The cadence is its NAS's (registered or learnt), not its own. */
  borrowed: Generated<boolean>
}

/** A NAS's cadence as its sessions show it: the median of its last sessions' interim gaps. */
export interface NasCadenceTable {
  nas_identity: string
  source_address: string
  samples: number[]
  cadence: number
  updated_at: Generated<Date>
}

/** The last bucket of counter reports dropped: a session of it or an earlier one is sealed. */
export interface UsageReportHorizonTable {
  only_row: Generated<boolean>
  dropped_through: DateOnly
}

/** A session's traffic and time in one UTC day, as its counter reports say. */
export interface SessionUsageDayTable {
  session_id: Int8
  day: DateOnly
  user_id: Int8
  input_octets: Numeric64
  output_octets: Numeric64
  session_time: Int8
  sessions: number
}

interface UsageRollup {
  user_id: Int8
  input_octets: Numeric64
  output_octets: Numeric64
  session_time: Int8
  sessions: number
}

export interface UsageDailyTable extends UsageRollup {
  day: DateOnly
}

export interface UsageMonthlyTable extends UsageRollup {
  /** The first day of the month. */
  month: DateOnly
}

/** A monthly octet limit for one user, or for every user of a realm (user@realm). */
export interface UsageQuotaTable {
  id: Generated<string>
  user_id: Int8 | null
  realm: string | null
  monthly_octets: Numeric64
}

export interface QuotaCrossingTable {
  user_id: Int8
  month: DateOnly
  monthly_octets: Numeric64
  /** When the sessionizer saw the user pass it; null: already past it when the quota was set. */
  crossed_at: ColumnType<Date | null, Date | null | undefined, Date | null>
}

export interface Database {
  nas_clients: NasClientTable
  users: UserTable
  /** Live sessions: open, or closed and not yet sealed (the sessionizer writes these). */
  sessions: SessionTable
  /** Sealed sessions, moved out of `sessions` by the retention sweep, by month of start. */
  session_history: SessionTable
  /** Both, as one relation (a view): what the API reads of sessions that may be closed. */
  session_records: SessionTable
  nas_accounting_events: NasAccountingEventTable
  audit_events: AuditEventTable
  resellers: ResellerTable
  realm_assignments: RealmAssignmentTable
  api_clients: ApiClientTable
  api_settings: ApiSettingTable
  session_usage_points: SessionUsagePointTable
  session_usage_days: SessionUsageDayTable
  session_liveness: SessionLivenessTable
  nas_cadences: NasCadenceTable
  usage_report_horizon: UsageReportHorizonTable
  usage_daily: UsageDailyTable
  usage_monthly: UsageMonthlyTable
  usage_quotas: UsageQuotaTable
  quota_crossings: QuotaCrossingTable
  audit_lanes: AuditLaneTable
}

/** A lane of the audit chain: where its next event links. */
export interface AuditLaneTable {
  lane: string
  head_seq: Int8
  head_hash: string
}

export type NasClientRow = Selectable<NasClientTable>
export type UserRow = Selectable<UserTable>
export type SessionRow = Selectable<SessionTable>
export type NewSession = Insertable<SessionTable>
export type AuditEventRow = Selectable<AuditEventTable>
export type ApiClientRow = Selectable<ApiClientTable>
