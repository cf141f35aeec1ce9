import { MESSAGE_AUTHENTICATOR_TYPE, signAccountingRequest, signRequestWithMessageAuthenticator } from './authenticator'
import { attributeByName } from './dictionary'
import { encodePacket, PacketCode, AUTHENTICATOR_LENGTH } from './packet'
import { encodeValue, type AttributeValue } from './values'

/** An attribute by dictionary name, or by number with raw bytes for anything outside it. */
export type AttributeInput = readonly [name: string, value: AttributeValue] | readonly [type: number, value: Buffer]

export function encodeAttribute([key, value]: AttributeInput): { type: number; value: Buffer } {
  if (typeof key === 'number') return { type: key, value: value as Buffer }
  const definition = attributeByName.get(key)
  if (!definition) throw new TypeError(`unknown attribute name: ${key}`)
  return { type: definition.type, value: encodeValue(definition.valueType, value as never) }
}

/** Builds a signed Accounting-Request, as a NAS would send it. For clients, tests and benchmarks. */
export function buildAccountingRequest(options: {
  identifier: number
  secret: Buffer
  attributes: readonly AttributeInput[]
}): Buffer {
  const packet = encodePacket({
    code: PacketCode.AccountingRequest,
    identifier: options.identifier,
    authenticator: Buffer.alloc(AUTHENTICATOR_LENGTH),
    attributes: options.attributes.map(encodeAttribute),
  })
  return signAccountingRequest(packet, options.secret)
}

/**
 * Builds a signed Disconnect-Request or CoA-Request (RFC 5176) from encoded attributes. It always
 * carries a Message-Authenticator: RFC 5176 makes it optional, but a NAS that requires it (the
 * Blast-RADIUS advice) drops a request without one.
 */
export function buildDynamicAuthorizationRequest(options: {
  code: typeof PacketCode.DisconnectRequest | typeof PacketCode.CoaRequest
  identifier: number
  secret: Buffer
  attributes: readonly { readonly type: number; readonly value: Buffer }[]
}): Buffer {
  const packet = encodePacket({
    code: options.code,
    identifier: options.identifier,
    authenticator: Buffer.alloc(AUTHENTICATOR_LENGTH),
    attributes: [
      ...options.attributes,
      { type: MESSAGE_AUTHENTICATOR_TYPE, value: Buffer.alloc(AUTHENTICATOR_LENGTH) },
    ],
  })
  return signRequestWithMessageAuthenticator(packet, options.secret)
}
