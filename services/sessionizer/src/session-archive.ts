import { sql, type Transaction } from 'kysely'
import { pgArray, type Database, type Db } from '@radstream/db'
import { inTransaction } from './in-transaction'

/**
 * How far apart, in days, a packet's start and an archived session's start may be for the packet
 * to be of that session. A session's packets agree on its start to within what their
 * Acct-Delay-Time leaves out (a NAS that held its packets back without saying so). A session is
 * archived a week or more after it closed (the reports' retention): a NAS that reuses the key (the
 * same user, port and Acct-Session-Id: some restart their Acct-Session-Id counter at boot) starts a
 * new session, days after the archived one.
 */
export const ARCHIVED_MATCH_DAYS = 3
const DAY_MS = 86_400_000

const SEALED = sql`usage_bucket <= (select dropped_through from usage_report_horizon) and stop_time is not null`

/**
 * Moves sealed sessions (closed, their counter reports' bucket dropped: no packet can change them,
 * usage.md) from `sessions` into session_history (migration 0024), a chunk a transaction. Their
 * start months get their partition first (the history has no default partition, 0025), and only
 * sessions of those months move: a session sealed meanwhile waits for the next sweep. A month past
 * the retention goes at the sweep's next step with its partition. The rows a batch holds are
 * skipped (the next sweep takes them); radstream.archiving tells the console's rollups that the
 * rows move, not go. Returns how many moved.
 */
export async function archiveSealedSessions(db: Db, chunk = 2000): Promise<number> {
  const { rows } = await sql<{ month: string }>`
    select month::text, ensure_month_partition('session_history'::regclass, month) from (
      select distinct date_trunc('month', start_time at time zone 'UTC')::date as month from sessions where ${SEALED}
    ) m
    order by month`.execute(db)
  if (rows.length === 0) return 0
  const months = pgArray(rows.map((r) => r.month))
  let moved = 0
  for (;;) {
    const count = await inTransaction(db, async (tx) => {
      await sql`select set_config('radstream.archiving', 'on', true)`.execute(tx)
      const result = await sql`
        with sealed as (
          select id from sessions
          where ${SEALED} and date_trunc('month', start_time at time zone 'UTC')::date = any(${months}::date[])
          order by usage_bucket, stop_time limit ${chunk} for update skip locked
        ), moved as (
          delete from sessions s using sealed where s.id = sealed.id returning s.*
        )
        insert into session_history select * from moved`.execute(tx)
      return Number(result.numAffectedRows ?? 0)
    })
    moved += count
    if (count < chunk) return moved
  }
}

/**
 * The keys of the batch's sessions that `sessions` does not hold and the history does: sessions
 * archived, whose packets change nothing (a replay, a Stop a NAS held back for long). A history
 * session is the packet's only when their starts are at most ARCHIVED_MATCH_DAYS apart; the
 * probe reads the history's months around the batch's starts only.
 */
export async function archivedSessionKeys(
  tx: Transaction<Database>,
  unknown: readonly { session_key: string; start_time: Date }[],
): Promise<Set<string>> {
  if (unknown.length === 0) return new Set()
  const window = ARCHIVED_MATCH_DAYS * DAY_MS
  const starts = unknown.map((d) => d.start_time.getTime())
  const { rows } = await sql<{ session_key: string; start_time: Date }>`
    select session_key, start_time from session_history
    where session_key = any(${pgArray(unknown.map((d) => d.session_key))}::text[])
      and start_time >= ${new Date(Math.min(...starts) - window)} and start_time <= ${new Date(Math.max(...starts) + window)}`.execute(
    tx,
  )
  const startOf = new Map(unknown.map((d) => [d.session_key, d.start_time.getTime()]))
  return new Set(
    rows
      .filter((r) => Math.abs(r.start_time.getTime() - startOf.get(r.session_key)!) <= window)
      .map((r) => r.session_key),
  )
}

/**
 * A session that a batch read in `sessions` and then inserted anew: the sweep archived it between
 * the two. PostgreSQL's serialization failure code: the batch's transaction is run again, and
 * then finds the session in the history.
 */
export class ArchivedMeanwhile extends Error {
  readonly code = '40001'
  constructor(sessionKey: string) {
    super(`session ${sessionKey} was archived while the batch wrote it`)
  }
}
