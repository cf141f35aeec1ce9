import type { AuditFieldChange, NewAuditEvent } from '@radstream/db'
import type { SessionDraft } from './session-draft'
import type { ClosedSession } from './session-store'
import type { SupersededSession } from './supersession'

const iso = (date: Date | null) => (date === null ? null : date.toISOString())
const change = (name: string, newValue: string | null, oldValue: string | null = null): AuditFieldChange => ({
  name,
  oldValue,
  newValue,
})

/**
 * What every session event shares: its key names its cause (so a replay writes nothing new), the
 * session is its entity, and the initiator is the user where the user caused it, else radstream.
 */
function sessionEvent(
  cause: string,
  session: { session_key: string; session_id: string; username: string | null },
  byUser: string | null,
  operation: NewAuditEvent['operation'],
  what: string,
  fields: AuditFieldChange[],
): NewAuditEvent {
  return {
    eventKey: `session.${cause}:${session.session_key}`,
    initiatorType: byUser === null ? 'SYSTEM' : 'USER',
    initiatorId: byUser ?? '',
    operation,
    entityType: 'SESSION',
    entityId: session.session_key,
    entityName: session.session_id,
    // A session belongs to its user (Connexa's entityParent): USER events name users by their User-Name.
    entityParent: session.username ? { type: 'USER', id: session.username, name: session.username } : null,
    description: `Session ${session.session_id} of ${session.username ?? '(no User-Name)'} ${what}`,
    fields,
  }
}

/** The session events the sessionizer writes. */
export const sessionEvents = {
  started(draft: SessionDraft): NewAuditEvent {
    return sessionEvent('started', draft, draft.username || null, 'CREATE', `started on NAS ${draft.nas_ip_address}`, [
      change('startTime', iso(draft.start_time)),
      change('nasIpAddress', draft.nas_ip_address),
      change('framedIpAddress', draft.framed_ip_address ?? draft.framed_ipv6_address),
    ])
  },

  stopped(draft: SessionDraft): NewAuditEvent {
    // The user initiated the stop only when the NAS says so; otherwise radstream reports it.
    const byUser = draft.terminate_cause === 'User-Request' ? draft.username : null
    return sessionEvent('stopped', draft, byUser, 'UPDATE', `stopped: ${draft.terminate_cause ?? 'no cause given'}`, [
      change('stopTime', iso(draft.stop_time)),
      change('terminateCause', draft.terminate_cause),
    ])
  },

  closedByNas(session: ClosedSession): NewAuditEvent {
    return sessionEvent(
      'closed-by-nas',
      session,
      null,
      'UPDATE',
      `closed by ${session.closed_by} of NAS ${session.nas_ip_address}`,
      [change('closedBy', session.closed_by)],
    )
  },

  /** A session closed as stale at `staleStop` was heard from after it: open again. */
  reopened(session: { session_key: string; session_id: string; username: string | null }, staleStop: Date) {
    return sessionEvent(
      `reopened@${staleStop.getTime()}`,
      session,
      null,
      'UPDATE',
      `reopened: closed as stale at ${staleStop.toISOString()}, then heard from again`,
      [change('stopTime', null, iso(staleStop)), change('closedBy', null, 'stale')],
    )
  },

  superseded(session: SupersededSession): NewAuditEvent {
    return sessionEvent(
      'superseded',
      session,
      null,
      'UPDATE',
      // Its stop is when it was last heard of, which a later packet of it may still move (up to
      // the successor's start): the event says what no later packet changes.
      `closed when it was last heard of, at the latest at ${session.stop_time_latest.toISOString()}: session ${session.by_session_id} on NAS ${session.nas_ip_address} started holding its address ${session.address} then`,
      [
        change('stopTimeLatest', iso(session.stop_time_latest)),
        change('closedBy', 'superseded'),
        change('terminateCause', 'Lost-Service'),
      ],
    )
  },

  /**
   * Interim-Updates report a framed address of the session (address-events.ts): recorded as the
   * first of them arrives.
   */
  addressHeld(
    session: { session_key: string; session_id: string; username: string | null },
    attribute: 'Framed-IP-Address' | 'Framed-IPv6-Address',
    address: string,
  ): NewAuditEvent {
    const field = attribute === 'Framed-IP-Address' ? 'framedIpAddress' : 'framedIpv6Address'
    return sessionEvent(
      `address:${field}=${address}`,
      session,
      null,
      'UPDATE',
      `holds ${attribute} ${address}, as its Interim-Updates report`,
      [change(field, address)],
    )
  },

  stale(session: {
    session_key: string
    session_id: string
    username: string | null
    update_time: Date
    stop_time: Date
  }): NewAuditEvent {
    // A session may be closed as stale, reopen and be closed again: one event each time.
    return sessionEvent(
      `stale@${session.update_time.getTime()}`,
      session,
      null,
      'UPDATE',
      `closed as stale: no accounting since ${session.stop_time.toISOString()}`,
      [change('stopTime', iso(session.stop_time)), change('terminateCause', 'Lost-Carrier')],
    )
  },
}

export function userFirstSeen(username: string): NewAuditEvent {
  return {
    eventKey: `user.created:${username}`,
    initiatorType: 'SYSTEM',
    initiatorId: '',
    operation: 'CREATE',
    entityType: 'USER',
    entityId: username,
    entityName: username,
    description: `User ${username} first seen in accounting`,
    fields: [change('username', username)],
  }
}

export function nasAccountingEvent(nasAddress: string, status: string, eventTime: Date, closed: number): NewAuditEvent {
  return {
    eventKey: `nas.${status}:${nasAddress}:${eventTime.toISOString()}`,
    initiatorType: 'SYSTEM',
    initiatorId: '',
    operation: 'UPDATE',
    entityType: 'NAS',
    entityId: nasAddress,
    entityName: nasAddress,
    description: `NAS ${nasAddress} sent ${status}: ${closed} open session(s) closed`,
    fields: [change('closedSessions', String(closed)), change('eventTime', eventTime.toISOString())],
  }
}

export function deadLettered(
  where: { topic: string; partition: number; offset: string },
  reason: string,
): NewAuditEvent {
  const id = `${where.topic}/${where.partition}/${where.offset}`
  return {
    eventKey: `record.dead-letter:${id}`,
    initiatorType: 'SYSTEM',
    initiatorId: '',
    operation: 'REJECT',
    entityType: 'RECORD',
    entityId: id,
    entityName: id,
    description: `Record ${id} sent to the dead-letter topic: ${reason}`,
    fields: [change('reason', reason)],
  }
}
