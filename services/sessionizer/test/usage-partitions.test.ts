import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { monthPartitions, type Db } from '@radstream/db'
import { applyBatch, manageMonthPartitions } from '../src'
import { accountingRecord, at } from '../../../test/support/records'
import { scratchDatabase } from '../../../test/support/scratch-database'

/**
 * The daily usage rows live in month partitions (migration 0020): a month's partition is made
 * ahead, rows of a month without one wait in the default partition and move when it is made, and
 * retention drops a month whole, each kind by its own setting.
 */

let db: Db
beforeAll(async () => {
  ;({ db } = await scratchDatabase('usage_partitions'))
  // The months this test makes, gone again (the scratch database outlives a run).
  await sql`select drop_month_partition(t::regclass, m::date)
    from unnest(array['session_usage_days', 'usage_daily', 'usage_monthly', 'quota_crossings']) t,
      generate_series('2024-01-01'::date, '2025-12-01'::date, interval '1 month') m`.execute(db)
})
afterAll(async () => db?.destroy())

/** Where each of the session's day rows is stored, by day. */
async function storedIn(table: 'session_usage_days' | 'usage_daily') {
  const { rows } = await sql<{ day: string; part: string }>`
    select day::text, tableoid::regclass::text as part from ${sql.table(table)} order by day`.execute(db)
  return rows.map((r) => [r.day, r.part])
}

/** Where each of the session's user's monthly totals is stored, by month. */
async function monthlyIn() {
  const { rows } = await sql<{ month: string; part: string }>`
    select month::text, tableoid::regclass::text as part from usage_monthly order by month`.execute(db)
  return rows.map((r) => [r.month, r.part])
}

describe('usage month partitions', () => {
  it('should move a month out of the default partition when its partition is made, and drop it whole past retention', async () => {
    const common = [
      ['User-Name', 'partitioned'],
      ['Acct-Session-Id', 'partitioned-1'],
      ['NAS-IP-Address', '198.18.140.1'],
    ] as const
    await db
      .transaction()
      .execute((tx) =>
        applyBatch(tx, [
          accountingRecord([...common, ['Acct-Status-Type', 1], ['Event-Timestamp', at('2024-03-30T22:00:00Z')]]),
          accountingRecord([
            ...common,
            ['Acct-Status-Type', 2],
            ['Event-Timestamp', at('2024-04-01T01:00:00Z')],
            ['Acct-Session-Time', 27 * 3600],
            ['Acct-Input-Octets', 27_000],
          ]),
        ]),
      )
    // No partition for 2024 yet: the default one holds the days.
    expect(await storedIn('session_usage_days')).toEqual([
      ['2024-03-30', 'session_usage_days_default'],
      ['2024-03-31', 'session_usage_days_default'],
      ['2024-04-01', 'session_usage_days_default'],
    ])

    // The sweep in March 2024: March to May made, March's rows moved out of the default.
    const march = await manageMonthPartitions(
      db,
      { session_history: 400, session_usage_days: 400, usage_daily: 800, usage_monthly: 400, quota_crossings: 400 },
      new Date('2024-03-10T00:00:00Z'),
    )
    expect(march.made).toEqual(
      expect.arrayContaining(['session_usage_days_p202403', 'session_usage_days_p202404', 'usage_daily_p202405']),
    )
    expect(await storedIn('session_usage_days')).toEqual([
      ['2024-03-30', 'session_usage_days_p202403'],
      ['2024-03-31', 'session_usage_days_p202403'],
      ['2024-04-01', 'session_usage_days_p202404'],
    ])
    expect((await storedIn('usage_daily')).map(([, part]) => part)).toEqual([
      'usage_daily_p202403',
      'usage_daily_p202403',
      'usage_daily_p202404',
    ])
    expect(await monthlyIn()).toEqual([
      ['2024-03-01', 'usage_monthly_p202403'],
      ['2024-04-01', 'usage_monthly_p202404'],
    ])

    // 400 days after May 1st 2024: March and April are past the day shares' retention; the
    // daily rollups (800 days) stay.
    const later = await manageMonthPartitions(
      db,
      { session_history: 400, session_usage_days: 400, usage_daily: 800, usage_monthly: 1100, quota_crossings: 1100 },
      new Date('2025-06-10T00:00:00Z'),
    )
    expect(later.dropped.session_usage_days).toEqual(['session_usage_days_p202403', 'session_usage_days_p202404'])
    expect(later.dropped.usage_daily).toEqual([])
    expect(await storedIn('session_usage_days')).toEqual([])
    expect((await storedIn('usage_daily')).length).toBe(3)
    expect([...(await monthPartitions(db, 'session_usage_days')).keys()]).not.toContain('session_usage_days_p202404')
    // Nothing else changed: the rollups still sum the session's traffic.
    const { rows } = await sql<{ octets: string }>`select sum(input_octets)::text as octets from usage_daily`.execute(
      db,
    )
    expect(rows[0]!.octets).toBe('27000')

    // The monthly totals by their own setting: kept at 1,100 days, gone at 400.
    expect(later.dropped.usage_monthly).toEqual([])
    expect((await monthlyIn()).length).toBe(2)
    const shorter = await manageMonthPartitions(
      db,
      { session_history: 400, session_usage_days: 400, usage_daily: 800, usage_monthly: 400, quota_crossings: 400 },
      new Date('2025-06-10T00:00:00Z'),
    )
    expect(shorter.dropped.usage_monthly).toEqual(['usage_monthly_p202403', 'usage_monthly_p202404'])
    expect(await monthlyIn()).toEqual([])
  })
})
