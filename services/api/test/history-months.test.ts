import { sql, type Transaction } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createDb, ensureMonthPartitions, type Database, type Db } from '@radstream/db'
import { connectionHistory } from '../src/graphql/queries'
import { encodeCursor } from '../src/graphql/cursor'
import { scratchDatabase } from '../../../test/support/scratch-database'

/**
 * A user's history pages over the live sessions and the history's months: every session once, in
 * order, and a page reads the history's months from the newest of the page down to where the page
 * fills, none older (what PostgreSQL's statistics for the transaction count as index scans of each
 * month's partition), planned for the values or generic as a prepared statement is.
 */

const MONTHS = ['2023-01', '2023-02', '2023-03', '2023-04', '2023-05', '2023-06']
const PER_MONTH = 30
const FILLER = 30_000

let db: Db
let prepared: Db
let userId: number
/** The user's sessions as the API must page them: (start, id) descending. */
let expected: { id: string; startTime: Date }[]

beforeAll(async () => {
  // A database of its own: the months below hold this test's rows only, and as many each run.
  const scratch = await scratchDatabase('history_months')
  db = scratch.db
  prepared = createDb({ url: scratch.url, poolSize: 1, preparedStatements: true })
  await ensureMonthPartitions(db, 'session_history', new Date('2023-01-01Z'), new Date('2023-06-01Z'))
  const run = 'history-months'
  ;({ id: userId } = await db.insertInto('users').values({ username: run }).returning('id').executeTakeFirstOrThrow())
  // Other users' sessions, as many as make PostgreSQL read a month through its index, as it does at
  // scale: on a few dozen rows a month it reads them all and sorts.
  await sql`
    insert into session_history (id, session_key, session_id, user_id, nas_ip_address, start_time, stop_time, closed_by)
    select -g, 'filler-' || g, 'filler-' || g, null, '198.18.9.2',
      timestamptz '2023-01-01T00:00:00Z' + (g % 4300) * interval '1 hour', timestamptz '2023-01-01T01:00:00Z' + (g % 4300) * interval '1 hour', 'Stop'
    from generate_series(1, ${FILLER}) g`.execute(db)
  // Every 20 hours from the first of each month; one open session that started in March and one
  // closed in late June still live (not yet sealed); one live session starting with a history one.
  await sql`
    insert into sessions (session_key, session_id, user_id, username, nas_ip_address, start_time, stop_time, closed_by)
    select ${run} || '-' || m || '-' || g, 's-' || m || '-' || g, ${userId}, ${run}, '198.18.9.1',
      (m || '-01T00:00:00Z')::timestamptz + g * interval '20 hours', (m || '-01T00:00:00Z')::timestamptz + g * interval '20 hours' + interval '1 hour', 'Stop'
    from unnest(${MONTHS}::text[]) m, generate_series(0, ${PER_MONTH - 1}) g`.execute(db)
  await sql`
    insert into sessions (session_key, session_id, user_id, username, nas_ip_address, start_time, stop_time, closed_by)
    values (${run} || '-open', 'open', ${userId}, ${run}, '198.18.9.1', '2023-03-15T12:00:00Z', null, null),
      (${run} || '-tie', 'tie', ${userId}, ${run}, '198.18.9.1', '2023-02-01T20:00:00Z', null, null),
      (${run} || '-late', 'late', ${userId}, ${run}, '198.18.9.1', '2023-06-28T00:00:00Z', '2023-06-28T01:00:00Z', 'Stop')`.execute(
    db,
  )
  // The rest move to the history, as the sweep moves sealed sessions.
  await db.transaction().execute(async (tx) => {
    await sql`select set_config('radstream.archiving', 'on', true)`.execute(tx)
    await sql`
      with moved as (
        delete from sessions where user_id = ${userId} and session_id like 's-%' returning *
      )
      insert into session_history select * from moved`.execute(tx)
  })
  await sql`analyze session_history`.execute(db)
  const { rows } = await sql<{ id: string; startTime: Date }>`
    select id::text as id, start_time as "startTime" from session_records where user_id = ${userId}
    order by session_records.start_time desc, session_records.id desc`.execute(db)
  expected = rows
})
afterAll(async () => {
  await prepared?.destroy()
  await db?.destroy()
})

