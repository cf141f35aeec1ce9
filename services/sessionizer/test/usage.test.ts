import { sql } from 'kysely'
import { describe, expect, it } from 'vitest'
import type { Db } from '@radstream/db'
import type { AccountingRecord } from '@radstream/events'
import { applyBatch } from '../src'
import { usageContent } from '../../../test/support/database-content'
import { accountingRecord, at } from '../../../test/support/records'
import { scratchDatabase } from '../../../test/support/scratch-database'
import { prng } from '../../../test/support/workload'

const GIGA = 1n << 32n

interface SeededSession {
  readonly user: string
  readonly packets: AccountingRecord[]
  /** Its final 64-bit totals, as the NAS counted them. */
  readonly input: bigint
  readonly output: bigint
  readonly month: string
}

/**
 * A month of sessions of 12 users: many start late in the evening and report across midnight;
 * some pass 4 GiB (Gigawords); each has a Start, 1 to 5 Interim-Updates and a Stop.
 */
function seededMonth(prefix: string): SeededSession[] {
  const random = prng(2025)
  const sessions: SeededSession[] = []
  for (let i = 0; i < 80; i++) {
    const user = `${prefix}-u${i % 12}`
    const day = 1 + Math.floor(random() * 27)
    const evening = random() < 0.5
    const start =
      at(`2025-03-${String(day).padStart(2, '0')}T00:00:00Z`) + (evening ? 22 * 3600 : 0) + Math.floor(random() * 7200)
    const common = [
      ['User-Name', user],
      ['Acct-Session-Id', `${prefix}-${i}`],
      ['NAS-IP-Address', '198.51.100.77'],
    ] as const
    const packets = [accountingRecord([...common, ['Acct-Status-Type', 1], ['Event-Timestamp', start]])]
    let seconds = 0
    let input = 0n
    let output = 0n
    const reports = 2 + Math.floor(random() * 5)
    for (let r = 0; r < reports; r++) {
      seconds += 300 + Math.floor(random() * 3000)
      input += BigInt(Math.floor(random() * 2e9))
      output += BigInt(Math.floor(random() * 5e8))
      const last = r === reports - 1
      packets.push(
        accountingRecord([
          ...common,
          ['Acct-Status-Type', last ? 2 : 3],
          ['Event-Timestamp', start + seconds],
          ['Acct-Session-Time', seconds],
          ['Acct-Input-Octets', Number(input % GIGA)],
          ['Acct-Input-Gigawords', Number(input / GIGA)],
          ['Acct-Output-Octets', Number(output % GIGA)],
          ['Acct-Output-Gigawords', Number(output / GIGA)],
          ...(last ? ([['Acct-Terminate-Cause', 1]] as const) : []),
        ]),
      )
    }
    sessions.push({ user, packets, input, output, month: '2025-03-01' })
  }
  return sessions
}

/** Every packet, shuffled, one in five sent twice, applied in batches of random sizes. */
async function applyShuffled(db: Db, records: readonly AccountingRecord[], seed: number): Promise<void> {
  const random = prng(seed)
  const all = records.flatMap((r) => (random() < 0.2 ? [r, r] : [r]))
  for (let i = all.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    ;[all[i], all[j]] = [all[j]!, all[i]!]
  }
  for (let i = 0; i < all.length;) {
    const size = 1 + Math.floor(random() * 40)
    await db.transaction().execute((tx) => applyBatch(tx, all.slice(i, i + size)))
    i += size
  }
}

