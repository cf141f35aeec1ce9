import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { FastifyInstance } from 'fastify'
import { sql, type Transaction } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { inject } from 'vitest'
import { createLogger } from '@radstream/config'
import { appendFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  createDb,
  insertAuditEvents as appendToLane,
  sealAuditLanes,
  type Database,
  type Db,
  type NewAuditEvent,
} from '@radstream/db'
import { listeningApi } from '../../../test/support/api-app'
import { accessToken, newApiClient } from '../../../test/support/api-client'

const BIN = fileURLToPath(new URL('../../../packages/cli/bin/radstream.js', import.meta.url))
type Json = Record<string, any>

let db: Db
let app: FastifyInstance
let base: string
let auditor: string
let run = 0

function event(initiatorId: string, n: number): NewAuditEvent {
  return {
    eventKey: `test.audit:${Date.now()}:${run++}:${n}`,
    initiatorType: initiatorId ? 'USER' : 'SYSTEM',
    initiatorId,
    operation: 'UPDATE',
    entityType: 'SESSION',
    entityId: `e-${n}`,
    entityName: `entity ${n}`,
    description: `test event ${n}`,
    fields: [{ name: 'n', oldValue: null, newValue: String(n) }],
  }
}

async function get(
  token: string | undefined,
  query: string,
): Promise<{ status: number; body: Json; headers: Headers }> {
  const response = await fetch(`${base}/api/v1/audit-log${query}`, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
  })
  return { status: response.status, body: (await response.json()) as Json, headers: response.headers }
}

const iso = (ms: number) => new Date(ms).toISOString()

/** This file's events go to a lane of their own unless a test says which. */
const insertAuditEvents = (
  executor: Parameters<typeof appendToLane>[0],
  events: NewAuditEvent[],
  lane = 'test-audit-log',
) => appendToLane(executor, events, lane)

beforeAll(async () => {
  db = createDb({ url: inject('databaseUrl'), poolSize: 4 })
  ;({ app, base } = await listeningApi(db, { logger: createLogger('warn', 'test') }))
  auditor = await accessToken(base, await newApiClient(db, ['auditor'], undefined, { rateLimitPerMinute: 100_000 }))
})
afterAll(async () => {
  await app?.close()
  await db?.destroy()
})

