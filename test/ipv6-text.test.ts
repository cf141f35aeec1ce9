import { randomBytes } from 'node:crypto'
import { sql } from 'kysely'
import { afterAll, describe, expect, inject, it } from 'vitest'
import { createDb } from '@radstream/db'
import { decodeValue, encodeValue } from '@radstream/radius'

const db = createDb({ url: inject('databaseUrl'), poolSize: 1 })
afterAll(async () => db.destroy())

/** Addresses where text forms part ways: zero runs, IPv4-mapped and -compatible, near misses. */
const EDGES = [
  '::',
  '::1',
  '::ffff:a00:1',
  '::a00:1',
  '::ffff:0:0',
  '::ffff:0:1',
  '::fffe:a00:1',
  '::1:a00:1',
  '64:ff9b::a00:1',
  '2001:db8::ffff:a00:1',
  '::ffff:1:2:3',
  '1:0:0:1:0:0:0:1',
  '1:0:0:0:1:0:0:1',
  '2001:db8:0:0:1:0:0:1',
  'fe80::1:2:3:4',
]

describe('IPv6 text', () => {
  it('should be printed by the codec exactly as PostgreSQL prints the same address', async () => {
    const bytes = [
      ...EDGES.map((text) => encodeValue('ipv6addr', text)),
      ...Array.from({ length: 2000 }, (_, i) => {
        const b = randomBytes(16)
        // Zero some groups, often leading ones, so that compression and the IPv4 forms come up.
        for (let g = 0; g < 8; g++) if ((i >> g) & 1) b.writeUInt16BE(0, g * 2)
        if (i % 5 === 0) b.writeUInt16BE(0xffff, 10)
        return b
      }),
    ]
    const ours = bytes.map((b) => decodeValue('ipv6addr', b))
    const { rows } = await sql<{ text: string }>`select host(x::inet) as text from unnest(${ours}::text[]) x`.execute(
      db,
    )
    expect(ours).toEqual(rows.map((r) => r.text))
    // And the text reads back to the same bytes.
    expect(ours.map((text) => encodeValue('ipv6addr', text))).toEqual(bytes)
  })
})