describe('usage rollups', () => {
  it('should equal a recomputation from the sessions and their packets, whatever the order, batching and replays', async () => {
    const prefix = `usage-${Date.now().toString(36)}`
    const seeded = seededMonth(prefix)
    const records = seeded.flatMap((s) => s.packets)
    const { db: first } = await scratchDatabase('usage_a')
    const { db: second } = await scratchDatabase('usage_b')
    try {
      await applyShuffled(first, records, 1)
      await applyShuffled(second, records, 2)
      // Applied again: nothing changes.
      await applyShuffled(second, records, 3)
      const content = await usageContent(first)
      expect(await usageContent(second)).toEqual(content)

      // Each user's month is the sum of its sessions' final counters, Gigawords included...
      const expected = new Map<string, { input: bigint; output: bigint; sessions: number }>()
      for (const s of seeded) {
        const e = expected.get(s.user) ?? { input: 0n, output: 0n, sessions: 0 }
        expected.set(s.user, { input: e.input + s.input, output: e.output + s.output, sessions: e.sessions + 1 })
      }
      expect(seeded.some((s) => s.input > GIGA)).toBe(true)
      expect(
        content.monthly.map((m) => [
          m.username,
          m.month,
          BigInt(m.input_octets as string),
          BigInt(m.output_octets as string),
          m.sessions,
        ]),
      ).toEqual(
        [...expected]
          .sort(([a], [b]) => (a < b ? -1 : 1))
          .map(([user, e]) => [user, '2025-03-01', e.input, e.output, e.sessions]),
      )
      // ...which is what the session rows say too...
      const fromSessions = await sql<{ username: string; input: string; time: string }>`
        select username, sum(input_octets)::text as input, sum(session_time)::text as time
        from sessions where username like ${`${prefix}-%`} group by username order by username`.execute(first)
      expect(fromSessions.rows.map((r) => [r.username, r.input])).toEqual(
        content.monthly.map((m) => [m.username, m.input_octets]),
      )
      expect(fromSessions.rows.map((r) => r.time)).toEqual(content.monthly.map((m) => m.session_time))
      // ...and the days add up to the month.
      for (const m of content.monthly) {
        const days = content.daily.filter((d) => d.username === m.username)
        expect(days.reduce((sum, d) => sum + BigInt(d.input_octets as string), 0n)).toBe(
          BigInt(m.input_octets as string),
        )
        expect(days.reduce((sum, d) => sum + Number(d.sessions), 0)).toBe(m.sessions)
      }
      // Evening sessions reported across midnight: some users have traffic on a day no session started.
      expect(content.daily.some((d) => d.sessions === 0 && BigInt(d.input_octets as string) > 0n)).toBe(true)
    } finally {
      await first.destroy()
      await second.destroy()
    }
  }, 120_000)

  it('should split an Interim-Update across midnight by the minutes on each side, and audit a quota passed once', async () => {
    const { db } = await scratchDatabase('usage_split')
    try {
      const common = [
        ['User-Name', 'night@quota.example'],
        ['Acct-Session-Id', 'midnight-1'],
        ['NAS-IP-Address', '198.51.100.78'],
      ] as const
      await sql`insert into users (username) values ('night@quota.example')`.execute(db)
      await sql`insert into usage_quotas (realm, monthly_octets) values ('quota.example', 5000)`.execute(db)
      const packets = [
        accountingRecord([...common, ['Acct-Status-Type', 1], ['Event-Timestamp', at('2025-03-31T23:30:00Z')]]),
        accountingRecord([
          ...common,
          ['Acct-Status-Type', 3],
          ['Event-Timestamp', at('2025-04-01T00:30:00Z')],
          ['Acct-Session-Time', 3600],
          ['Acct-Input-Octets', 6000],
          ['Acct-Output-Octets', 600],
        ]),
      ]
      for (const batch of [[packets[1]!], [packets[0]!], packets])
        await db.transaction().execute((tx) => applyBatch(tx, batch))
      const { daily, monthly } = await usageContent(db)
      expect(daily).toEqual([
        {
          username: 'night@quota.example',
          day: '2025-03-31',
          input_octets: '3000',
          output_octets: '300',
          session_time: '1800',
          sessions: 1,
        },
        {
          username: 'night@quota.example',
          day: '2025-04-01',
          input_octets: '3000',
          output_octets: '300',
          session_time: '1800',
          sessions: 0,
        },
      ])
      expect(monthly.map((m) => [m.month, m.input_octets])).toEqual([
        ['2025-03-01', '3000'],
        ['2025-04-01', '3000'],
      ])
      // Neither month reached 5000 octets; a Stop with more traffic in April passes it, once.
      const stop = accountingRecord([
        ...common,
        ['Acct-Status-Type', 2],
        ['Event-Timestamp', at('2025-04-01T01:30:00Z')],
        ['Acct-Session-Time', 7200],
        ['Acct-Input-Octets', 9000],
        ['Acct-Output-Octets', 900],
      ])
      for (let i = 0; i < 2; i++) await db.transaction().execute((tx) => applyBatch(tx, [stop]))
      const events = await db
        .selectFrom('audit_events')
        .select(['event_key', 'description'])
        .where('event_key', 'like', 'usage.quota-exceeded:%')
        .execute()
      expect(events).toHaveLength(1)
      expect(events[0]!.description).toMatch(/passed the monthly quota of 5000 octets in 2025-04 \(6600 used\)/)
    } finally {
      await db.destroy()
    }
  })
})
