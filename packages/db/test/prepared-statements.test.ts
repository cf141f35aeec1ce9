import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { createDb, PREPARED_PER_CONNECTION, type Db } from '../src'

let prepared: Db
let plain: Db
beforeAll(() => {
  prepared = createDb({ url: inject('databaseUrl'), poolSize: 1, preparedStatements: true })
  plain = createDb({ url: inject('databaseUrl'), poolSize: 1 })
})
afterAll(async () => {
  await prepared?.destroy()
  await plain?.destroy()
})

/** The statements the pool's one connection has prepared. */
const preparedNames = async (db: Db) =>
  (await sql<{ name: string }>`select name from pg_prepared_statements where name like 'rs\_%'`.execute(db)).rows.map(
    (r) => r.name,
  )

describe('prepared statements', () => {
  it('should prepare a statement with parameters once a connection, and give the same answers', async () => {
    const read = (db: Db, n: number) => sql<{ n: number }>`select ${n}::int + 1 as n`.execute(db)
    expect((await read(prepared, 1)).rows).toEqual([{ n: 2 }])
    expect((await read(prepared, 41)).rows).toEqual([{ n: 42 }])
    expect(await preparedNames(prepared)).toHaveLength(1)
    // Errors stay the statement's, and the connection stays usable.
    await expect(sql`select ${'x'}::int`.execute(prepared)).rejects.toThrow(/invalid input syntax/)
    expect((await read(prepared, 2)).rows).toEqual([{ n: 3 }])
    expect((await read(plain, 2)).rows).toEqual([{ n: 3 }])
    expect(await preparedNames(plain)).toEqual([])
  })

  it('should plan a prepared statement once, for any values, from its first run', async () => {
    const text = 'select count(*)::int as n from pg_class where relpages > $1'
    for (const pages of [0, 10, 1000])
      await sql`select count(*)::int as n from pg_class where relpages > ${pages}`.execute(prepared)
    const own = await sql<{ generic: number; custom: number }>`
      select generic_plans::int as generic, custom_plans::int as custom from pg_prepared_statements
      where statement = ${text}`.execute(prepared)
    expect(own.rows).toEqual([{ generic: 3, custom: 0 }])
  })

  it(`should prepare at most ${PREPARED_PER_CONNECTION} statements a connection, and run the others unnamed`, async () => {
    for (let i = 0; i < PREPARED_PER_CONNECTION + 20; i++) {
      const { rows } = await sql<{ n: number }>`select ${i}::int as ${sql.id(`n${i}`)}`.execute(prepared)
      expect(Object.values(rows[0]!)).toEqual([i])
    }
    expect(await preparedNames(prepared)).toHaveLength(PREPARED_PER_CONNECTION)
  })
})
