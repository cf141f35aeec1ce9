import { isIPv4, isIPv6 } from 'node:net'
import type { AttributeValueType } from './dictionary'
import { RadiusDecodeError } from './errors'

export interface VendorSpecific {
  readonly vendorId: number
  readonly data: Buffer
}

/** The decoded form of each attribute value type. */
export interface AttributeValueOf {
  text: string
  string: Buffer
  integer: number
  ipaddr: string
  ipv6addr: string
  ipv6prefix: string
  ifid: Buffer
  date: number
  vsa: VendorSpecific
}

export type AttributeValue = AttributeValueOf[AttributeValueType]

function malformed(valueType: AttributeValueType, value: Buffer): RadiusDecodeError {
  return new RadiusDecodeError('RADSTREAM_MALFORMED_ATTRIBUTE', `${valueType} of ${value.length} octets`)
}

function formatIPv6(bytes: Buffer): string {
  const groups: string[] = []
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i).toString(16))
  // Compress the longest run of zero groups (RFC 5952) so stored text compares equal to inet output.
  let bestStart = -1
  let bestLength = 0
  for (let i = 0; i < 8;) {
    if (groups[i] !== '0') {
      i++
      continue
    }
    let j = i
    while (j < 8 && groups[j] === '0') j++
    if (j - i > bestLength && j - i > 1) {
      bestStart = i
      bestLength = j - i
    }
    i = j
  }
  if (bestStart < 0) return groups.join(':')
  // IPv4-compatible (::a.b.c.d) and IPv4-mapped (::ffff:a.b.c.d) addresses end in dotted quad, as
  // PostgreSQL (BIND's inet_ntop6) prints them: one text for one address, in Kafka and in the database.
  if (bestStart === 0 && (bestLength === 6 || (bestLength === 5 && groups[5] === 'ffff'))) {
    return `::${bestLength === 5 ? 'ffff:' : ''}${bytes[12]}.${bytes[13]}.${bytes[14]}.${bytes[15]}`
  }
  const head = groups.slice(0, bestStart).join(':')
  const tail = groups.slice(bestStart + bestLength).join(':')
  return `${head}::${tail}`
}

function parseIPv6(text: string): Buffer {
  if (!isIPv6(text)) throw new TypeError(`not an IPv6 address: ${text}`)
  const [headText, tailText] = text.includes('::') ? text.split('::') : [text, undefined]
  // A trailing dotted quad (::ffff:10.0.0.1) stands for the last two groups.
  const toGroups = (part: string | undefined): number[] =>
    part
      ? part.split(':').flatMap((g) => {
          if (!g.includes('.')) return [Number.parseInt(g, 16)]
          const [a, b, c, d] = g.split('.').map(Number) as [number, number, number, number]
          return [(a << 8) | b, (c << 8) | d]
        })
      : []
  const head = toGroups(headText)
  const tail = toGroups(tailText)
  const groups =
    tailText === undefined ? head : [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail]
  const out = Buffer.alloc(16)
  groups.forEach((g, i) => out.writeUInt16BE(g, i * 2))
  return out
}

/** Decodes one attribute value by its dictionary type; throws RadiusDecodeError when it is malformed. */
export function decodeValue<T extends AttributeValueType>(valueType: T, value: Buffer): AttributeValueOf[T]
export function decodeValue(valueType: AttributeValueType, value: Buffer): AttributeValue {
  switch (valueType) {
    case 'text':
      if (value.length === 0) throw malformed(valueType, value)
      return value.toString('utf8')
    case 'string':
      if (value.length === 0) throw malformed(valueType, value)
      return Buffer.from(value)
    case 'integer':
    case 'date':
      if (value.length !== 4) throw malformed(valueType, value)
      return value.readUInt32BE(0)
    case 'ipaddr':
      if (value.length !== 4) throw malformed(valueType, value)
      return `${value[0]}.${value[1]}.${value[2]}.${value[3]}`
    case 'ipv6addr':
      if (value.length !== 16) throw malformed(valueType, value)
      return formatIPv6(value)
    case 'ifid':
      if (value.length !== 8) throw malformed(valueType, value)
      return Buffer.from(value)
    case 'ipv6prefix': {
      // RFC 3162 section 2.3: Reserved (1), Prefix-Length (1, 0..128), Prefix (0..16 octets).
      const prefixLength = value[1]
      if (value.length < 2 || value.length > 18 || prefixLength === undefined || prefixLength > 128) {
        throw malformed(valueType, value)
      }
      if (value.length - 2 < Math.ceil(prefixLength / 8)) throw malformed(valueType, value)
      const address = Buffer.alloc(16)
      value.copy(address, 0, 2)
      return `${formatIPv6(address)}/${prefixLength}`
    }
    case 'vsa':
      // RFC 2865 section 5.26: Vendor-Id (4 octets, high octet 0), then the vendor's own data.
      if (value.length < 5) throw malformed(valueType, value)
      return { vendorId: value.readUInt32BE(0), data: Buffer.from(value.subarray(4)) }
  }
}

/** Encodes one attribute value; the inverse of decodeValue, used by clients and tests. */
export function encodeValue<T extends AttributeValueType>(valueType: T, value: AttributeValueOf[T]): Buffer
export function encodeValue(valueType: AttributeValueType, value: AttributeValue): Buffer {
  switch (valueType) {
    case 'text':
      return Buffer.from(value as string, 'utf8')
    case 'string':
    case 'ifid':
      return Buffer.from(value as Buffer)
    case 'integer':
    case 'date': {
      const out = Buffer.alloc(4)
      out.writeUInt32BE(value as number)
      return out
    }
    case 'ipaddr': {
      if (!isIPv4(value as string)) throw new TypeError(`not an IPv4 address: ${String(value)}`)
      return Buffer.from((value as string).split('.').map(Number))
    }
    case 'ipv6addr':
      return parseIPv6(value as string)
    case 'ipv6prefix': {
      const [address = '', lengthText = ''] = (value as string).split('/')
      const prefixLength = Number(lengthText)
      if (!Number.isInteger(prefixLength) || prefixLength < 0 || prefixLength > 128) {
        throw new TypeError(`not an IPv6 prefix: ${String(value)}`)
      }
      const prefixOctets = Math.ceil(prefixLength / 8)
      return Buffer.concat([Buffer.from([0, prefixLength]), parseIPv6(address).subarray(0, prefixOctets)])
    }
    case 'vsa': {
      const { vendorId, data } = value as VendorSpecific
      const out = Buffer.alloc(4 + data.length)
      out.writeUInt32BE(vendorId)
      data.copy(out, 4)
      return out
    }
  }
}
