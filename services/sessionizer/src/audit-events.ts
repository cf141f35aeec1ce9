import type { AuditFieldChange, NewAuditEvent } from '@radstream/db'
import type { SessionDraft } from './session-draft'
import type { ClosedSession } from './session-store'

const iso = (date: Date | null) => (date === null ? null : date.toISOString())
const change = (name: string, newValue: string | null, oldValue: string | null = null): AuditFieldChange => ({
  name,
  oldValue,
  newValue,
})

/** The session events the sessionizer writes; each key names its cause, so replays write nothing new. */
export const sessionEvents = {
  started(draft: SessionDraft): NewAuditEvent {
    return {
      eventKey: `session.started:${draft.session_key}`,
      initiatorType: draft.username ? 'USER' : 'SYSTEM',
      initiatorId: draft.username ?? '',
      operation: 'CREATE',
      entityType: 'SESSION',
      entityId: draft.session_key,
      entityName: draft.session_id,
      description: `Session ${draft.session_id} of ${draft.username ?? '(no User-Name)'} started on NAS ${draft.nas_ip_address}`,
      fields: [
        change('startTime', iso(draft.start_time)),
        change('nasIpAddress', draft.nas_ip_address),
        change('framedIpAddress', draft.framed_ip_address ?? draft.framed_ipv6_address),
      ],
    }
  },

  stopped(draft: SessionDraft): NewAuditEvent {
    // The user initiated the stop only when the NAS says so; otherwise radstream reports it.
    const byUser = draft.terminate_cause === 'User-Request' && draft.username !== null
    return {
      eventKey: `session.stopped:${draft.session_key}`,
      initiatorType: byUser ? 'USER' : 'SYSTEM',
      initiatorId: byUser ? draft.username! : '',
      operation: 'UPDATE',
      entityType: 'SESSION',
      entityId: draft.session_key,
      entityName: draft.session_id,
      description: `Session ${draft.session_id} of ${draft.username ?? '(no User-Name)'} stopped: ${draft.terminate_cause ?? 'no cause given'}`,
      fields: [change('stopTime', iso(draft.stop_time)), change('terminateCause', draft.terminate_cause)],
    }
  },

  closedByNas(session: ClosedSession): NewAuditEvent {
    return {
      eventKey: `session.closed-by-nas:${session.session_key}`,
      initiatorType: 'SYSTEM',
      initiatorId: '',
      operation: 'UPDATE',
      entityType: 'SESSION',
      entityId: session.session_key,
      entityName: session.session_id,
      description: `Session ${session.session_id} of ${session.username ?? '(no User-Name)'} closed by ${session.closed_by} of NAS ${session.nas_ip_address}`,
      fields: [change('closedBy', session.closed_by)],
    }
  },

  stale(session: {
    session_key: string
    session_id: string
    username: string | null
    update_time: Date
  }): NewAuditEvent {
    return {
      eventKey: `session.stale:${session.session_key}`,
      initiatorType: 'SYSTEM',
      initiatorId: '',
      operation: 'UPDATE',
      entityType: 'SESSION',
      entityId: session.session_key,
      entityName: session.session_id,
      description: `Session ${session.session_id} of ${session.username ?? '(no User-Name)'} closed as stale: no accounting since ${session.update_time.toISOString()}`,
      fields: [change('stopTime', iso(session.update_time)), change('terminateCause', 'Lost-Carrier')],
    }
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
