import { sql } from 'kysely'
import type { Db } from '@radstream/db'
import type { SimulatedNas } from './simulated-nas'

export interface RecordedCheck {
  /** Packets the NAS fleet got an Accounting-Response for. */
  readonly acked: number
  /** Of those, how many PostgreSQL reflects. */
  readonly recorded: number
  /** Acknowledged but not reflected: must be 0. */
  readonly lost: number
  /** Session rows beyond one per session: must be 0. */
  readonly duplicated: number
  /** True when the database has caught up with every acknowledged packet. */
  readonly complete: boolean
}

interface Row {
  session_id: string
  n: string
  closed: boolean
  session_time: string | null
}

/**
 * What PostgreSQL holds for a fleet's sessions against what was acknowledged: a session's row must
 * exist once its first packet was answered, carry the session time of its last answered
 * Interim-Update or Stop, and be closed once its Stop was answered.
 */
export async function checkRecorded(db: Db, run: string, fleet: readonly SimulatedNas[]): Promise<RecordedCheck> {
  const { rows } = await sql<Row>`
    select session_id, count(*) over (partition by session_id) as n, stop_time is not null as closed, session_time::text
    from sessions where session_id like ${`bench-${run}-%`}`.execute(db)
  const bySession = new Map(rows.map((r) => [r.session_id, r]))
  let acked = 0
  let recorded = 0
  for (const nas of fleet) {
    nas.answeredSteps.forEach((steps, session) => {
      if (steps === 0) return
      acked += steps
      const row = bySession.get(nas.sessionId(session))
      if (!row) return
      // Step k (0 = Start) carries Acct-Session-Time k * 300; the Stop is the last step.
      const lastStep = steps - 1
      const closedOk = steps === nas.stepsPerSession ? row.closed : true
      const timeOk = lastStep === 0 || Number(row.session_time ?? 0) >= lastStep * 300
      recorded += closedOk && timeOk ? steps : 0
    })
  }
  const duplicated = rows.filter((r) => Number(r.n) > 1).length
  return { acked, recorded, lost: acked - recorded, duplicated, complete: acked === recorded }
}

/** Polls checkRecorded until complete or `timeoutMs`; returns the last check and when it completed. */
export async function waitRecorded(
  db: Db,
  run: string,
  fleet: readonly SimulatedNas[],
  timeoutMs: number,
): Promise<RecordedCheck> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const check = await checkRecorded(db, run, fleet)
    if (check.complete || Date.now() > deadline) return check
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
}
