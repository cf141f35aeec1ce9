import {
  acctStatusTypes,
  enumName,
  nasPortTypes,
  terminateCauses,
  type AccountingAttributes,
  type RadiusPacket,
} from '@radstream/radius'
import { ACCOUNTING_SCHEMA, type AccountingRecord } from './accounting-record'

export interface Arrival {
  readonly receivedAt: Date
  readonly address: string
  readonly port: number
}

/** Event-Timestamp when the NAS sent one, else arrival minus Acct-Delay-Time (RFC 2866 5.2). */
function eventTimeOf(attributes: AccountingAttributes, receivedAt: Date): Date {
  if (attributes.eventTimestamp !== undefined) return new Date(attributes.eventTimestamp * 1000)
  return new Date(receivedAt.getTime() - (attributes.delayTime ?? 0) * 1000)
}

/** Maps an authenticated Accounting-Request to the Kafka record the collector publishes. */
export function recordFromPacket(
  packet: RadiusPacket,
  attributes: AccountingAttributes,
  arrival: Arrival,
): AccountingRecord {
  const {
    classes,
    vendorSpecific,
    unknown,
    statusType,
    nasPortType,
    terminateCause,
    inputOctets,
    outputOctets,
    eventTimestamp: _,
    ...plain
  } = attributes
  return {
    schema: ACCOUNTING_SCHEMA,
    receivedAt: arrival.receivedAt.toISOString(),
    eventTime: eventTimeOf(attributes, arrival.receivedAt).toISOString(),
    source: { address: arrival.address, port: arrival.port },
    nasAddress: attributes.nasIpAddress ?? attributes.nasIpv6Address ?? arrival.address,
    packet: { identifier: packet.identifier, raw: packet.raw.toString('base64') },
    accounting: {
      ...plain,
      statusType,
      statusTypeName: enumName(acctStatusTypes, statusType),
      ...(nasPortType !== undefined && { nasPortType: enumName(nasPortTypes, nasPortType) }),
      ...(terminateCause !== undefined && { terminateCause: enumName(terminateCauses, terminateCause) }),
      ...(inputOctets !== undefined && { inputOctets: inputOctets.toString() }),
      ...(outputOctets !== undefined && { outputOctets: outputOctets.toString() }),
      classes: classes.map((c) => c.toString('base64')),
      vendorSpecific: vendorSpecific.map((v) => ({ vendorId: v.vendorId, data: v.data.toString('base64') })),
      unknown: unknown.map((u) => ({ type: u.type, value: u.value.toString('base64') })),
    },
  }
}

/** Kafka key: all packets of one session go to one partition, in order. */
export function recordKey(record: Pick<AccountingRecord, 'nasAddress' | 'accounting'>): string {
  return `${record.nasAddress}|${record.accounting.sessionId}`
}
