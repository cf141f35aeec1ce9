import type { NewAuditEvent } from '@radstream/db'
import { AcctStatusType } from '@radstream/radius'
import { sessionEvents } from './audit-events'
import type { SessionDraft } from './session-draft'
import type { PriorSession } from './session-store'

const ADDRESS_COLUMNS = [
  ['framed_ip_address', 'Framed-IP-Address'],
  ['framed_ipv6_address', 'Framed-IPv6-Address'],
] as const

type StartColumn = `start_${(typeof ADDRESS_COLUMNS)[number][0]}`

/** One packet of a session, in the order the batch holds them. */
export interface SessionPacket {
  readonly draft: SessionDraft
  readonly status: number
}

/**
 * The audit events of framed addresses that Interim-Updates report: one per session and distinct
 * address, keyed by the address, so that batch boundaries and replays write the same events. A
 * Start's own address is in the session's started event, and a Stop's ends the hold the stopped
 * event records; an Interim-Update that reports the address of the Start before it adds nothing
 * (the row keeps what its Start carried). So a session whose address came only with its first
 * Interim-Update (a VPN server that names it then), or whose address changed, says so in the log;
 * an Interim-Update that arrives before its Start (a retransmission) is reported too.
 */
export function addressEvents(
  packets: readonly SessionPacket[],
  before: ReadonlyMap<string, PriorSession>,
): NewAuditEvent[] {
  // Each session's Start as far as the packets so far show it: the stored row, then the batch's
  // packets in order. An Interim-Update is compared with the Start before it, never with one that
  // comes after it: so the events depend on the order of a session's packets (which Kafka keeps),
  // not on where batches begin.
  const startOf = new Map<string, Pick<SessionDraft, StartColumn>>()
  for (const [key, prior] of before)
    if (prior.start_framed_ip_address !== null || prior.start_framed_ipv6_address !== null) startOf.set(key, prior)
  const seen = new Set<string>()
  const events: NewAuditEvent[] = []
  for (const { draft, status } of packets) {
    if (status === AcctStatusType.Start && !startOf.has(draft.session_key)) startOf.set(draft.session_key, draft)
    if (status !== AcctStatusType.InterimUpdate) continue
    for (const [column, attribute] of ADDRESS_COLUMNS) {
      const address = draft[column]
      if (address === null || address === startOf.get(draft.session_key)?.[`start_${column}`]) continue
      const once = `${draft.session_key}/${column}/${address}`
      if (seen.has(once)) continue
      seen.add(once)
      events.push(sessionEvents.addressHeld(draft, attribute, address))
    }
  }
  return events
}
