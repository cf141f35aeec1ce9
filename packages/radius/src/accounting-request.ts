import { attributeByType, type AttributeValueType } from './dictionary'
import { RadiusDecodeError } from './errors'
import type { RadiusPacket } from './packet'
import { decodeValue, type AttributeValueOf, type VendorSpecific } from './values'

export const AcctStatusType = {
  Start: 1,
  Stop: 2,
  InterimUpdate: 3,
  AccountingOn: 7,
  AccountingOff: 8,
  Failed: 15,
} as const

export interface UnknownAttribute {
  readonly type: number
  readonly value: Buffer
}

/** What an Accounting-Request says, by RFC 2866 meaning; absent attributes are undefined (the key is there). */
export interface AccountingAttributes {
  readonly statusType: number
  /** Required by RFC 2866; Accounting-On/Off from some NAS omit it, and get ''. */
  readonly sessionId: string
  readonly userName?: string
  readonly nasIpAddress?: string
  readonly nasIpv6Address?: string
  readonly nasIdentifier?: string
  readonly nasPort?: number
  readonly nasPortId?: string
  readonly nasPortType?: number
  readonly serviceType?: number
  readonly framedProtocol?: number
  readonly framedIpAddress?: string
  readonly framedIpv6Address?: string
  readonly framedIpv6Prefix?: string
  readonly delegatedIpv6Prefix?: string
  readonly callingStationId?: string
  readonly calledStationId?: string
  readonly connectInfo?: string
  readonly terminateCause?: number
  readonly sessionTime?: number
  readonly delayTime?: number
  /** Event-Timestamp (55), seconds since the Unix epoch. */
  readonly eventTimestamp?: number
  /** Octets with their Gigawords (RFC 2869 5.1, 5.2) folded in: 64-bit, hence bigint. */
  readonly inputOctets?: bigint
  readonly outputOctets?: bigint
  readonly inputPackets?: number
  readonly outputPackets?: number
  readonly multiSessionId?: string
  readonly interimInterval?: number
  readonly classes: readonly Buffer[]
  readonly vendorSpecific: readonly VendorSpecific[]
  /** Attributes outside the dictionary, kept as sent. */
  readonly unknown: readonly UnknownAttribute[]
}

/** The first value of each single-valued attribute, decoded once, by attribute type. */
class AttributeBag {
  private readonly first = new Map<number, AttributeValueOf[AttributeValueType]>()
  readonly classes: Buffer[] = []
  readonly vendorSpecific: VendorSpecific[] = []
  readonly unknown: UnknownAttribute[] = []

  constructor(packet: RadiusPacket) {
    for (const attribute of packet.attributes) {
      const definition = attributeByType.get(attribute.type)
      if (!definition) {
        this.unknown.push({ type: attribute.type, value: Buffer.from(attribute.value) })
      } else if (definition.valueType === 'vsa') {
        this.vendorSpecific.push(decodeValue('vsa', attribute.value))
      } else if (attribute.type === 25) {
        this.classes.push(decodeValue('string', attribute.value))
      } else {
        // Every value is decoded, used or not, so a malformed attribute always refuses the packet.
        const value = decodeValue(definition.valueType, attribute.value)
        if (!this.first.has(attribute.type)) this.first.set(attribute.type, value)
      }
    }
  }

  /** The value, decoded by the attribute's dictionary type, which `valueType` names. */
  get<T extends AttributeValueType>(type: number, valueType: T): AttributeValueOf[T] | undefined {
    if (attributeByType.get(type)?.valueType !== valueType)
      throw new TypeError(`attribute ${type} is not of type ${valueType} in the dictionary`)
    return this.first.get(type) as AttributeValueOf[T] | undefined
  }
}

function withGigawords(octets: number | undefined, gigawords: number | undefined): bigint | undefined {
  if (octets === undefined && gigawords === undefined) return undefined
  return (BigInt(gigawords ?? 0) << 32n) + BigInt(octets ?? 0)
}

/** Reads the accounting meaning of a parsed (and already authenticated) Accounting-Request. */
export function readAccountingRequest(packet: RadiusPacket): AccountingAttributes {
  const bag = new AttributeBag(packet)
  const statusType = bag.get(40, 'integer')
  if (statusType === undefined) {
    throw new RadiusDecodeError('RADSTREAM_MISSING_ATTRIBUTE', 'Acct-Status-Type')
  }
  const sessionId = bag.get(44, 'text')
  const isNasWide = statusType === AcctStatusType.AccountingOn || statusType === AcctStatusType.AccountingOff
  if (sessionId === undefined && !isNasWide) {
    throw new RadiusDecodeError('RADSTREAM_MISSING_ATTRIBUTE', 'Acct-Session-Id')
  }
  // Every key, undefined when absent: one object shape for every packet, so the code that reads it
  // stays on V8's fast path (absent keys added one by one gave each packet mix its own shape).
  return {
    statusType,
    sessionId: sessionId ?? '',
    userName: bag.get(1, 'text'),
    nasIpAddress: bag.get(4, 'ipaddr'),
    nasIpv6Address: bag.get(95, 'ipv6addr'),
    nasIdentifier: bag.get(32, 'text'),
    nasPort: bag.get(5, 'integer'),
    nasPortId: bag.get(87, 'text'),
    nasPortType: bag.get(61, 'integer'),
    serviceType: bag.get(6, 'integer'),
    framedProtocol: bag.get(7, 'integer'),
    framedIpAddress: bag.get(8, 'ipaddr'),
    framedIpv6Address: bag.get(168, 'ipv6addr'),
    framedIpv6Prefix: bag.get(97, 'ipv6prefix'),
    delegatedIpv6Prefix: bag.get(123, 'ipv6prefix'),
    callingStationId: bag.get(31, 'text'),
    calledStationId: bag.get(30, 'text'),
    connectInfo: bag.get(77, 'text'),
    terminateCause: bag.get(49, 'integer'),
    sessionTime: bag.get(46, 'integer'),
    delayTime: bag.get(41, 'integer'),
    eventTimestamp: bag.get(55, 'date'),
    inputOctets: withGigawords(bag.get(42, 'integer'), bag.get(52, 'integer')),
    outputOctets: withGigawords(bag.get(43, 'integer'), bag.get(53, 'integer')),
    inputPackets: bag.get(47, 'integer'),
    outputPackets: bag.get(48, 'integer'),
    multiSessionId: bag.get(50, 'text'),
    interimInterval: bag.get(85, 'integer'),
    classes: bag.classes,
    vendorSpecific: bag.vendorSpecific,
    unknown: bag.unknown,
  }
}
