import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { buildAccountingRequest, parsePacket, readAccountingRequest, type AttributeInput } from '@radstream/radius'
import { decodeRecord, encodeBinaryRecord, encodeRecord, recordFromPacket, RecordSchemaError } from '@radstream/events'

const ARRIVAL = { receivedAt: new Date('2026-12-01T10:00:00.125Z'), address: '192.0.2.10', port: 40123 }

function packetOf(attributes: readonly AttributeInput[]) {
  return parsePacket(buildAccountingRequest({ identifier: 7, secret: Buffer.from('s'), attributes }))
}

const FULL: AttributeInput[] = [
  ['User-Name', 'alice@example.net'],
  ['Acct-Session-Id', 'sess-1'],
  ['Acct-Status-Type', 2],
  ['NAS-IP-Address', '198.51.100.1'],
  ['NAS-Port-Id', 'eth0/1'],
  ['NAS-Port-Type', 5],
  ['Framed-IP-Address', '10.0.0.9'],
  ['Framed-IPv6-Prefix', '2001:db8:1::/64'],
  ['Calling-Station-Id', 'AA:BB:CC:DD:EE:FF'],
  ['Acct-Session-Time', 3600],
  ['Acct-Input-Octets', 4_000_000_000],
  ['Acct-Input-Gigawords', 2],
  ['Acct-Output-Octets', 5],
  ['Acct-Terminate-Cause', 1],
  ['Class', Buffer.from('ai:0123456789abcdef0123456789abcdef')],
  ['Event-Timestamp', 1_796_000_000],
]

describe('binary accounting records (schema v2)', () => {
  it('should decode to the very record the JSON (v1) form of the same packet decodes to', () => {
    const packet = packetOf(FULL)
    const record = recordFromPacket(packet, readAccountingRequest(packet), ARRIVAL)
    const binary = encodeBinaryRecord(packet.raw, ARRIVAL)
    expect(decodeRecord(binary)).toEqual(record)
    expect(decodeRecord(encodeRecord(record))).toEqual(record)
    // The packet and a 13-octet header with the address: far smaller than the JSON.
    expect(binary.length).toBe(13 + ARRIVAL.address.length + packet.raw.length)
    expect(binary.length).toBeLessThan(encodeRecord(record).length / 3)
  })

  it('should keep an IPv6 source and any port, receivedAt to the millisecond', () => {
    fc.assert(
      fc.property(
        fc.ipV6(),
        fc.integer({ min: 0, max: 65535 }),
        fc.integer({ min: 0, max: 4_102_444_800_000 }),
        (address, port, ms) => {
          const arrival = { receivedAt: new Date(ms), address, port }
          const packet = packetOf([
            ['Acct-Session-Id', 'v6'],
            ['Acct-Status-Type', 1],
          ])
          const record = decodeRecord(encodeBinaryRecord(packet.raw, arrival))
          expect(record.source).toEqual({ address, port })
          expect(record.receivedAt).toBe(new Date(ms).toISOString())
          expect(record.nasAddress).toBe(address)
        },
      ),
      { numRuns: 200 },
    )
  })

  it('should refuse what is no v2 record, as a schema error the sessionizer dead-letters', () => {
    const good = encodeBinaryRecord(packetOf(FULL).raw, ARRIVAL)
    const cases: [string, Buffer][] = [
      ['another version', Buffer.concat([Buffer.from([0, 3]), good.subarray(2)])],
      ['a header cut short', good.subarray(0, 9)],
      ['a packet cut short', good.subarray(0, good.length - 5)],
      [
        'no address',
        (() => {
          const b = Buffer.from(good)
          b.write('not-an-ip!', 13, 'latin1')
          return b
        })(),
      ],
      ['a packet without Acct-Session-Id', encodeBinaryRecord(packetOf([['Acct-Status-Type', 1]]).raw, ARRIVAL)],
    ]
    for (const [what, value] of cases) expect(() => decodeRecord(value), what).toThrow(RecordSchemaError)
  })
})
