import Type, { type Static } from 'typebox'

export const ACCOUNTING_TOPIC = 'radius.accounting.v1'
export const ACCOUNTING_SCHEMA = 'radstream.accounting.v1'

const Optional = <T extends Parameters<typeof Type.Optional>[0]>(schema: T) => Type.Optional(schema)
const DecimalString = Type.String({ pattern: '^[0-9]{1,20}$' })
const Base64 = Type.String({ pattern: '^[A-Za-z0-9+/]*={0,2}$' })

/**
 * The Kafka record value that the collector publishes for every accepted Accounting-Request:
 * the decoded fields, the raw packet (so nothing is lost to a decoder bug) and where and when it
 * arrived. Versioned by `schema`; a breaking change is a new schema and topic.
 */
export const AccountingRecordSchema = Type.Object({
  schema: Type.Literal(ACCOUNTING_SCHEMA),
  /** ISO-8601 instant with milliseconds at which the collector read the datagram. */
  receivedAt: Type.String({ format: 'date-time' }),
  /** Event-Timestamp if sent, else receivedAt minus Acct-Delay-Time (RFC 2866 section 5.2). */
  eventTime: Type.String({ format: 'date-time' }),
  source: Type.Object({ address: Type.String(), port: Type.Integer({ minimum: 0, maximum: 65535 }) }),
  /** The address that identifies the NAS: NAS-IP-Address, else NAS-IPv6-Address, else source. */
  nasAddress: Type.String({ minLength: 1 }),
  packet: Type.Object({
    identifier: Type.Integer({ minimum: 0, maximum: 255 }),
    raw: Base64,
  }),
  accounting: Type.Object({
    statusType: Type.Integer({ minimum: 0 }),
    statusTypeName: Type.String(),
    sessionId: Type.String(),
    userName: Optional(Type.String()),
    nasIpAddress: Optional(Type.String()),
    nasIpv6Address: Optional(Type.String()),
    nasIdentifier: Optional(Type.String()),
    nasPort: Optional(Type.Integer({ minimum: 0 })),
    nasPortId: Optional(Type.String()),
    nasPortType: Optional(Type.String()),
    serviceType: Optional(Type.Integer({ minimum: 0 })),
    framedProtocol: Optional(Type.Integer({ minimum: 0 })),
    framedIpAddress: Optional(Type.String()),
    framedIpv6Address: Optional(Type.String()),
    framedIpv6Prefix: Optional(Type.String()),
    delegatedIpv6Prefix: Optional(Type.String()),
    callingStationId: Optional(Type.String()),
    calledStationId: Optional(Type.String()),
    connectInfo: Optional(Type.String()),
    terminateCause: Optional(Type.String()),
    sessionTime: Optional(Type.Integer({ minimum: 0 })),
    delayTime: Optional(Type.Integer({ minimum: 0 })),
    inputOctets: Optional(DecimalString),
    outputOctets: Optional(DecimalString),
    inputPackets: Optional(Type.Integer({ minimum: 0 })),
    outputPackets: Optional(Type.Integer({ minimum: 0 })),
    multiSessionId: Optional(Type.String()),
    interimInterval: Optional(Type.Integer({ minimum: 0 })),
    classes: Type.Array(Base64),
    vendorSpecific: Type.Array(Type.Object({ vendorId: Type.Integer({ minimum: 0 }), data: Base64 })),
    unknown: Type.Array(Type.Object({ type: Type.Integer({ minimum: 0, maximum: 255 }), value: Base64 })),
  }),
})

export type AccountingRecord = Static<typeof AccountingRecordSchema>
