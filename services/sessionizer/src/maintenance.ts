import { sql, type RawBuilder, type Transaction } from 'kysely'
import {
  auditLanes,
  auditRetentionDays,
  dropExpiredMonthPartitions,
  ensureMonthPartitions,
  insertAuditEvents,
  MONTHLY_PARTITIONED,
  MONTHS_AHEAD,
  pgArray,
  type Database,
  type Db,
  type MonthlyPartitionedTable,
} from '@radstream/db'
import { sessionEvents } from './audit-events'

// Only one sessionizer of a group sweeps at a time; the others find the lock taken and skip.
const SWEEP_LOCK = 0x7261_6473 // "rads"

export interface StaleRules {
  readonly interimMultiplier: number
  readonly withoutInterimSeconds: number
  /** No session heard from within this long is stale, whatever its cadence. */
  readonly minSilenceSeconds: number
}

/**
 * Closes open sessions silent for longer than their rule allows at their last-heard time, cause
 * Lost-Carrier, with an audit event each. The rule: interimMultiplier times the session's cadence
 * (at least minSilenceSeconds), where the cadence is the one learnt from its Interim-Updates (the gap
 * between their two least Acct-Session-Times), else the Acct-Interim-Interval it reported, else the
 * interval its NAS is registered with (many NAS send it only in the Access-Accept); with none of
 * these, withoutInterimSeconds. A session so closed that speaks again reopens (session-store.ts).
 *
 * It reads session_liveness, which the batches keep: for each distinct cadence (a handful: one
 * index probe each), the range of sessions last heard of before that cadence's deadline. So a
 * sweep reads the sessions it closes, not every open one. A row whose session was closed by other
 * means (an Accounting-On, a successor of its address) is removed when its deadline passes.
 * Works in bounded chunks; returns how many it closed.
 */
export async function closeStaleSessions(db: Db, rules: StaleRules, chunk = 1000): Promise<number> {
  let total = 0
  for (;;) {
    const swept = await db.transaction().execute(async (tx) => {
      const { rows } = await sql<{
        locked: boolean
      }>`select pg_try_advisory_xact_lock(${SWEEP_LOCK}) as locked`.execute(tx)
      if (!rows[0]?.locked) return undefined
      return closeStaleChunk(tx, rules, chunk)
    })
    if (swept === undefined) return total
    total += swept.closed
    if (swept.removed < chunk) return total
  }
}

/**
 * One chunk of the stale sweep in the caller's transaction: how many sessions it closed, and how
 * many liveness rows it removed (those of sessions closed now or before; a session a batch holds
 * is left for the next sweep).
 */
export async function closeStaleChunk(
  tx: Transaction<Database>,
  rules: StaleRules,
  chunk: number,
): Promise<{ closed: number; removed: number }> {
  const silence = (cadence: RawBuilder<unknown>) =>
    sql`case when ${cadence} = 0 then ${rules.withoutInterimSeconds}
      else greatest(${rules.interimMultiplier} * ${cadence}, ${rules.minSilenceSeconds}) end`
  const due = await sql<{ session_id: string }>`
    with recursive cadences(cadence) as (
      (select cadence from session_liveness order by cadence limit 1)
      union all
      select (select l.cadence from session_liveness l where l.cadence > c.cadence order by l.cadence limit 1)
      from cadences c where c.cadence is not null
    )
    select d.session_id from cadences c
    cross join lateral (
      select l.session_id, l.heard_at from session_liveness l
      where l.cadence = c.cadence and l.heard_at < now() - make_interval(secs => ${silence(sql.ref('c.cadence'))})
      order by l.heard_at limit ${chunk}
    ) d
    where c.cadence is not null
    order by d.heard_at limit ${chunk}`.execute(tx)
  if (due.rows.length === 0) return { closed: 0, removed: 0 }
  const ids = pgArray(due.rows.map((r) => r.session_id))
  // Closed when its packets last prove it alive: its last event, or its start plus its session time.
  const stale = await sql<{
    session_key: string
    session_id: string
    username: string | null
    update_time: Date
    stop_time: Date
  }>`
    with locked as (
      select id from sessions where id = any(${ids}::bigint[]) and stop_time is null
      order by id for update skip locked
    )
    update sessions s
    set stop_time = greatest(s.update_time, s.start_time + make_interval(secs => coalesce(s.session_time, 0))),
      terminate_cause = 'Lost-Carrier', closed_by = 'stale'
    from locked where s.id = locked.id
    returning s.session_key, s.session_id, s.username, s.update_time, s.stop_time`.execute(tx)
  const removed = await sql`
    delete from session_liveness l using sessions s
    where l.session_id = any(${ids}::bigint[]) and s.id = l.session_id and s.stop_time is not null`.execute(tx)
  await insertAuditEvents(
    tx,
    stale.rows.map((row) => sessionEvents.stale(row)),
    auditLanes.maintenance,
  )
  return { closed: stale.rows.length, removed: Number(removed.numAffectedRows ?? 0) }
}

/**
 * Removes the console's rollup minutes older than the triggers keep (migration 0019). Sessions and
 * audit events go by month partitions (manageMonthPartitions). Returns how many rows it removed.
 */
export async function deleteExpiredActivityMinutes(db: Db): Promise<number> {
  let removed = 0
  for (const table of ['activity_by_lane', 'activity_by_nas']) {
    const result = await sql`delete from ${sql.table(table)} where minute < activity_horizon()`.execute(db)
    removed += Number(result.numAffectedRows ?? 0)
  }
  return removed
}

/** Retention in days of each month-partitioned kind of data that the services set. */
export type ServiceRetentionDays = Record<Exclude<MonthlyPartitionedTable, 'audit_events'>, number>

/**
 * The month partitions (migrations 0020 to 0022): this month's and the next MONTHS_AHEAD made,
 * those past their kind's retention dropped (audit events by the database's own retention), and
 * the default partitions' expired rows removed. Returns what it made, dropped and removed.
 */
export async function manageMonthPartitions(
  db: Db,
  retentionDays: ServiceRetentionDays,
  now = new Date(),
): Promise<{
  made: string[]
  dropped: Record<MonthlyPartitionedTable, string[]>
  defaultRows: Record<MonthlyPartitionedTable, number>
}> {
  const retention = { ...retentionDays, audit_events: await auditRetentionDays(db) }
  const through = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + MONTHS_AHEAD, 1))
  const made: string[] = []
  const dropped = {} as Record<MonthlyPartitionedTable, string[]>
  const defaultRows = {} as Record<MonthlyPartitionedTable, number>
  for (const table of MONTHLY_PARTITIONED) {
    made.push(...(await ensureMonthPartitions(db, table, now, through)))
    ;({ dropped: dropped[table], defaultRows: defaultRows[table] } = await dropExpiredMonthPartitions(
      db,
      table,
      retention[table],
      now,
    ))
  }
  return { made, dropped, defaultRows }
}
