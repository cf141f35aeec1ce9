import { sql } from 'kysely'
import type { Db } from '@radstream/db'

/** What the sampler saw: how often any sessionizer backend waited for a lock, and on what. */
export interface LockWaitSamples {
  readonly samples: number
  /** Samples in which at least one sessionizer backend was waiting for a lock. */
  readonly samplesWithWaits: number
  /** Waiting backends seen, by the kind of lock they waited for (advisory, transactionid, tuple, ...). */
  readonly byLockType: Record<string, number>
}

/**
 * Samples PostgreSQL's pg_locks every `everyMs` for locks the sessionizer's backends wait for
 * (application_name radstream-sessionizer): a batch waiting on another partition's would show here.
 */
export function sampleLockWaits(db: Db, everyMs = 50): { stop(): Promise<LockWaitSamples> } {
  const byLockType: Record<string, number> = {}
  let samples = 0
  let samplesWithWaits = 0
  let running = true
  const loop = (async () => {
    while (running) {
      const { rows } = await sql<{ locktype: string; n: string }>`
        select l.locktype, count(*) as n from pg_locks l join pg_stat_activity a on a.pid = l.pid
        where not l.granted and a.application_name = 'radstream-sessionizer' group by l.locktype`.execute(db)
      samples++
      if (rows.length > 0) samplesWithWaits++
      for (const row of rows) byLockType[row.locktype] = (byLockType[row.locktype] ?? 0) + Number(row.n)
      await new Promise((resolve) => setTimeout(resolve, everyMs))
    }
  })()
  return {
    async stop() {
      running = false
      await loop
      return { samples, samplesWithWaits, byLockType }
    },
  }
}
