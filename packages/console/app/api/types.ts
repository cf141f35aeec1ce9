/** A ConnectionRecord as the console asks for it (GraphQL: octets and session time as decimal text). */
export interface Session {
  readonly id: string
  readonly cursor: string
  readonly sessionId: string
  readonly userId: number | null
  readonly username: string | null
  readonly nasIpAddress: string
  readonly nasPortId: string | null
  readonly nasPortType: string | null
  readonly startTime: string
  readonly stopTime: string | null
  readonly updateTime: string | null
  readonly connectInfoStart: string | null
  readonly callingStationId: string | null
  readonly terminateCause: string | null
  readonly framedIpAddress: string | null
  readonly framedIpv6Address: string | null
  readonly framedIpv6Prefix: string | null
  readonly delegatedIpv6Prefix: string | null
  readonly inputOctets: string | null
  readonly outputOctets: string | null
  readonly sessionTime: string | null
}

/** Every field the console shows of a session, for queries and the subscription alike. */
export const SESSION_FIELDS = `id cursor sessionId userId username nasIpAddress nasPortId nasPortType startTime stopTime
  updateTime connectInfoStart callingStationId terminateCause framedIpAddress framedIpv6Address framedIpv6Prefix
  delegatedIpv6Prefix inputOctets outputOctets sessionTime`

export interface User {
  readonly id: number
  readonly username: string
  readonly reseller: string | null
}

/** An audit event of the REST audit log. */
export interface AuditEvent {
  readonly id: string
  readonly timestamp: string
  readonly initiatorType: string
  readonly initiatorId: string
  readonly operation: string
  readonly entityType: string
  readonly entityId: string
  readonly entityName: string
  readonly description: string
  readonly fields: readonly { name: string; oldValue: string | null; newValue: string | null }[]
  readonly requestId: string | null
}

export interface AuditPage {
  readonly auditLogs: readonly AuditEvent[]
  readonly nextCursor?: string
}
