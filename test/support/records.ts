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

/**
 * A packet of a session that started at `startMs` (milliseconds since the epoch), sent at `atMs`:
 * a Start (status 1) carries no counters; the others its Acct-Session-Time and octets that grow
 * with it, `octetsPerMs` of input and of output (no output attribute when 0).
 */
export function sessionPacketAt(
  common: readonly AttributeInput[],
  startMs: number,
  status: number,
  atMs: number,
  octetsPerMs: { input: number; output: number },
  extra: readonly AttributeInput[] = [],
): AccountingRecord {
  const elapsed = atMs - startMs
  const counters: AttributeInput[] =
    status === 1
      ? []
      : [
          ['Acct-Session-Time', Math.floor(elapsed / 1000)],
          ['Acct-Input-Octets', octetsPerMs.input * elapsed],
          ...(octetsPerMs.output === 0
            ? []
            : ([['Acct-Output-Octets', octetsPerMs.output * elapsed]] as AttributeInput[])),
        ]
  return accountingRecord([
    ...common,
    ['Acct-Status-Type', status],
    ['Event-Timestamp', Math.floor(atMs / 1000)],
    ...counters,
    ...extra,
  ])
}