describe('GET /api/v1/audit-log: the contract', () => {
  it('should answer the documented example request', async () => {
    // The example's 2022 window, for a client whose plan keeps that much history.
    const longPlan = await accessToken(
      base,
      await newApiClient(db, ['auditor'], undefined, { auditHistoryDays: 36_500 }),
    )
    const { status, body } = await get(
      longPlan,
      '?startDate=2022-10-25T00:00:00.000Z&endDate=2022-10-26T00:00:00.000Z&size=100&initiatorId=example@example.com',
    )
    expect(status).toBe(200)
    expect(body).toEqual({ auditLogs: [] })
  })

  it('should default to the last day, carry every documented field, with microseconds', async () => {
    await insertAuditEvents(db, [
      {
        ...event('fields@example.com', 1),
        initiatorName: 'Fields Tester',
        initiatorPublicIp: '198.51.100.9',
        entityParent: { type: 'USER', id: 'fields-user', name: 'fields-user' },
      },
    ])
    const { status, body } = await get(auditor, '?size=100&initiatorId=fields@example.com')
    expect(status).toBe(200)
    expect(body.auditLogs).toHaveLength(1)
    // The contract's eleven fields, and the ones of Connexa's AuditLogResponse radstream fills.
    expect(body.auditLogs[0]).toEqual({
      id: expect.stringMatching(/^\d+$/),
      timestamp: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/),
      initiatorType: 'USER',
      initiatorId: 'fields@example.com',
      initiatorName: 'Fields Tester',
      initiatorPublicIp: '198.51.100.9',
      operation: 'UPDATE',
      entityType: 'SESSION',
      entityId: 'e-1',
      entityName: 'entity 1',
      entityParentType: 'USER',
      entityParentId: 'fields-user',
      entityParentName: 'fields-user',
      description: 'test event 1',
      fields: [{ name: 'n', oldValue: null, newValue: '1' }],
      requestId: '',
    })
    expect(body.nextCursor).toBeUndefined()
  })

  it.each([
    ['', 'size', 'is required'],
    ['?size=0', 'size', 'from 1 to 100'],
    ['?size=101', 'size', 'from 1 to 100'],
    ['?size=ten', 'size', 'from 1 to 100'],
    ['?size=-5', 'size', 'from 1 to 100'],
    ['?size=10&startDate=yesterday', 'startDate', 'ISO instant'],
    ['?size=10&endDate=2024-01-01T00:00:00%2B01:00', 'endDate', 'ISO instant'],
    [
      `?size=10&startDate=${iso(Date.now() - 30 * 3600_000)}&endDate=${iso(Date.now())}`,
      'endDate',
      'longer than 24 hours',
    ],
    [
      `?size=10&startDate=${iso(Date.now() - 91 * 86_400_000)}&endDate=${iso(Date.now() - 90.5 * 86_400_000)}`,
      'startDate',
      '90 days of history',
    ],
    ['?size=10&cursor=forged', 'cursor', 'not a cursor'],
  ])('should answer %s with 400 naming %s', async (query, parameter, reason) => {
    const { status, body } = await get(auditor, query)
    expect(status).toBe(400)
    expect(body).toEqual({ error: 'BAD_USER_INPUT', parameter, message: expect.stringContaining(reason) })
    expect(body.message.startsWith(`${parameter}:`)).toBe(true)
  })

  it('should accept instants with and without milliseconds', async () => {
    const start = new Date(Date.now() - 3600_000)
    start.setUTCMilliseconds(0)
    const withoutMs = start.toISOString().replace('.000Z', 'Z')
    expect((await get(auditor, `?size=5&startDate=${withoutMs}&endDate=${iso(Date.now() - 1000)}`)).status).toBe(200)
    expect(
      (await get(auditor, `?size=5&startDate=${start.toISOString()}&endDate=${iso(Date.now() - 1000)}`)).status,
    ).toBe(200)
  })

  it('should answer a startDate not before endDate with no auditLogs, not an error', async () => {
    const now = Date.now()
    const { status, body } = await get(auditor, `?size=5&startDate=${iso(now - 1000)}&endDate=${iso(now - 2000)}`)
    expect(status).toBe(200)
    expect(body).toEqual({ auditLogs: [] })
  })

  it('should filter by initiatorId, and never find system events by an empty one', async () => {
    // From just before these events, so that what other tests wrote earlier cannot fill the page.
    const since = iso(Date.now() - 1000)
    await insertAuditEvents(db, [event('filter-a@example.com', 1), event('filter-b@example.com', 2), event('', 3)])
    const a = await get(auditor, '?size=100&initiatorId=filter-a@example.com')
    expect(a.body.auditLogs.map((e: Json) => e.initiatorId)).toEqual(['filter-a@example.com'])
    const empty = await get(auditor, `?size=100&initiatorId=&startDate=${since}`)
    expect(empty.body.auditLogs.some((e: Json) => e.initiatorId === 'filter-a@example.com')).toBe(true) // empty means no filter
  })

  it('should refuse a cursor used with another query', async () => {
    await insertAuditEvents(db, [event('cursor@example.com', 1), event('cursor@example.com', 2)])
    const first = await get(auditor, '?size=1&initiatorId=cursor@example.com')
    expect(first.body.nextCursor).toEqual(expect.any(String))
    const other = await get(auditor, `?size=1&initiatorId=someone-else@example.com&cursor=${first.body.nextCursor}`)
    expect(other.status).toBe(400)
    expect(other.body.parameter).toBe('cursor')
    const tampered = first.body.nextCursor.replace(/^./, (c: string) => (c === 'A' ? 'B' : 'A'))
    expect((await get(auditor, `?size=1&cursor=${tampered}`)).status).toBe(400)
    const same = await get(auditor, `?size=1&cursor=${first.body.nextCursor}`)
    expect(same.status).toBe(200)
    expect(same.body.auditLogs[0].initiatorId).toBe('cursor@example.com')
  })
})

