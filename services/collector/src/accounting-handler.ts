import {
  AUTHENTICATOR_LENGTH,
  encodePacket,
  MESSAGE_AUTHENTICATOR_TYPE,
  PacketCode,
  parsePacket,
  RadiusDecodeError,
  readAccountingRequest,
  signResponse,
  signResponseWithMessageAuthenticator,
  verifyAccountingRequestAuthenticator,
  verifyMessageAuthenticator,
  type RadiusPacket,
} from '@radstream/radius'
import {
  encodeBinaryRecord,
  encodeRecord,
  eventTimeOf,
  nasAddressOf,
  recordFromPacket,
  recordKey,
  undecodableKey,
  undecodableRecord,
  type Arrival,
  type IgnoredTimeAttribute,
} from '@radstream/events'
import type { Logger, RecordFormat } from '@radstream/config'
import type { DropCounter } from './drop-counter'
import type { KafkaWritability } from './kafka-writability'
import type { CollectorMetrics } from './metrics'
import type { NasClient, NasRegistry } from './nas-registry'
import type { RecordSink } from './record-sink'

export interface Datagram {
  readonly bytes: Buffer
  readonly address: string
  readonly port: number
  readonly receivedAt: Date
}

export interface AccountingHandlerDeps {
  readonly registry: NasRegistry
  readonly sink: RecordSink
  readonly drops: DropCounter
  readonly kafka: KafkaWritability
  readonly metrics: CollectorMetrics
  readonly logger: Logger
  readonly recordFormat: RecordFormat
}

/**
 * The Kafka record of a decodable Accounting-Request. Binary (v2) carries the packet as it came:
 * the collector decodes only what the key and its own checks need, and the sessionizer the rest.
 */
function accountingRecord(packet: RadiusPacket, arrival: Arrival, format: RecordFormat) {
  const attributes = readAccountingRequest(packet)
  if (format === 'json') {
    const record = recordFromPacket(packet, attributes, arrival)
    return { key: recordKey(record), value: encodeRecord(record) }
  }
  // Read for its side effect: an ignored time attribute is counted here, where it arrived.
  eventTimeOf(attributes, arrival)
  return {
    key: nasAddressOf(attributes, arrival.address),
    value: encodeBinaryRecord(packet.raw, arrival),
  }
}

function emptyResponse(request: RadiusPacket, attributes: { type: number; value: Buffer }[] = []): Buffer {
  return encodePacket({
    code: PacketCode.AccountingResponse,
    identifier: request.identifier,
    authenticator: Buffer.alloc(AUTHENTICATOR_LENGTH),
    attributes,
  })
}

/**
 * Status-Server on the accounting port (RFC 5997): it must carry a valid Message-Authenticator, and
 * is answered with an Accounting-Response (carrying one too) only while Kafka can record.
 */
function answerStatusServer(
  packet: RadiusPacket,
  nas: NasClient,
  source: string,
  deps: AccountingHandlerDeps,
): Buffer | undefined {
  if (!packet.attributes.some((a) => a.type === MESSAGE_AUTHENTICATOR_TYPE)) {
    return deps.drops.drop('bad_message_authenticator', source, 'Status-Server without Message-Authenticator')
  }
  if (!verifyMessageAuthenticator(packet, nas.secret)) return deps.drops.drop('bad_message_authenticator', source)
  if (!deps.kafka.writable) return deps.drops.drop('kafka_unwritable', source, 'Status-Server')
  const response = emptyResponse(packet, [
    { type: MESSAGE_AUTHENTICATOR_TYPE, value: Buffer.alloc(AUTHENTICATOR_LENGTH) },
  ])
  deps.metrics.responses.inc({ request: 'Status-Server' })
  return signResponseWithMessageAuthenticator(response, packet, nas.secret)
}

async function recordAccountingRequest(
  packet: RadiusPacket,
  nas: NasClient,
  datagram: Datagram,
  source: string,
  deps: AccountingHandlerDeps,
): Promise<Buffer | undefined> {
  const { drops } = deps
  if (!verifyAccountingRequestAuthenticator(packet, nas.secret)) return drops.drop('bad_authenticator', source)
  if (!verifyMessageAuthenticator(packet, nas.secret)) return drops.drop('bad_message_authenticator', source)

  const arrival: Arrival = {
    receivedAt: datagram.receivedAt,
    address: datagram.address,
    port: datagram.port,
    onIgnored: (attribute: IgnoredTimeAttribute) => deps.metrics.timesIgnored.inc({ attribute }),
  }
  let outgoing
  try {
    outgoing = accountingRecord(packet, arrival, deps.recordFormat)
  } catch (error) {
    if (!(error instanceof RadiusDecodeError)) throw error
    // Signed by the NAS, so not noise: FreeRADIUS would record it, and unanswered the NAS would
    // retransmit it for ever. Kept raw with the reason; the sessionizer dead-letters it.
    const reason = error.message
    const record = undecodableRecord(packet, arrival, reason)
    outgoing = { key: undecodableKey(record), value: encodeRecord(record) }
    deps.metrics.undecodable.inc()
    deps.logger.debug(
      { source, reason },
      'authenticated Accounting-Request kept undecoded: it goes to the dead-letter topic',
    )
  }

  try {
    await deps.sink.publish(outgoing)
  } catch (error) {
    // RFC 2866 section 2: what is not recorded is not answered; the NAS will retransmit.
    deps.logger.error({ err: error, source }, 'publish to Kafka failed; not answering')
    return drops.drop('publish_failed', source)
  }
  deps.metrics.published.inc()
  deps.metrics.publishSeconds.observe((Date.now() - datagram.receivedAt.getTime()) / 1000)
  deps.metrics.responses.inc({ request: 'Accounting-Request' })
  return signResponse(emptyResponse(packet), packet.authenticator, nas.secret)
}

/**
 * One datagram through the collector: NAS lookup, parse, authenticate, decode, publish, answer.
 * Resolves with the response to send, or undefined when the datagram is dropped unanswered.
 * Never rejects: every failure is a counted drop.
 */
export async function handleDatagram(datagram: Datagram, deps: AccountingHandlerDeps): Promise<Buffer | undefined> {
  const source = `${datagram.address}:${datagram.port}`
  const nas = deps.registry.lookup(datagram.address)
  if (!nas) return deps.drops.drop('unknown_nas', source)

  let packet: RadiusPacket
  try {
    packet = parsePacket(datagram.bytes)
  } catch (error) {
    return deps.drops.drop('malformed', source, (error as Error).message)
  }
  switch (packet.code) {
    case PacketCode.AccountingRequest:
      return recordAccountingRequest(packet, nas, datagram, source, deps)
    case PacketCode.StatusServer:
      return answerStatusServer(packet, nas, source, deps)
    default:
      return deps.drops.drop('unsupported_code', source, `code ${packet.code}`)
  }
}
