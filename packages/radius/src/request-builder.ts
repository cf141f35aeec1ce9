import { signAccountingRequest } from './authenticator'
import { attributeByName } from './dictionary'
import { encodePacket, PacketCode, AUTHENTICATOR_LENGTH } from './packet'
import { encodeValue, type AttributeValue } from './values'

/** An attribute by dictionary name, or by number with raw bytes for anything outside it. */
export type AttributeInput = readonly [name: string, value: AttributeValue] | readonly [type: number, value: Buffer]

function encodeAttribute([key, value]: AttributeInput): { type: number; value: Buffer } {
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
