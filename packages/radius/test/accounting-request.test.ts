import { describe, expect, it } from 'vitest'
import { buildAccountingRequest, parsePacket, RadiusDecodeError, readAccountingRequest } from '../src'
import { capture, CAPTURE_SECRET } from './fixtures'

describe('readAccountingRequest', () => {
  it('should read every field of the radclient Start', () => {
    const a = readAccountingRequest(parsePacket(capture('start')))
    expect(a).toMatchObject({
      statusType: 1,
      sessionId: 'sess_abc123def456',
      userName: 'alice',
      nasIpAddress: '192.168.1.100',
      nasPortId: '1001',
      nasPortType: 5,
      connectInfo: 'WireGuard',
      callingStationId: 'AA:BB:CC:DD:EE:FF',
      framedIpAddress: '10.0.0.50',
      eventTimestamp: Date.UTC(2024, 0, 15, 10, 30) / 1000,
    })
  })

  it('should fold Gigawords into 64-bit octet counts on the radclient Stop', () => {
    const a = readAccountingRequest(parsePacket(capture('stop')))
    expect(a.statusType).toBe(2)
    expect(a.terminateCause).toBe(1)
    expect(a.sessionTime).toBe(15300)
    expect(a.inputOctets).toBe(2n * 2n ** 32n + 1000n)
    expect(a.outputOctets).toBeUndefined()
  })

  it('should read IPv6 addresses and prefixes, Class and Vendor-Specific from the radclient Interim', () => {
    const a = readAccountingRequest(parsePacket(capture('interim-ipv6')))
    expect(a).toMatchObject({
      statusType: 3,
      nasIpv6Address: '2001:db8::1',
      nasIdentifier: 'bras-1',
      nasPort: 4242,
      nasPortType: 15,
      framedIpv6Address: '2001:db8:100::25',
      framedIpv6Prefix: '2001:db8:200::/64',
      delegatedIpv6Prefix: '2001:db8:300::/56',
      delayTime: 5,
      inputPackets: 12,
      outputPackets: 34,
    })
    expect(a.inputOctets).toBe(4294967295n)
    expect(a.outputOctets).toBe(2n ** 32n + 7n)
    expect(a.classes).toEqual([Buffer.from('class-1')])
    expect(a.vendorSpecific).toHaveLength(1)
    expect(a.vendorSpecific[0]!.vendorId).toBe(9)
    // Cisco-AVPair is vendor type 1: type, length, then the text.
    expect(a.vendorSpecific[0]!.data.subarray(2).toString()).toBe('ip:addr-pool=v6')
  })

  it('should keep attributes outside the dictionary raw', () => {
    const bytes = buildAccountingRequest({
      identifier: 9,
      secret: CAPTURE_SECRET,
      attributes: [
        ['Acct-Status-Type', 1],
        ['Acct-Session-Id', 's'],
        [240, Buffer.from([1, 2, 3])],
      ],
    })
    expect(readAccountingRequest(parsePacket(bytes)).unknown).toEqual([{ type: 240, value: Buffer.from([1, 2, 3]) }])
  })

  it('should refuse a packet without Acct-Status-Type, or a Start without Acct-Session-Id', () => {
    const noStatus = buildAccountingRequest({
      identifier: 1,
      secret: CAPTURE_SECRET,
      attributes: [['Acct-Session-Id', 's']],
    })
    expect(() => readAccountingRequest(parsePacket(noStatus))).toThrow(RadiusDecodeError)
    const noSession = buildAccountingRequest({
      identifier: 1,
      secret: CAPTURE_SECRET,
      attributes: [['Acct-Status-Type', 1]],
    })
    expect(() => readAccountingRequest(parsePacket(noSession))).toThrow(/Acct-Session-Id/)
    const accountingOn = buildAccountingRequest({
      identifier: 1,
      secret: CAPTURE_SECRET,
      attributes: [['Acct-Status-Type', 7]],
    })
    expect(readAccountingRequest(parsePacket(accountingOn)).sessionId).toBe('')
  })

  it('should refuse an attribute whose value breaks its type', () => {
    const bytes = buildAccountingRequest({
      identifier: 1,
      secret: CAPTURE_SECRET,
      attributes: [
        ['Acct-Status-Type', 1],
        ['Acct-Session-Id', 's'],
        [4, Buffer.from([10, 0, 0])],
      ],
    })
    expect(() => readAccountingRequest(parsePacket(bytes))).toThrow(
      expect.objectContaining({ code: 'RADSTREAM_MALFORMED_ATTRIBUTE' }),
    )
  })
})
