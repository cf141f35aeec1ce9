import type { NewAuditEvent } from '@radstream/db'
import { AcctStatusType } from '@radstream/radius'
import { sessionEvents } from './audit-events'
import type { SessionDraft } from './session-draft'

const ADDRESS_COLUMNS = [
  ['framed_ip_address', 'Framed-IP-Address'],
  ['framed_ipv6_address', 'Framed-IPv6-Address'],
] as const

/** One packet of a session, in the order the batch holds them. */
export interface SessionPacket {
  readonly draft: SessionDraft
  readonly status: number
}

/**
 * The audit events of the framed addresses Interim-Updates report: one per session and distinct
 * address, keyed by the address, whatever the order, batching and replays of the packets. With the
 * started event (the Start's own address, none if it carried none), the stopped and superseded
 * ones, an auditor reads from the log alone who held an address: a session whose address came only
 * with its first Interim-Update (a VPN server that names it then) and one whose address changed.
 * Whether an Interim-Update's address is the Start's is not asked: the Start may come after it
 * (a retransmission, another partition during a keying upgrade), and the answer would then depend
 * on the order; one event more a session is the price of the same events in every order.
 */
export function addressEvents(packets: readonly SessionPacket[]): NewAuditEvent[] {
  const seen = new Set<string>()
  const events: NewAuditEvent[] = []
  for (const { draft, status } of packets) {
    if (status !== AcctStatusType.InterimUpdate) continue
    for (const [column, attribute] of ADDRESS_COLUMNS) {
      const address = draft[column]
      if (address === null) continue
      const once = `${draft.session_key}/${column}/${address}`
      if (seen.has(once)) continue
      seen.add(once)
      events.push(sessionEvents.addressHeld(draft, attribute, address))
    }
  }
  return events
}