describe('GET /api/v1/audit-log: access', () => {
  it('should answer 401 without a token and 403 to a reseller', async () => {
    const none = await get(undefined, '?size=1')
    expect(none.status).toBe(401)
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/)
    const reseller = await accessToken(base, await newApiClient(db, ['reseller'], `audit-reseller-${Date.now()}`))
    const forbidden = await get(reseller, '?size=1')
    expect(forbidden.status).toBe(403)
    expect(forbidden.body.error).toBe('FORBIDDEN')
    const admin = await accessToken(base, await newApiClient(db, ['admin']))
    expect((await get(admin, '?size=1')).status).toBe(200)
  })

  it('should limit each client to its rate, with 429, Retry-After: 60 and a message', async () => {
    const limited = await accessToken(base, await newApiClient(db, ['auditor'], undefined, { rateLimitPerMinute: 3 }))
    for (let i = 0; i < 3; i++) expect((await get(limited, '?size=1')).status).toBe(200)
    const refused = await get(limited, '?size=1')
    expect(refused.status).toBe(429)
    expect(refused.headers.get('retry-after')).toBe('60')
    expect(refused.body.message).toMatch(/retry after 1 minute/)
    // Another client is not affected.
    expect((await get(auditor, '?size=1')).status).toBe(200)
  })

  it('should publish an OpenAPI 3 document generated from the route schemas', async () => {
    const doc = (await (await fetch(`${base}/api/v1/openapi.json`)).json()) as Json
    expect(doc.openapi).toMatch(/^3\./)
    const route = doc.paths['/api/v1/audit-log'].get
    expect(route.parameters.map((p: Json) => p.name).sort()).toEqual([
      'cursor',
      'endDate',
      'initiatorId',
      'size',
      'startDate',
    ])
    expect(Object.keys(route.responses)).toEqual(expect.arrayContaining(['200', '400', '401', '403', '429']))
    // Named as the published contract names them; size an int32 from 1 to 100.
    expect(JSON.stringify(route.responses['200'])).toContain('#/components/schemas/AuditLogsResponse')
    expect(Object.keys(doc.components.schemas)).toEqual(
      expect.arrayContaining(['AuditLogsResponse', 'AuditLogResponse']),
    )
    expect(Object.keys(doc.components.schemas.AuditLogResponse.properties)).toEqual(
      expect.arrayContaining([
        'initiatorName',
        'initiatorPublicIp',
        'entityParentType',
        'entityParentId',
        'entityParentName',
      ]),
    )
    expect(route.parameters.find((p: Json) => p.name === 'size').schema).toMatchObject({
      type: 'integer',
      format: 'int32',
      minimum: 1,
      maximum: 100,
    })
  })
})

