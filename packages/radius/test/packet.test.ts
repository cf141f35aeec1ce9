import { describe, expect, it } from 'vitest'
import { parsePacket, RadiusDecodeError } from '../src'
import { capture } from './fixtures'

function refusal(bytes: Buffer): string | undefined {
  try {
    parsePacket(bytes)
    return undefined
  } catch (error) {
    expect(error).toBeInstanceOf(RadiusDecodeError)
    return (error as RadiusDecodeError).code
  }
}

describe('parsePacket', () => {
  it('should split the radclient Start into header and attributes', () => {
    const packet = parsePacket(capture('start'))
    expect(packet.code).toBe(4)
    expect(packet.identifier).toBe(capture('start')[1])
    expect(packet.raw.length).toBe(capture('start').readUInt16BE(2))
    expect(packet.attributes.map((a) => a.type)).toEqual([1, 40, 44, 4, 87, 61, 77, 31, 8, 55])
    expect(packet.attributes[0]!.value.toString()).toBe('alice')
  })

  it('should ignore padding past the Length field (RFC 2865 section 3)', () => {
    const padded = Buffer.concat([capture('start'), Buffer.alloc(9, 0xaa)])
    expect(parsePacket(padded).raw).toEqual(capture('start'))
  })

  it('should refuse datagrams shorter than the header or than their Length', () => {
    expect(refusal(Buffer.alloc(19))).toBe('RADSTREAM_PACKET_TOO_SHORT')
    expect(refusal(capture('start').subarray(0, 60))).toBe('RADSTREAM_PACKET_TOO_SHORT')
  })

  it('should refuse a Length field outside 20..4096', () => {
    const bytes = Buffer.from(capture('start'))
    bytes.writeUInt16BE(19, 2)
    expect(refusal(bytes)).toBe('RADSTREAM_BAD_LENGTH')
    bytes.writeUInt16BE(4097, 2)
    expect(refusal(bytes)).toBe('RADSTREAM_BAD_LENGTH')
  })

  it('should refuse attributes that are shorter than 2 or overrun the packet', () => {
    const zero = Buffer.from(capture('start'))
    zero[21] = 0
    expect(refusal(zero)).toBe('RADSTREAM_MALFORMED_ATTRIBUTE')
    const overrun = Buffer.from(capture('start'))
    overrun[21] = 250
    expect(refusal(overrun)).toBe('RADSTREAM_MALFORMED_ATTRIBUTE')
    const dangling = Buffer.concat([capture('start'), Buffer.from([1])])
    dangling.writeUInt16BE(dangling.length, 2)
    expect(refusal(dangling)).toBe('RADSTREAM_MALFORMED_ATTRIBUTE')
  })
})
