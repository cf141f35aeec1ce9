import { sql } from 'kysely'
import { pgArray, type Db } from '@radstream/db'
import type { AccountingRecord } from '@radstream/events'
import { applyBatch } from '../../services/sessionizer/src/apply-batch'
import { splitUsageByDay, type DayShare, type UsagePoint } from '../../services/sessionizer/src/usage-split'
import { accountingRecord } from '../../test/support/records'
import { CADENCE_SECONDS, sessionAttributes, simulatedCounters, type SessionFamily } from './simulated-nas'

/** Sessions of one simulated NAS that have each sent `reports` Interim-Updates already. */
export interface AgedSessions extends SessionFamily {
  readonly sessions: number
  readonly reports: number
  /** Steps of a whole session (Start, Interim-Updates, Stop): the Stop must lie beyond the reports. */
  readonly stepsPerSession: number
  /** The Unix time of the last report; the Start was `reports` cadences before. */
  readonly lastHeard: number
}

/** A packet of a simulated session as the collector records it (from 127.0.0.1, as the fleet sends). */
export function simulatedRecord(aged: AgedSessions, session: number, step: number): AccountingRecord {
  const startedAt = aged.lastHeard - aged.reports * CADENCE_SECONDS
  return accountingRecord(
    sessionAttributes(aged, session, step, aged.stepsPerSession - 1, startedAt + step * CADENCE_SECONDS),
  )
}

/** The counter report of step `step`, as simulatedRecord's Interim-Update carries it. */
const reportAt = (step: number): UsagePoint => ({
  sessionTime: step * CADENCE_SECONDS,
  inputOctets: BigInt(simulatedCounters(step).input),
  outputOctets: BigInt(simulatedCounters(step).output),
})

const SESSIONS_A_BATCH = 250

/**
 * Writes what the sessionizer would for sessions that sent a Start and `reports` Interim-Updates,
 * without sending them all: the Start and the first, second and last Interim-Updates go through
 * applyBatch (the sessionizer's write path: session rows, users, audit events, liveness, usage),
 * then the reports between are inserted as the path stores them, and each day's share moves from
 * the split of four packets to the split of all of them, in the day rows and the rollups. Every
 * session of a call has the same start and counters, so the two splits are computed once.
 * test/aged-sessions.test.ts checks the result against sending every packet.
 */
export async function seedAgedSessions(db: Db, aged: AgedSessions): Promise<void> {
  if (aged.reports + 1 >= aged.stepsPerSession) throw new Error('the sessions must stay open past their reports')
  const sent = [...new Set([0, 1, 2, aged.reports].filter((step) => step <= aged.reports))]
  for (let first = 0; first < aged.sessions; first += SESSIONS_A_BATCH) {
    const records: AccountingRecord[] = []
    for (let session = first; session < Math.min(aged.sessions, first + SESSIONS_A_BATCH); session++)
      for (const step of sent) records.push(simulatedRecord(aged, session, step))
    await db.transaction().execute((tx) => applyBatch(tx, records))
  }
  if (aged.reports <= 3) return

  const prefix = `bench-${aged.run}-${aged.index}-%`
  await sql`
    insert into session_usage_points (session_id, bucket, session_time, input_octets, output_octets)
    select s.id, s.usage_bucket, k * ${CADENCE_SECONDS}, k * ${CADENCE_SECONDS * 1000} + (k % 7) * 13, k * ${CADENCE_SECONDS * 2000} + (k % 5) * 29
    from sessions s cross join generate_series(3::bigint, ${aged.reports - 1}) k
    where s.session_id like ${prefix}
    order by s.id, k`.execute(db)

  const startMs = (aged.lastHeard - aged.reports * CADENCE_SECONDS) * 1000
  const sessionTime = aged.reports * CADENCE_SECONDS
  const partial = splitUsageByDay(startMs, sessionTime, sent.filter((s) => s > 0).map(reportAt))
  const full = splitUsageByDay(
    startMs,
    sessionTime,
    Array.from({ length: aged.reports }, (_, i) => reportAt(i + 1)),
  )
  const byDay = new Map<string, DayShare>(partial.map((d) => [d.day, d]))
  const moves = full.map((d) => {
    const was = byDay.get(d.day)
    if (!was) throw new Error(`day ${d.day} missing from the partial split`)
    return {
      day: d.day,
      input: d.inputOctets - was.inputOctets,
      output: d.outputOctets - was.outputOctets,
      time: d.sessionTime - was.sessionTime,
    }
  })
  const moved = sql`unnest(${pgArray(moves.map((m) => m.day))}::date[], ${pgArray(moves.map((m) => m.input))}::numeric[],
    ${pgArray(moves.map((m) => m.output))}::numeric[], ${pgArray(moves.map((m) => m.time))}::bigint[]) as m(day, input, output, time)`
  await db.transaction().execute(async (tx) => {
    await sql`
      update session_usage_days d set input_octets = d.input_octets + m.input, output_octets = d.output_octets + m.output,
        session_time = d.session_time + m.time
      from sessions s, ${moved}
      where s.session_id like ${prefix} and d.session_id = s.id and d.day = m.day`.execute(tx)
    for (const [table, period] of [
      ['usage_daily', sql`m.day`],
      ['usage_monthly', sql`date_trunc('month', m.day)::date`],
    ] as const) {
      await sql`
        update ${sql.table(table)} r set input_octets = r.input_octets + v.input, output_octets = r.output_octets + v.output,
          session_time = r.session_time + v.time
        from (
          select s.user_id, ${period} as period, sum(m.input) as input, sum(m.output) as output, sum(m.time) as time
          from sessions s, ${moved} where s.session_id like ${prefix} group by 1, 2
        ) v
        where r.user_id = v.user_id and r.${sql.raw(table === 'usage_daily' ? 'day' : 'month')} = v.period`.execute(tx)
    }
  })
}