describe('GET /api/v1/audit-log: cursors auditors can trust', () => {
  it('should page 10,100 events, thousands on one timestamp, by 7 while six partitions and the API write, each exactly once', async () => {
    const start = Math.floor(Date.now() / 1000) * 1000 - 1000
    const end = Date.now() + 10_000
    const tag = `paging-${Date.now()}`
    // 8,000 events on four shared timestamps: written as a superuser with the chain trigger off,
    // then linked into a lane of their own as the trigger would have, as a bulk import would be.
    const lane = `bulk-${tag}`
    await db.transaction().execute(async (tx) => {
      await sql`set local session_replication_role = replica`.execute(tx)
      await sql`
        insert into audit_events (lane, event_key, occurred_at, initiator_type, initiator_id, operation, entity_type, entity_id, description, chain_seq, prev_hash, hash)
        select ${lane}, ${tag} || ':' || g, to_timestamp(${start / 1000} + (g % 4) * 0.25), 'USER', ${tag}, 'UPDATE', 'SESSION', g::text, 'bulk',
          g, '', ''
        from generate_series(1, 8000) g`.execute(tx)
      await sql`
        do $$
        declare
          r audit_events;
          prev text := repeat('0', 64);
        begin
          for r in select * from audit_events where lane = ${sql.lit(lane)} order by chain_seq loop
            r.prev_hash := prev;
            prev := audit_event_hash(r);
            update audit_events set prev_hash = r.prev_hash, hash = prev where lane = r.lane and chain_seq = r.chain_seq;
          end loop;
          insert into audit_lanes (lane, head_seq, head_hash) values (${sql.lit(lane)}, 8000, prev);
        end
        $$`.execute(tx)
    })
    // 2,000 more from concurrent writers while the auditor pages.
    let writing = true
    // Six partitions' lanes and the API's, each writer in its own, all at once.
    const lanes = [...Array.from({ length: 6 }, (_, p) => `partition-${p}`), 'api']
    const writers = lanes.map(async (writerLane, w) => {
      for (let i = 0; writing && i < 300; i++) {
        await insertAuditEvents(db, [{ ...event(tag, w * 1000 + i), eventKey: `${tag}:w${w}:${i}` }], writerLane)
      }
    })
    const seen: string[] = []
    let cursor: string | undefined
    let pages = 0
    const startText = new Date(start).toISOString()
    const endText = new Date(end).toISOString()
    for (;;) {
      const query = cursor
        ? `?size=7&cursor=${cursor}`
        : `?size=7&startDate=${startText}&endDate=${endText}&initiatorId=${tag}`
      const { status, body } = await get(auditor, query)
      expect(status).toBe(200)
      seen.push(...body.auditLogs.map((e: Json) => e.id))
      pages++
      if (!body.nextCursor) break
      cursor = body.nextCursor
      if (body.auditLogs.length === 0) await new Promise((resolve) => setTimeout(resolve, 20))
    }
    writing = false
    await Promise.all(writers)
    const total = await db
      .selectFrom('audit_events')
      .select(sql<string>`id::text`.as('id'))
      .where('initiator_id', '=', tag)
      .execute()
    expect(total.length).toBe(8000 + 300 * lanes.length)
    const all = await db
      .selectFrom('audit_events')
      .select(sql<string>`id::text`.as('id'))
      .where('initiator_id', '=', tag)
      .where('occurred_at', '>=', new Date(start))
      .where('occurred_at', '<', new Date(end))
      .execute()
    expect(all.length).toBeGreaterThan(9000) // the writers' events that landed inside the window
    expect(new Set(seen).size).toBe(seen.length) // no duplicate
    expect(seen.sort()).toEqual(all.map((r) => r.id).sort()) // no gap
    expect(pages).toBeGreaterThanOrEqual(Math.ceil(10_000 / 7))
  }, 180_000)

  it('should hold back a window while a writer is still open, and serve its event once committed', async () => {
    const tag = `late-${Date.now()}`
    const windowStart = new Date(Date.now() - 1000).toISOString()
    const writerDb = createDb({ url: inject('databaseUrl'), poolSize: 1 })
    try {
      await writerDb.connection().execute(async (writer) => {
        await sql`begin`.execute(writer)
        await insertAuditEvents(writer, [event(tag, 1)])
        await new Promise((resolve) => setTimeout(resolve, 50))
        const windowEnd = new Date(Date.now()).toISOString()
        // The window has ended, but a writer that began inside it is still open: not final yet.
        const pending = await get(auditor, `?size=10&startDate=${windowStart}&endDate=${windowEnd}&initiatorId=${tag}`)
        expect(pending.status).toBe(200)
        expect(pending.body.auditLogs).toEqual([])
        expect(pending.body.nextCursor).toEqual(expect.any(String))
        await sql`commit`.execute(writer)
        const after = await get(auditor, `?size=10&cursor=${pending.body.nextCursor}`)
        expect(after.body.auditLogs.map((e: Json) => e.entityId)).toEqual(['e-1'])
        expect(after.body.nextCursor).toBeUndefined()
      })
    } finally {
      await writerDb.destroy()
    }
  })
})

