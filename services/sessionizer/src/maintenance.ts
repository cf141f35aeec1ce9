import { sql } from 'kysely'
import { insertAuditEvents, type Db } from '@radstream/db'
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
 * Closes open sessions silent for longer than their rule allows at their last update time, cause
 * Lost-Carrier, with an audit event each. The rule: interimMultiplier times the session's cadence
 * (at least minSilenceSeconds), where the cadence is the one learnt from its Interim-Updates (the gap
 * between their two least Acct-Session-Times), else the Acct-Interim-Interval it reported, else the
 * interval its NAS is registered with (many NAS send it only in the Access-Accept); with none of
 * these, withoutInterimSeconds. A session so closed that speaks again reopens (session-store.ts).
 * Works in bounded chunks; returns how many it closed.
 */
export async function closeStaleSessions(db: Db, rules: StaleRules, chunk = 1000): Promise<number> {
  let total = 0
  for (;;) {
    const closed = await db.transaction().execute(async (tx) => {
      const { rows } = await sql<{
        locked: boolean
      }>`select pg_try_advisory_xact_lock(${SWEEP_LOCK}) as locked`.execute(tx)
      if (!rows[0]?.locked) return -1
      const stale = await sql<{ session_key: string; session_id: string; username: string | null; update_time: Date }>`
        with stale as (
          select s.id from sessions s
          left join lateral (
            select n.interim_interval from nas_clients n
            where n.interim_interval is not null and n.network >>= coalesce(s.nas_source_address, s.nas_ip_address)
            order by masklen(n.network) desc limit 1
          ) nas on true
          cross join lateral (
            select coalesce(
              case when s.next_interim_session_time > s.least_interim_session_time
                then s.next_interim_session_time - s.least_interim_session_time end,
              s.interim_interval,
              nas.interim_interval) as seconds
          ) cadence
          where s.stop_time is null
            and s.update_time < now() - make_interval(secs => case
              when cadence.seconds is null then ${rules.withoutInterimSeconds}
              else greatest(${rules.interimMultiplier} * cadence.seconds, ${rules.minSilenceSeconds}) end)
          order by s.update_time
          limit ${chunk}
          for update of s skip locked
        )
        update sessions s
        set stop_time = s.update_time, terminate_cause = 'Lost-Carrier', closed_by = 'stale'
        from stale where s.id = stale.id
        returning s.session_key, s.session_id, s.username, s.update_time`.execute(tx)
      await insertAuditEvents(
        tx,
        stale.rows.map((row) => sessionEvents.stale(row)),
      )
      return stale.rows.length
    })
    if (closed <= 0) return total
    total += closed
    if (closed < chunk) return total
  }
}

/**
 * Removes closed sessions older than `retentionDays`, and audit events older than the retention
 * the database holds for them (audit_settings, which only its owner changes: the append-only
 * trigger refuses any younger delete), a chunk per transaction so ingest never waits on a long
 * delete, oldest first so the chain that remains still verifies. Returns how many rows it removed.
 */
export async function deleteExpired(
  db: Db,
  retentionDays: number,
  chunk = 5000,
): Promise<{ sessions: number; auditEvents: number }> {
  const removed = { sessions: 0, auditEvents: 0 }
  for (;;) {
    const result = await sql`
      delete from sessions where id in (
        select id from sessions
        where start_time < now() - make_interval(days => ${retentionDays}) and stop_time is not null
        order by start_time limit ${chunk})`.execute(db)
    const count = Number(result.numAffectedRows ?? 0)
    removed.sessions += count
    if (count < chunk) break
  }
  for (;;) {
    // Through the migrations' function: the service role may not delete audit events itself.
    const { rows } = await sql<{ count: number }>`select purge_expired_audit_events(${chunk}) as count`.execute(db)
    const count = rows[0]?.count ?? 0
    removed.auditEvents += count
    if (count < chunk) break
  }
  return removed
}
