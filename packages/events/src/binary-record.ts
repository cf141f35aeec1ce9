import { isIP } from 'node:net'
import { parsePacket, readAccountingRequest, RadiusDecodeError } from '@radstream/radius'
import type { AccountingRecord } from './accounting-record'
import { recordFromPacket, type Arrival } from './record-from-packet'
import { RecordSchemaError } from './record-schema-error'

/** The first octet of a v2 value: no JSON text starts with it, so a reader tells v2 from v1 ('{') by it. */
const MAGIC = 0x00
const VERSION = 2
const HEADER = 13

/**
 * Schema radstream.accounting.v2, the collector's Kafka record value: the Accounting-Request
 * exactly as the NAS sent it, behind a header saying where and when it arrived. Every other field
 * of the record is decoded from the packet by the reader, with the codec that wrote v1, so the two
 * give the same record. docs/kafka.md documents the layout for other consumers of the topic:
 *
 *   offset  size  field
 *   0       1     0x00
 *   1       1     0x02, the version
 *   2       8     receivedAt: milliseconds since the epoch, IEEE 754 double, big-endian
 *   10      2     source UDP port, big-endian
 *   12      1     n: length of the source address text
 *   13      n     the source address as text (ASCII: 192.0.2.1, 2001:db8::1)
 *   13+n    rest  the RADIUS packet
 */
export function encodeBinaryRecord(raw: Buffer, arrival: Pick<Arrival, 'receivedAt' | 'address' | 'port'>): Buffer {
  const addressLength = Buffer.byteLength(arrival.address, 'latin1')
  const value = Buffer.allocUnsafe(HEADER + addressLength + raw.length)
  value[0] = MAGIC
  value[1] = VERSION
  value.writeDoubleBE(arrival.receivedAt.getTime(), 2)
  value.writeUInt16BE(arrival.port, 10)
  value[12] = addressLength
  value.write(arrival.address, HEADER, 'latin1')
  raw.copy(value, HEADER + addressLength)
  return value
}

export function isBinaryRecord(value: Buffer): boolean {
  return value.length > 1 && value[0] === MAGIC
}

/** The v2 value's record: the header read, the packet parsed and decoded as the collector would have. */
export function decodeBinaryRecord(value: Buffer): AccountingRecord {
  if (value[1] !== VERSION)
    throw new RecordSchemaError(`binary record version ${value[1]}, this reader knows ${VERSION}`)
  if (value.length < HEADER) throw new RecordSchemaError('binary record shorter than its header')
  const addressLength = value[12]!
  const address = value.toString('latin1', HEADER, HEADER + addressLength)
  if (isIP(address) === 0)
    throw new RecordSchemaError(`binary record's source address is not an address: ${JSON.stringify(address)}`)
  const receivedAt = new Date(value.readDoubleBE(2))
  if (Number.isNaN(receivedAt.getTime())) throw new RecordSchemaError("binary record's receivedAt is not a time")
  try {
    const packet = parsePacket(value.subarray(HEADER + addressLength))
    return recordFromPacket(packet, readAccountingRequest(packet), {
      receivedAt,
      address,
      port: value.readUInt16BE(10),
    })
  } catch (error) {
    if (error instanceof RadiusDecodeError) throw new RecordSchemaError(`binary record's packet: ${error.message}`)
    throw error
  }
}
