import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  createDb,
  insertAuditEvents,
  monthPartitions,
  SERVICE_ROLES,
  serviceRoleUrl,
  verifyAuditLane,
  type Db,
} from '@radstream/db'
import { manageMonthPartitions } from '@radstream/sessionizer'
import { auditLogPage } from '../src/audit-log/page'
import { scratchDatabase } from '../../../test/support/scratch-database'

/**
 * Audit events live in month partitions (migration 0021): retention drops a month whole, only
 * once the database's own audit retention has passed for all of it, and the audit log's cursor
 * and `radstream audit verify` carry on over the months dropped.
 */

const LANE = 'partition-test'
const USAGE_RETENTION = {
  session_history: 400,
  session_usage_days: 400,
  usage_daily: 800,
  usage_monthly: 1100,
  quota_crossings: 1100,
}
const utcMonth = (date: Date) => `${date.getUTCFullYear()}${String(date.getUTCMonth() + 1).padStart(2, '0')}`

let db: Db
let asSessionizer: Db
beforeAll(async () => {
  const scratch = await scratchDatabase('audit_partitions')
  db = scratch.db
  asSessionizer = createDb({ url: serviceRoleUrl(scratch.url, undefined, SERVICE_ROLES.sessionizer), poolSize: 1 })
  await sql`update audit_settings set retention_days = 3650`.execute(db)
  // January 2025's partition, as the sweep of that month made it.
  await manageMonthPartitions(asSessionizer, USAGE_RETENTION, new Date('2025-01-15T00:00:00Z'))
  // Four events of January 2025 in a lane of their own, linked as append_audit_events links them.
  await sql`
    do $$
    declare
      e audit_events;
      prev text := repeat('0', 64);
    begin
      for i in 1..4 loop
        e := row(null, 'test.archived:' || i, timestamptz '2025-01-10 00:00:00+00' + make_interval(mins => i),
          'SYSTEM', '', 'CREATE', 'NAS', 'archive', '', 'archived event ' || i, '[]', '', i, prev, null,
          ${sql.lit(LANE)}, null, null, null, null, null)::audit_events;
        e.id := nextval(pg_get_serial_sequence('audit_events', 'id'));
        e.hash := audit_event_hash(e);
        prev := e.hash;
        insert into audit_events overriding system value select (e).*;
      end loop;
      insert into audit_lanes (lane, head_seq, head_hash) values (${sql.lit(LANE)}, 4, prev);
    end
    $$`.execute(db)
  // And three of today, appended to the same lane.
  await db.transaction().execute((tx) =>
    insertAuditEvents(
      tx,
      [1, 2, 3].map((i) => ({
        eventKey: `test.recent:${i}`,
        initiatorType: 'SYSTEM' as const,
        initiatorId: '',
        operation: 'CREATE' as const,
        entityType: 'NAS' as const,
        entityId: 'recent',
        entityName: '',
        description: `recent event ${i}`,
        fields: [],
      })),
      LANE,
    ),
  )
})
afterAll(async () => {
  await asSessionizer?.destroy()
  await db?.destroy()
})

const page = (after?: { at: string; seq: string }) =>
  auditLogPage(db, {
    clientId: 'auditor',
    startDate: '2025-01-01T00:00:00.000000Z',
    endDate: new Date(Date.now() + 86_400_000).toISOString(),
    size: 3,
    initiatorId: null,
    after: after && { clientId: 'auditor', startDate: '', endDate: '', initiatorId: null, ...after },
  })

describe('audit events in month partitions', () => {
  it('should keep each event in its month, page over a dropped month and verify what is left', async () => {
    const { rows } = await sql<{ part: string; events: number }>`
      select tableoid::regclass::text as part, count(*)::int as events from audit_events
      where lane = ${LANE} group by 1 order by 1`.execute(db)
    expect(rows).toEqual([
      { part: 'audit_events_p202501', events: 4 },
      { part: `audit_events_p${utcMonth(new Date())}`, events: 3 },
    ])
    const ahead = new Date()
    ahead.setUTCDate(1)
    ahead.setUTCMonth(ahead.getUTCMonth() + 2)
    expect([...(await monthPartitions(db, 'audit_events')).keys()]).toContain(`audit_events_p${utcMonth(ahead)}`)
    expect(await verifyAuditLane(db, LANE)).toMatchObject({ checked: 7, startsAfterRemoved: false, broken: null })

    const first = await page()
    expect(first.items.map((e) => e.description)).toEqual(['archived event 1', 'archived event 2', 'archived event 3'])

    // The owner shortens the retention: January 2025 is past it, whole, and goes in one drop.
    await sql`update audit_settings set retention_days = 300`.execute(db)
    const managed = await manageMonthPartitions(asSessionizer, USAGE_RETENTION)
    expect(managed.dropped.audit_events).toContain('audit_events_p202501')
    expect((await monthPartitions(db, 'audit_events')).has('audit_events_p202501')).toBe(false)

    // The cursor points into the dropped month: the next page starts at the oldest event left.
    const second = await page(first.next)
    expect(second.items.map((e) => e.description)).toEqual(['recent event 1', 'recent event 2', 'recent event 3'])
    expect(await verifyAuditLane(db, LANE)).toMatchObject({
      checked: 3,
      firstSeq: '5',
      startsAfterRemoved: true,
      broken: null,
    })
  })

  it('should refuse the services a month within the audit retention, and any DDL of their own', async () => {
    const month = new Date()
    const first = `${month.getUTCFullYear()}-${String(month.getUTCMonth() + 1).padStart(2, '0')}-01`
    await expect(
      sql`select drop_month_partition('audit_events'::regclass, ${first}::date)`.execute(asSessionizer),
    ).rejects.toThrow(/within the retention the database holds/)
    await expect(sql.raw(`drop table audit_events_p${utcMonth(month)}`).execute(asSessionizer)).rejects.toThrow(
      /must be owner/,
    )
    // Deleting the default partition's rows stops at the database's retention, whatever the cutoff
    // asked (the row is of a month no partition is made for yet).
    await db.transaction().execute(async (tx) => {
      await sql`set local session_replication_role = replica`.execute(tx)
      await sql`insert into audit_events (event_key, occurred_at, initiator_type, operation, entity_type,
        entity_id, description, chain_seq, prev_hash, hash, lane)
        values ('test.default:1', now() + interval '6 months', 'SYSTEM', 'CREATE', 'NAS', 'd', 'in the default', 1, '', '', 'default-test')`.execute(
        tx,
      )
    })
    const { rows: stored } = await sql<{ part: string }>`
      select tableoid::regclass::text as part from audit_events where lane = 'default-test'`.execute(db)
    expect(stored).toEqual([{ part: 'audit_events_default' }])
    const { rows } = await sql<{ removed: string }>`
      select delete_expired_default_rows('audit_events'::regclass, (now() + interval '1 day')::date) as removed`.execute(
      asSessionizer,
    )
    expect(rows[0]!.removed).toBe('0')
  })
})
