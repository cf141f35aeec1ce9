import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  attributeByName,
  buildAccountingRequest,
  decodeValue,
  encodeValue,
  parsePacket,
  readAccountingRequest,
  verifyAccountingRequestAuthenticator,
  type AttributeValueOf,
  type AttributeValueType,
} from '../src'

const ipv6Groups = fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 8, maxLength: 8 })
/** IPv6 text as our decoder prints it: lower-case hex, longest zero run (2+ groups) compressed. */
const ipv6 = ipv6Groups.map((groups) => {
  const bytes = Buffer.alloc(16)
  groups.forEach((g, i) => bytes.writeUInt16BE(g, i * 2))
  return decodeValue('ipv6addr', bytes)
})

const arbitraries: { [T in AttributeValueType]: fc.Arbitrary<AttributeValueOf[T]> } = {
  text: fc.string({ minLength: 1, maxLength: 80, unit: 'grapheme' }),
  string: fc.uint8Array({ minLength: 1, maxLength: 253 }).map((a) => Buffer.from(a)),
  integer: fc.integer({ min: 0, max: 0xffffffff }),
  date: fc.integer({ min: 0, max: 0xffffffff }),
  ipaddr: fc.ipV4(),
  ipv6addr: ipv6,
  ipv6prefix: fc.tuple(ipv6Groups, fc.integer({ min: 0, max: 128 })).map(([groups, length]) => {
    // Bits past the prefix length are not carried, so the canonical prefix has them zero.
    const bytes = Buffer.alloc(16)
    groups.forEach((g, i) => bytes.writeUInt16BE(g, i * 2))
    for (let bit = length; bit < 128; bit++) bytes[bit >> 3]! &= ~(0x80 >> (bit & 7))
    return `${decodeValue('ipv6addr', bytes)}/${length}`
  }),
  ifid: fc.uint8Array({ minLength: 8, maxLength: 8 }).map((a) => Buffer.from(a)),
  vsa: fc
    .tuple(fc.integer({ min: 1, max: 0xffffff }), fc.uint8Array({ minLength: 1, maxLength: 200 }))
    .map(([vendorId, data]) => ({ vendorId, data: Buffer.from(data) })),
}

describe('attribute values', () => {
  for (const valueType of Object.keys(arbitraries) as AttributeValueType[]) {
    it(`${valueType} should decode to what was encoded`, () => {
      fc.assert(
        fc.property(arbitraries[valueType] as fc.Arbitrary<never>, (value) => {
          expect(decodeValue(valueType, encodeValue(valueType, value))).toEqual(value)
        }),
      )
    })
  }

  it('a whole signed Accounting-Request should verify and read back every attribute', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 60 }),
        fc.string({ minLength: 1, maxLength: 60 }),
        fc.ipV4(),
        ipv6,
        fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
        fc.integer({ min: 0, max: 255 }),
        (user, session, framed, nasV6, octets, identifier) => {
          const secret = Buffer.from('prop-secret')
          const bytes = buildAccountingRequest({
            identifier,
            secret,
            attributes: [
              ['User-Name', user],
              ['Acct-Session-Id', session],
              ['Acct-Status-Type', 3],
              ['Framed-IP-Address', framed],
              ['NAS-IPv6-Address', nasV6],
              ['Acct-Input-Octets', Number(octets & 0xffffffffn)],
              ['Acct-Input-Gigawords', Number(octets >> 32n)],
            ],
          })
          const packet = parsePacket(bytes)
          expect(verifyAccountingRequestAuthenticator(packet, secret)).toBe(true)
          expect(readAccountingRequest(packet)).toMatchObject({
            userName: user,
            sessionId: session,
            framedIpAddress: framed,
            nasIpv6Address: nasV6,
            inputOctets: octets,
          })
        },
      ),
    )
  })

  it('the dictionary should name each attribute type once', () => {
    const types = [...attributeByName.values()].map((d) => d.type)
    expect(new Set(types).size).toBe(types.length)
  })
})
