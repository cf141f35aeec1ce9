import fc from 'fast-check'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { createDb, pgArray, type Db } from '../src'

let db: Db
beforeAll(() => {
  db = createDb({ url: inject('databaseUrl'), poolSize: 1 })
})
afterAll(async () => db.destroy())

describe('pgArray', () => {
  it('should give PostgreSQL back every string as it was, whatever it holds', async () => {
    const hostile = ['', 'NULL', 'null', ' spaced ', 'a,b', '{x}', '"', '\\', '\\"', 'tab\there', 'é ✓ 𝄞', 'new\nline']
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.oneof(fc.constantFrom(...hostile), fc.string({ unit: 'grapheme' }), fc.constant(null)), {
          maxLength: 20,
        }),
        async (values) => {
          const { rows } = await sql<{ a: (string | null)[] }>`select ${pgArray(values)}::text[] as a`.execute(db)
          expect(rows[0]!.a).toEqual(values)
        },
      ),
      { numRuns: 200 },
    )
  })

  it('should carry numbers, big integers, booleans, times and NULL in their own types', async () => {
    const at = new Date('2024-04-01T10:00:00.123Z')
    const { rows } = await sql<{ n: string; b: boolean[]; t: Date[]; i: string }>`
      select ${pgArray([1, 2.5, null])}::numeric[]::text as n, ${pgArray([true, false])}::bool[] as b,
        ${pgArray([at, undefined])}::timestamptz[] as t, ${pgArray([18446744073709551615n])}::numeric[]::text as i`.execute(
      db,
    )
    expect(rows[0]).toEqual({ n: '{1,2.5,NULL}', b: [true, false], t: [at, null], i: '{18446744073709551615}' })
  })
})
