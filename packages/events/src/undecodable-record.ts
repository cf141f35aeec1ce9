import type { RadiusPacket } from '@radstream/radius'
import type { Arrival } from './record-from-packet'

export const UNDECODABLE_SCHEMA = 'radstream.undecodable.v1'

/**
 * An authenticated Accounting-Request the codec could not turn into an accounting record (no
 * Acct-Session-Id, an attribute with a malformed value). The NAS signed it, so it is kept and
 * answered rather than lost to endless retransmission: published with its raw bytes and the
 * reason, and dead-lettered by the sessionizer with an audit event, for a human to look at.
 */
export interface UndecodableRecord {
  readonly schema: typeof UNDECODABLE_SCHEMA
  readonly receivedAt: string
  readonly source: { readonly address: string; readonly port: number }
  readonly reason: string
  readonly packet: { readonly identifier: number; readonly raw: string }
}

export function undecodableRecord(packet: RadiusPacket, arrival: Arrival, reason: string): UndecodableRecord {
  return {
    schema: UNDECODABLE_SCHEMA,
    receivedAt: arrival.receivedAt.toISOString(),
    source: { address: arrival.address, port: arrival.port },
    reason,
    packet: { identifier: packet.identifier, raw: packet.raw.toString('base64') },
  }
}

/** Kafka key: the NAS, so that its undecodable packets stay in order among themselves. */
export function undecodableKey(record: UndecodableRecord): string {
  return record.source.address
}
