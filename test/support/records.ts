import { recordFromPacket, type AccountingRecord } from '@radstream/events'
import { buildAccountingRequest, parsePacket, readAccountingRequest, type AttributeInput } from '@radstream/radius'

/** Seconds since the epoch, as Event-Timestamp carries it. */
export const at = (iso: string) => Date.parse(iso) / 1000

/**
 * An accounting record exactly as the collector would publish it for a packet with these
 * attributes: built as bytes, parsed and decoded by the real codec.
 */
export function accountingRecord(
  attributes: readonly AttributeInput[],
  arrival: { receivedAt?: Date; address?: string } = {},
): AccountingRecord {
  const bytes = buildAccountingRequest({ identifier: 1, secret: Buffer.from('s'), attributes })
  const packet = parsePacket(bytes)
  return recordFromPacket(packet, readAccountingRequest(packet), {
    receivedAt: arrival.receivedAt ?? new Date(),
    address: arrival.address ?? '127.0.0.1',
    port: 1,
  })
}
