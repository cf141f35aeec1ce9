import { sql } from 'kysely'
import pg from 'pg'
import { describe, expect, it } from 'vitest'
import { createLogger } from '@radstream/config'
import { insertAuditEvents, type NewAuditEvent } from '@radstream/db'
import { createKafka, ensureTopic } from '@radstream/kafka'
import { startSessionizer } from '../src'
import { scratchDatabase } from '../../../test/support/scratch-database'
import { metricSum } from '../../../test/support/metrics'
import { testSettings } from '../../../test/support/settings'
import { testTopic } from '../../../test/support/topics'
import { waitFor } from '../../../test/support/wait-for'
import { produceRecords, sessionWorkload } from '../../../test/support/workload'

const logger = createLogger('warn', 'test')

describe('sessionizer metrics', () => {
  it('should show the lag rising while PostgreSQL holds the sessionizer back, and falling to 0 after', async () => {
    const topic = testTopic('lag')
    const { url, db } = await scratchDatabase('lag')
    const settings = testSettings({ KAFKA_TOPIC: topic, DATABASE_URL: url, SESSIONIZER_GROUP_ID: `lag-${Date.now()}` })
    const brokers = settings.kafka.brokers.join(',')
    await ensureTopic(createKafka({ brokers: settings.kafka.brokers, clientId: 'test' }), topic, 2)
    const records = sessionWorkload({ sessions: 200, nasCount: 4, seed: 11, prefix: `lag-${Date.now()}` })

    // A migration or a long VACUUM FULL: the sessions table is locked, every batch waits.
    const blocker = new pg.Client({ connectionString: url })
    await blocker.connect()
    await blocker.query('begin')
    await blocker.query('lock table sessions in access exclusive mode')
    const sessionizer = await startSessionizer(settings, logger)
    const scrape = async () => (await fetch(`http://127.0.0.1:${sessionizer.metricsPort}/metrics`)).text()
    try {
      await produceRecords(brokers, topic, records)
      const stalled = await waitFor('the lag to show every record', async () => {
        const text = await scrape()
        return metricSum(text, 'radstream_sessionizer_consumer_lag_records') === records.length ? text : undefined
      })
      expect(metricSum(stalled, 'radstream_sessionizer_records_applied_total')).toBe(0)
      const firstAge = metricSum(stalled, 'radstream_sessionizer_consumer_lag_seconds')
      await new Promise((resolve) => setTimeout(resolve, 1500))
      const later = await scrape()
      expect(metricSum(later, 'radstream_sessionizer_consumer_lag_records')).toBe(records.length)
      // Both partitions' oldest records grew older by the wait (one in hand, one seen behind).
      expect(metricSum(later, 'radstream_sessionizer_consumer_lag_seconds')).toBeGreaterThanOrEqual(firstAge + 2.9)

      await blocker.query('rollback')
      const caughtUp = await waitFor('the lag to fall to 0', async () => {
        const text = await scrape()
        return metricSum(text, 'radstream_sessionizer_consumer_lag_records') === 0 ? text : undefined
      })
      expect(metricSum(caughtUp, 'radstream_sessionizer_consumer_lag_seconds')).toBe(0)
      expect(metricSum(caughtUp, 'radstream_sessionizer_records_applied_total')).toBe(records.length)
      expect(metricSum(caughtUp, 'radstream_sessionizer_batches_total')).toBeGreaterThan(0)
      expect(metricSum(caughtUp, 'radstream_sessionizer_transaction_seconds_count')).toBe(
        metricSum(caughtUp, 'radstream_sessionizer_batches_total'),
      )
      // The transactions that waited for the lock took at least as long as it was held.
      expect(metricSum(caughtUp, 'radstream_sessionizer_transaction_seconds_sum')).toBeGreaterThan(1.5)
      expect(caughtUp).toMatch(/^radstream_sessionizer_consumer_lag_records\{partition="1"\} 0$/m)
    } finally {
      await blocker.end().catch(() => {})
      await sessionizer.stop()
      await db.destroy()
    }
  }, 120_000)

  it('should verify the audit chain as it grows, and report an old event changed by hand until it is mended', async () => {
    const topic = testTopic('chain')
    const { url, db } = await scratchDatabase('chain')
    const settings = testSettings({
      KAFKA_TOPIC: topic,
      DATABASE_URL: url,
      SESSIONIZER_GROUP_ID: `chain-${Date.now()}`,
      AUDIT_VERIFY_INTERVAL_MS: '1000',
    })
    const event = (n: number): NewAuditEvent => ({
      eventKey: `test.chain:${n}`,
      initiatorType: 'SYSTEM',
      initiatorId: '',
      operation: 'UPDATE',
      entityType: 'SESSION',
      entityId: `e-${n}`,
      entityName: `entity ${n}`,
      description: `event ${n}`,
      fields: [],
    })
    await insertAuditEvents(db, [event(1), event(2), event(3)], 'test-chain')
    const sessionizer = await startSessionizer(settings, logger)
    const scrape = async () => (await fetch(`http://127.0.0.1:${sessionizer.metricsPort}/metrics`)).text()
    const metric = async (name: string, labels: Record<string, string> = {}) => metricSum(await scrape(), name, labels)
    try {
      // Written while it runs: checked as new events.
      await insertAuditEvents(db, [event(4), event(5)], 'test-chain')
      await waitFor('the chain check to cover all five events', async () =>
        (await metric('radstream_sessionizer_audit_events_verified_total')) >= 5 ? true : undefined,
      )
      expect(await metric('radstream_sessionizer_audit_chain_broken')).toBe(0)
      expect(
        await metric('radstream_sessionizer_sweeps_total', { sweep: 'audit_verify', outcome: 'ok' }),
      ).toBeGreaterThan(0)

      // A superuser edits the oldest event, long verified: the rolling pass finds it.
      const edit = async (description: string) =>
        db.transaction().execute(async (tx) => {
          await sql`set local session_replication_role = replica`.execute(tx)
          await sql`update audit_events set description = ${description} where event_key = 'test.chain:1'`.execute(tx)
        })
      await edit('nothing happened')
      await waitFor('the break to be reported', async () =>
        (await metric('radstream_sessionizer_audit_chain_broken')) === 1 ? true : undefined,
      )
      await new Promise((resolve) => setTimeout(resolve, 2500))
      expect(await metric('radstream_sessionizer_audit_chain_broken')).toBe(1)
      await edit('event 1')
      await waitFor('the mended chain to verify', async () =>
        (await metric('radstream_sessionizer_audit_chain_broken')) === 0 ? true : undefined,
      )
    } finally {
      await sessionizer.stop()
      await db.destroy()
    }
  }, 120_000)
})