const user = () => ({ id: userId, resellerId: undefined })
const cursorAt = (index: number) => encodeCursor(expected[index]!)
const ids = (records: readonly { id: string; startTime: Date }[]) =>
  records.map((r) => `${r.id}@${r.startTime.toISOString()}`)

/**
 * The history's months of this test whose users' index (session_history_user_history) a scan read
 * while `work` ran; the planner's own probes of the start-time index do not count.
 */
async function monthsScanned(database: Db, plans: string, work: (tx: Transaction<Database>) => Promise<unknown>) {
  return database.transaction().execute(async (tx) => {
    await sql`select set_config('plan_cache_mode', ${plans}, true)`.execute(tx)
    const scans = async () =>
      new Map(
        (
          await sql<{ name: string; scans: string }>`
            select c.relname as name, pg_stat_get_xact_numscans(t.relid) as scans
            from pg_partition_tree('session_history_user_history') t
              join pg_index i on i.indexrelid = t.relid join pg_class c on c.oid = i.indrelid
            where c.relname = any(${MONTHS.map((m) => `session_history_p${m.replace('-', '')}`)}::text[])`.execute(tx)
        ).rows.map((r) => [r.name, Number(r.scans)]),
      )
    const before = await scans()
    await work(tx)
    const after = await scans()
    return MONTHS.filter((m) => {
      const name = `session_history_p${m.replace('-', '')}`
      return (after.get(name) ?? 0) > (before.get(name) ?? 0)
    })
  })
}

describe('history pages over the live sessions and the history', () => {
  it('should page through every session once, live and archived interleaved, in order', async () => {
    expect(expected).toHaveLength(MONTHS.length * PER_MONTH + 3)
    const paged: { id: string; startTime: Date }[] = []
    let after: string | undefined
    for (;;) {
      const page = (await connectionHistory(db, user(), {}, { first: 7, after }, ['id', 'startTime']))!
      paged.push(...page)
      if (page.length < 7) break
      after = encodeCursor(page[page.length - 1]!)
    }
    expect(ids(paged)).toEqual(ids(expected))
    const from = new Date('2023-03-01Z')
    const to = new Date('2023-05-01Z')
    const ranged = (await connectionHistory(db, user(), { from, to }, { first: 1000 }, ['id', 'startTime']))!
    expect(ids(ranged)).toEqual(ids(expected.filter((r) => r.startTime >= from && r.startTime < to)))
  })

  it("should tell a user without sessions from no user, and a reseller another reseller's user from neither", async () => {
    const { id: idle } = await db
      .insertInto('users')
      .values({ username: 'history-months-idle' })
      .returning('id')
      .executeTakeFirstOrThrow()
    const read = (id: number, resellerId?: number) => connectionHistory(db, { id, resellerId }, {}, { first: 10 })
    expect(await read(idle)).toEqual([])
    expect(await read(idle + 1000)).toBeUndefined()
    // Neither user has a reseller: to any reseller they are unknown.
    expect(await read(userId, 1)).toBeUndefined()
    expect(await read(idle, 1)).toBeUndefined()
    expect(await read(userId)).toHaveLength(10)
  })

  for (const plans of ['force_custom_plan', 'force_generic_plan']) {
    it(`should read the months newest first and stop at a full page (${plans})`, async () => {
      const page = (after?: string) => (tx: Transaction<Database>) =>
        connectionHistory(tx, user(), {}, { first: 10, after }, ['id', 'startTime'])
      for (const database of [db, prepared]) {
        // The first page: the late live session and June's newest nine.
        expect(await monthsScanned(database, plans, page())).toEqual(['2023-06'])
        // From April's second oldest: its oldest, then March's newest (the open session among them).
        const second = expected.findIndex((r) => r.startTime.toISOString().startsWith('2023-04-01T20'))
        expect(await monthsScanned(database, plans, page(cursorAt(second)))).toEqual(['2023-03', '2023-04'])
        const answer = await database.transaction().execute((tx) => page(cursorAt(second))(tx))
        expect(ids(answer!)).toEqual(ids(expected.slice(second + 1, second + 11)))
      }
    })
  }
})
