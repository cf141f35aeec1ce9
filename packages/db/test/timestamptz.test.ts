import { sql } from 'kysely'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { createDb, type Db } from '../src'
import { typeParsers } from '../src/connection'
import { parseTimestamptz, TIMESTAMPTZ_OID } from '../src/timestamptz'

const pgParser = pg.types.getTypeParser(TIMESTAMPTZ_OID, 'text') as (text: string) => Date | number | null

let db: Db
beforeAll(() => {
  db = createDb({ url: inject('databaseUrl'), poolSize: 1 })
})
afterAll(async () => {
  await db?.destroy()
})

/** The value as the parser makes it, comparable with toEqual whatever its kind. */
const shown = (value: Date | number | null) => (value instanceof Date ? `date ${value.getTime()}` : `${value}`)

describe('timestamptz parsing', () => {
  // Zones whose offsets have minutes (Asia/Kolkata, Asia/Kathmandu), seconds before 1900 (local
  // mean time: America/St_Johns -03:30:52), and are west and east of UTC.
  it.each(['UTC', 'Asia/Kolkata', 'Asia/Kathmandu', 'America/St_Johns', 'America/Los_Angeles', 'Pacific/Kiritimati'])(
    'should read what PostgreSQL prints in %s as pg does, at PostgreSQL’s instant',
    async (zone) => {
      const { rows } = await db.connection().execute(async (connection) => {
        await sql`select set_config('TimeZone', ${zone}, false)`.execute(connection)
        // Instants 1000-01-01 to 9999 at random microseconds, the fractions of every length
        // (PostgreSQL drops trailing zeros), and the forms the fast path leaves to pg.
        return sql<{ text: string; ms: string }>`
          select t::text as text, floor(extract(epoch from t) * 1000)::text as ms from (
            select timestamptz '1000-01-01 00:00:00+00' + random() * interval '9000 years' as t
              from generate_series(1, 2000)
            union all
            select timestamptz '2026-12-07 14:00:00+00' + g * interval '1 microsecond' * 10 ^ (g % 7)
              from generate_series(1, 200) g
            union all
            select timestamptz '1899-12-31 23:59:59.999999+00' + g * interval '7 hours 31 seconds'
              from generate_series(0, 50) g
            union all
            select unnest(array['infinity', '-infinity', '0050-06-01 12:00:00+00', '0999-12-31 23:59:59+00',
              '10000-01-01 00:00:00+00', '0044-03-15 12:00:00+00 BC']::timestamptz[])
          ) instants`.execute(connection)
      })
      expect(rows.length).toBe(2257)
      for (const { text, ms } of rows) {
        const parsed = parseTimestamptz(text)
        expect(shown(parsed), text).toBe(shown(pgParser(text)))
        if (parsed instanceof Date) expect(parsed.getTime(), text).toBe(Number(ms))
      }
    },
  )

  it('should leave to pg what is not PostgreSQL’s ISO form', () => {
    for (const text of [
      '2026-12-07 14:00:00',
      '2026-12-07 14:00:00.+00',
      '2026-12-07 14:00:00+0',
      '2026-12-07 14:00:00+00:3',
      '2026-12-07 14:00:00+00:30:',
      '2026-12-07T14:00:00+00',
      '2026-1x-07 14:00:00+00',
      '2026-12-07 14.00:00+00',
      '2026-13-07 14:00:00+00',
      '2026-12-00 14:00:00+00',
      '2026-12-07 14:00:00.5+00 BC',
    ])
      expect(shown(parseTimestamptz(text)), text).toBe(shown(pgParser(text)))
  })

  it('should be the parser of every timestamptz the database reads, and a date stay its text', async () => {
    expect(typeParsers.getTypeParser(TIMESTAMPTZ_OID, 'text')).toBe(parseTimestamptz)
    const { rows } = await sql<{ at: Date; day: string }>`
      select timestamptz '2026-12-07 14:00:00.123456+05:30' as at, date '2026-12-07' as day`.execute(db)
    expect(rows[0]).toEqual({ at: new Date('2026-12-07T08:30:00.123Z'), day: '2026-12-07' })
  })
})
