import { sql } from 'kysely'
import { afterAll, describe, expect, it } from 'vitest'
import type { Db } from '@radstream/db'
import type { AccountingRecord } from '@radstream/events'
import { applyBatch } from '@radstream/sessionizer'
import { seedAgedSessions, simulatedRecord, type AgedSessions } from '../bench/lib/aged-sessions'
import { databaseContent } from './support/database-content'
import { scratchDatabase } from './support/scratch-database'

const open: Db[] = []
afterAll(async () => Promise.all(open.map((db) => db.destroy())))

/** What the ISP benchmark's sessions leave that databaseContent does not show: reports and liveness. */
async function reportsAndLiveness(db: Db) {
  const reports = await sql`
    select s.session_key, p.session_time::text, p.input_octets::text, p.output_octets::text
    from session_usage_points p join sessions s on s.id = p.session_id order by 1, 2`.execute(db)
  const liveness = await sql`
    select s.session_key, l.cadence, l.heard_at from session_liveness l join sessions s on s.id = l.session_id order by 1`.execute(
    db,
  )
  return { reports: reports.rows, liveness: liveness.rows }
}

describe('the ISP benchmark’s aged sessions', () => {
  it('should be what sending every packet through the sessionizer writes', async () => {
    // Sessions started 23:12 (so that an interval spans each midnight) and reporting every 5 minutes for 3 days and a bit: many midnights.
    const aged: AgedSessions = {
      index: 7,
      run: 'aged',
      users: 2,
      sessions: 5,
      reports: 900,
      stepsPerSession: 2000,
      lastHeard: Date.parse('2025-03-01T23:12:00Z') / 1000 + 900 * 300,
    }
    const shortcut = await scratchDatabase('aged_shortcut')
    const sent = await scratchDatabase('aged_sent')
    open.push(shortcut.db, sent.db)
    await seedAgedSessions(shortcut.db, aged)
    // Every packet, a session's Interim-Updates spread over several batches as a sessionizer sees them.
    for (let from = 0; from <= aged.reports; from += 97) {
      const records: AccountingRecord[] = []
      for (let session = 0; session < aged.sessions; session++)
        for (let step = from; step < Math.min(aged.reports + 1, from + 97); step++)
          records.push(simulatedRecord(aged, session, step))
      await sent.db.transaction().execute((tx) => applyBatch(tx, records))
    }
    const expected = { ...(await databaseContent(sent.db)), ...(await reportsAndLiveness(sent.db)) }
    expect(expected.reports).toHaveLength(aged.sessions * aged.reports)
    expect(expected.sessionDays.length).toBeGreaterThan(aged.sessions * 3)
    expect({ ...(await databaseContent(shortcut.db)), ...(await reportsAndLiveness(shortcut.db)) }).toEqual(expected)
  })
})
