import { RadiusDecodeError } from './errors'

export const PacketCode = {
  AccessRequest: 1,
  AccessAccept: 2,
  AccessReject: 3,
  AccountingRequest: 4,
  AccountingResponse: 5,
  StatusServer: 12,
  // RFC 5176 Dynamic Authorization: radstream sends the requests, a NAS answers.
  DisconnectRequest: 40,
  DisconnectAck: 41,
  DisconnectNak: 42,
  CoaRequest: 43,
  CoaAck: 44,
  CoaNak: 45,
} as const

export const HEADER_LENGTH = 20
export const MAX_PACKET_LENGTH = 4096
export const AUTHENTICATOR_OFFSET = 4
export const AUTHENTICATOR_LENGTH = 16

export interface RawAttribute {
  readonly type: number
  /** Offset of the attribute's type octet in the packet, so authenticators can be recomputed. */
  readonly offset: number
  readonly value: Buffer
}

export interface RadiusPacket {
  readonly code: number
  readonly identifier: number
  readonly authenticator: Buffer
  readonly attributes: readonly RawAttribute[]
  /** The packet's bytes up to its Length field; padding past it is dropped (RFC 2865 section 3). */
  readonly raw: Buffer
}

/*
 * RFC 2865 section 3:
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |     Code      |  Identifier   |            Length             |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                         Authenticator (16)                    |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  Attributes: Type (1) | Length (1, includes these 2) | Value ...
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */

/** Splits a datagram into header and raw attributes. Throws RadiusDecodeError on any bad length. */
export function parsePacket(datagram: Buffer): RadiusPacket {
  if (datagram.length < HEADER_LENGTH) {
    throw new RadiusDecodeError('RADSTREAM_PACKET_TOO_SHORT', `${datagram.length} octets`)
  }
  const length = datagram.readUInt16BE(2)
  if (length < HEADER_LENGTH || length > MAX_PACKET_LENGTH) {
    throw new RadiusDecodeError('RADSTREAM_BAD_LENGTH', `Length field ${length}`)
  }
  if (datagram.length < length) {
    throw new RadiusDecodeError(
      'RADSTREAM_PACKET_TOO_SHORT',
      `Length field ${length}, datagram ${datagram.length} octets`,
    )
  }
  const raw = datagram.subarray(0, length)
  const attributes: RawAttribute[] = []
  let offset = HEADER_LENGTH
  while (offset < length) {
    if (offset + 2 > length) {
      throw new RadiusDecodeError('RADSTREAM_MALFORMED_ATTRIBUTE', `truncated header at ${offset}`)
    }
    const type = raw[offset]!
    const attributeLength = raw[offset + 1]!
    if (attributeLength < 2 || offset + attributeLength > length) {
      throw new RadiusDecodeError(
        'RADSTREAM_MALFORMED_ATTRIBUTE',
        `type ${type} length ${attributeLength} at ${offset}`,
      )
    }
    attributes.push({ type, offset, value: raw.subarray(offset + 2, offset + attributeLength) })
    offset += attributeLength
  }
  return {
    code: raw[0]!,
    identifier: raw[1]!,
    authenticator: raw.subarray(AUTHENTICATOR_OFFSET, AUTHENTICATOR_OFFSET + AUTHENTICATOR_LENGTH),
    attributes,
    raw,
  }
}

export interface PacketToEncode {
  readonly code: number
  readonly identifier: number
  readonly authenticator: Buffer
  readonly attributes: readonly { readonly type: number; readonly value: Buffer }[]
}

/** Lays out header and attributes; the caller computes and writes the authenticator it needs. */
export function encodePacket(packet: PacketToEncode): Buffer {
  let length = HEADER_LENGTH
  for (const attribute of packet.attributes) {
    if (attribute.value.length > 253) {
      throw new RangeError(`attribute ${attribute.type} value longer than 253 octets`)
    }
    length += 2 + attribute.value.length
  }
  if (length > MAX_PACKET_LENGTH) throw new RangeError(`packet of ${length} octets exceeds 4096`)
  const out = Buffer.alloc(length)
  out[0] = packet.code
  out[1] = packet.identifier
  out.writeUInt16BE(length, 2)
  packet.authenticator.copy(out, AUTHENTICATOR_OFFSET, 0, AUTHENTICATOR_LENGTH)
  let offset = HEADER_LENGTH
  for (const attribute of packet.attributes) {
    out[offset] = attribute.type
    out[offset + 1] = attribute.value.length + 2
    attribute.value.copy(out, offset + 2)
    offset += attribute.value.length + 2
  }
  return out
}
