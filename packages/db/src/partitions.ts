import { sql } from 'kysely'
import type { Db } from './connection'

/**
 * Tables partitioned by month (migrations 0020 to 0024), which radstream manages itself: a
 * partition a month, `<table>_pYYYYMM`, made ahead of the month it holds, and a default partition
 * for what no month partition covers (a NAS whose clock is years off, a sweep that did not run),
 * except the session history, whose rows' months get their partition before they move in (0025).
 * Retention drops whole partitions: no row-by-row DELETE, no dead tuples, nothing for vacuum.
 */
export const MONTHLY_PARTITIONED = [
  /** A session's share of each day it spans, by day. */
  'session_usage_days',
  /** Each user's daily rollup, by day. */
  'usage_daily',
  /**
   * The audit log, by the UTC month of its events. Its retention is the database's
   * (audit_settings): the partition functions refuse to drop a month younger than that.
   */
  'audit_events',
  /** Sealed sessions (migration 0024), by the UTC month of their start. */
  'session_history',
  /** Each user's monthly totals, by month. */
  'usage_monthly',
  /** The months a user went past a quota (usersOverQuota), by month; kept as the monthly totals. */
  'quota_crossings',
] as const

export type MonthlyPartitionedTable = (typeof MONTHLY_PARTITIONED)[number]

/** How many months ahead of the current one have their partition ready. */
export const MONTHS_AHEAD = 2

const monthStart = (year: number, month: number) => new Date(Date.UTC(year, month, 1))
const isoDay = (day: Date) => day.toISOString().slice(0, 10)
const partitionName = (table: string, start: Date) =>
  `${table}_p${start.getUTCFullYear()}${String(start.getUTCMonth() + 1).padStart(2, '0')}`

/** The month partitions a table has, by the first day of their month. */
export async function monthPartitions(db: Db, table: MonthlyPartitionedTable): Promise<Map<string, Date>> {
  const { rows } = await sql<{ name: string }>`
    select c.relname as name from pg_inherits i join pg_class c on c.oid = i.inhrelid
    where i.inhparent = ${table}::regclass`.execute(db)
  const months = new Map<string, Date>()
  for (const { name } of rows) {
    const match = /_p(\d{4})(\d{2})$/.exec(name)
    if (match) months.set(name, monthStart(Number(match[1]), Number(match[2]) - 1))
  }
  return months
}

/**
 * Makes the month partitions of `table` from `from` through `through` that do not exist, through
 * the migrations' function (the services' roles may not run DDL): rows the default partition
 * holds for such a month move into it in the same transaction, except audit events, which never
 * move (their month is then left in the default). Returns the partitions made.
 */
export async function ensureMonthPartitions(
  db: Db,
  table: MonthlyPartitionedTable,
  from: Date,
  through: Date,
): Promise<string[]> {
  const existing = await monthPartitions(db, table)
  const made: string[] = []
  for (
    let start = monthStart(from.getUTCFullYear(), from.getUTCMonth());
    start <= through;
    start = monthStart(start.getUTCFullYear(), start.getUTCMonth() + 1)
  ) {
    const name = partitionName(table, start)
    if (existing.has(name)) continue
    const { rows } = await sql<{ made: boolean }>`
      select ensure_month_partition(${table}::regclass, ${isoDay(start)}::date) as made`.execute(db)
    if (rows[0]?.made) made.push(name)
  }
  return made
}

/**
 * Drops the month partitions of `table` whose every day is more than `retentionDays` old, and
 * deletes such rows from the default partition. Waits at most `lockTimeoutMs` for the table (a
 * batch's transaction holds it, and readers queue behind a drop that waits): a drop that cannot
 * have it now is left for the next run. Returns the partitions dropped and the default's rows removed.
 */
export async function dropExpiredMonthPartitions(
  db: Db,
  table: MonthlyPartitionedTable,
  retentionDays: number,
  now = new Date(),
  lockTimeoutMs = 1000,
): Promise<{ dropped: string[]; defaultRows: number }> {
  const cutoff = new Date(now.getTime() - retentionDays * 86_400_000)
  const dropped: string[] = []
  for (const [name, start] of [...(await monthPartitions(db, table))].sort((a, b) => +a[1] - +b[1])) {
    if (monthStart(start.getUTCFullYear(), start.getUTCMonth() + 1) > cutoff) break
    const gone = await db
      .transaction()
      .execute(async (tx) => {
        await sql`select set_config('lock_timeout', ${String(lockTimeoutMs)}, true)`.execute(tx)
        await sql`select drop_month_partition(${table}::regclass, ${isoDay(start)}::date)`.execute(tx)
        return true
      })
      .catch((error: unknown) => {
        if ((error as { code?: string }).code === '55P03') return false // lock_not_available: the next run
        throw error
      })
    if (!gone) break
    dropped.push(name)
  }
  const { rows } = await sql<{ removed: string }>`
    select delete_expired_default_rows(${table}::regclass, ${isoDay(cutoff)}::date) as removed`.execute(db)
  return { dropped, defaultRows: Number(rows[0]?.removed ?? 0) }
}