describe('tamper evidence', () => {
  async function verify(seals = 'none'): Promise<{ code: number | null; report: Json; stderr: string }> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [BIN, 'audit', 'verify', '--seals', seals], {
        env: { ...process.env, DATABASE_URL: inject('databaseUrl'), LOG_LEVEL: 'warn' },
      })
      let stdout = ''
      let stderr = ''
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
      child.on('error', reject)
      child.on('close', (code) =>
        resolve({ code, report: JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}'), stderr }),
      )
    })
  }

  it('should refuse UPDATE and DELETE of audit events to the application role and to the owner', async () => {
    await insertAuditEvents(db, [event('guard@example.com', 1)])
    const refused = async (statement: ReturnType<typeof sql>) =>
      db.transaction().execute(async (tx) => {
        await sql`set local role radstream_app`.execute(tx)
        await statement.execute(tx)
      })
    await expect(
      refused(sql`update audit_events set description = 'x' where initiator_id = 'guard@example.com'`),
    ).rejects.toThrow(/permission denied/)
    await expect(refused(sql`delete from audit_events where initiator_id = 'guard@example.com'`)).rejects.toThrow(
      /permission denied/,
    )
    await expect(
      sql`update audit_events set description = 'x' where initiator_id = 'guard@example.com'`.execute(db),
    ).rejects.toThrow(/append-only/)
    await expect(sql`delete from audit_events where initiator_id = 'guard@example.com'`.execute(db)).rejects.toThrow(
      /append-only/,
    )
  })

  it('should append a batch as one step of its lane: replays and repeats left out, no position skipped, only through the function', async () => {
    const lane = `batch-${Date.now()}`
    const seqs = async () =>
      (
        await sql<{ seq: string; key: string }>`select chain_seq::text as seq, event_key as key from audit_events
          where initiator_id = 'batch@example.com' and lane = ${lane} order by chain_seq`.execute(db)
      ).rows
    const [first, second, third] = [
      event('batch@example.com', 1),
      event('batch@example.com', 2),
      event('batch@example.com', 3),
    ]
    await insertAuditEvents(db, [first, second, first], lane)
    // A replayed batch, with one new event between two old ones, as the role the services use.
    await db.transaction().execute(async (tx) => {
      await sql`set local role radstream_app`.execute(tx)
      await insertAuditEvents(tx, [second, third, first], lane)
    })
    const rows = await seqs()
    expect(rows.map((r) => r.key)).toEqual([first.eventKey, second.eventKey, third.eventKey])
    // The lane's first three positions: the batch's left-out events took none.
    expect(rows.map((r) => r.seq)).toEqual(['1', '2', '3'])
    const { rows: head } = await sql<{
      seq: string
    }>`select head_seq::text as seq from audit_lanes where lane = ${lane}`.execute(db)
    expect(head[0]!.seq).toBe('3')
    // No way into the chain beside the function for the services' role.
    await expect(
      db.transaction().execute(async (tx) => {
        await sql`set local role radstream_app`.execute(tx)
        await sql`insert into audit_events (event_key, initiator_type, operation, entity_type, entity_id, description)
          values ('forged', 'USER', 'UPDATE', 'SESSION', '1', 'x')`.execute(tx)
      }),
    ).rejects.toThrow(/permission denied/)
    const report = await verify()
    expect(report.code, report.stderr).toBe(0)
  })

  it('radstream audit verify should pass an intact chain and name the first event a superuser changed', async () => {
    await insertAuditEvents(db, [
      event('tamper@example.com', 1),
      event('tamper@example.com', 2),
      event('tamper@example.com', 3),
    ])
    const intact = await verify()
    expect(intact.code, intact.stderr).toBe(0)
    expect(intact.report.lanes.filter((l: Json) => l.broken)).toEqual([])
    expect(intact.report.checked).toBeGreaterThan(3)
    const victim = await db
      .selectFrom('audit_events')
      .select([sql<string>`chain_seq::text`.as('seq'), 'lane'])
      .where('entity_id', '=', 'e-2')
      .where('initiator_id', '=', 'tamper@example.com')
      .executeTakeFirstOrThrow()
    await db.transaction().execute(async (tx) => {
      await sql`set local session_replication_role = replica`.execute(tx)
      await sql`update audit_events set description = 'nothing happened here'
        where lane = ${victim.lane} and chain_seq = ${victim.seq}::bigint`.execute(tx)
    })
    const tampered = await verify()
    expect(tampered.code).toBe(1)
    expect(tampered.stderr).toMatch(new RegExp(`lane ${victim.lane} broken at event ${victim.seq}`))
    expect(tampered.report.lanes.find((l: Json) => l.lane === victim.lane).broken).toEqual(
      expect.objectContaining({ reason: expect.stringContaining('content') }),
    )
    // Mended, so that the run's later checks of every lane pass.
    await db.transaction().execute(async (tx) => {
      await sql`set local session_replication_role = replica`.execute(tx)
      await sql`update audit_events set description = 'test event 2'
        where lane = ${victim.lane} and chain_seq = ${victim.seq}::bigint`.execute(tx)
    })
    expect((await verify()).code).toBe(0)
  })

  it('should find a truncated tail and a consistently rewritten lane against the seals, which the lanes alone cannot', async () => {
    const lane = `sealed-${Date.now()}`
    await insertAuditEvents(
      db,
      [event('seal@example.com', 1), event('seal@example.com', 2), event('seal@example.com', 3)],
      lane,
    )
    const file = join(tmpdir(), `radstream-seals-${Date.now()}.jsonl`)
    const seal = await sealAuditLanes(db, async (s) => appendFile(file, `${JSON.stringify(s)}\n`))
    expect(seal?.lanes).toContainEqual(expect.objectContaining({ lane, seq: '3' }))
    const whole = await verify(file)
    expect(whole.code, whole.stderr).toBe(0)
    const asSuperuser = (work: (tx: Transaction<Database>) => Promise<unknown>) =>
      db.transaction().execute(async (tx) => {
        await sql`set local session_replication_role = replica`.execute(tx)
        await work(tx)
      })

    // The tail cut off, and the lane's head moved back to match: every link that is left holds.
    await asSuperuser(async (tx) => {
      await sql`delete from audit_events where lane = ${lane} and chain_seq = 3`.execute(tx)
      await sql`update audit_lanes set head_seq = 2, head_hash = (select hash from audit_events where lane = ${lane} and chain_seq = 2)
        where lane = ${lane}`.execute(tx)
    })
    expect((await verify()).code).toBe(0)
    const truncated = await verify(file)
    expect(truncated.code).toBe(1)
    expect(truncated.stderr).toMatch(new RegExp(`lane ${lane}: .*tail was removed`))

    // Event 2 rewritten and re-hashed, as one who knows the scheme would: the lane verifies, the seal does not.
    await asSuperuser(async (tx) => {
      await sql`update audit_events set description = 'nothing happened' where lane = ${lane} and chain_seq = 2`.execute(
        tx,
      )
      await sql`update audit_events e set hash = audit_event_hash(e) where lane = ${lane} and chain_seq = 2`.execute(tx)
      await sql`
        insert into audit_events (lane, event_key, initiator_type, initiator_id, operation, entity_type, entity_id, description, chain_seq, prev_hash, hash)
        values (${lane}, ${`refill-${lane}`}, 'USER', 'seal@example.com', 'UPDATE', 'SESSION', 'e-3', 'refill', 3,
          (select hash from audit_events where lane = ${lane} and chain_seq = 2), '')`.execute(tx)
      await sql`update audit_events e set hash = audit_event_hash(e) where lane = ${lane} and chain_seq = 3`.execute(tx)
    })
    expect((await verify()).code).toBe(0)
    const rewritten = await verify(file)
    expect(rewritten.code).toBe(1)
    expect(rewritten.stderr).toMatch(new RegExp(`lane ${lane}: event \\d+ has another hash than the seal saw`))
  })
})
