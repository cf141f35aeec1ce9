import { encodeValue } from '@radstream/radius'
import { DaeError } from './errors'

/** A Vendor-Specific attribute in RFC 2865's suggested format: vendor id, vendor type, value. */
export interface VendorAttribute {
  readonly vendorId: number
  readonly type: number
  /** The value as hexadecimal digits. */
  readonly value: string
}

/** What a CoA-Request may change: the attributes a NAS commonly applies to a live session. */
export interface SessionChange {
  readonly sessionTimeout?: number | null | undefined
  readonly idleTimeout?: number | null | undefined
  readonly filterId?: string | null | undefined
  readonly vendorAttributes?: readonly VendorAttribute[] | null | undefined
}

export interface EncodedAttribute {
  readonly type: number
  readonly value: Buffer
}

/** Each attribute as an audit field shows it: a name and the value as text. */
export interface DescribedAttribute {
  readonly name: string
  readonly value: string
}

/** RFC 2865 attribute types of what a change may carry. */
const ATTRIBUTE_TYPES = { 'Filter-Id': 11, 'Vendor-Specific': 26, 'Session-Timeout': 27, 'Idle-Timeout': 28 } as const
const MAX_VALUE_OCTETS = 253
/** Vendor-Id (4) + vendor type (1) + vendor length (1) precede the value inside the 253 octets. */
const MAX_VENDOR_VALUE_OCTETS = MAX_VALUE_OCTETS - 6
const MAX_SECONDS = 2 ** 31 - 1

function invalid(field: string, rule: string): DaeError {
  return new DaeError('INVALID_ATTRIBUTE', `${field}: ${rule}`)
}

function seconds(field: string, value: number): Buffer {
  if (!Number.isInteger(value) || value < 1 || value > MAX_SECONDS) {
    throw invalid(field, `must be a whole number of seconds from 1 to ${MAX_SECONDS}`)
  }
  return encodeValue('integer', value)
}

function vendorAttribute(attribute: VendorAttribute, index: number): EncodedAttribute {
  const field = `vendorAttributes[${index}]`
  if (!Number.isInteger(attribute.vendorId) || attribute.vendorId < 1 || attribute.vendorId > 0xffffff) {
    throw invalid(`${field}.vendorId`, 'must be an IANA enterprise number from 1 to 16777215')
  }
  if (!Number.isInteger(attribute.type) || attribute.type < 1 || attribute.type > 255) {
    throw invalid(`${field}.type`, 'must be from 1 to 255')
  }
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(attribute.value)) {
    throw invalid(`${field}.value`, 'must be hexadecimal digits, two per octet')
  }
  const value = Buffer.from(attribute.value, 'hex')
  if (value.length > MAX_VENDOR_VALUE_OCTETS) {
    throw invalid(`${field}.value`, `must be at most ${MAX_VENDOR_VALUE_OCTETS} octets`)
  }
  const data = Buffer.concat([Buffer.from([attribute.type, value.length + 2]), value])
  return { type: ATTRIBUTE_TYPES['Vendor-Specific'], value: encodeValue('vsa', { vendorId: attribute.vendorId, data }) }
}

/**
 * Validates a change and encodes it as CoA-Request attributes, in a fixed order. Throws DaeError
 * INVALID_ATTRIBUTE naming the field at fault; a change that changes nothing is refused too.
 */
export function encodeSessionChange(change: SessionChange): {
  attributes: EncodedAttribute[]
  described: DescribedAttribute[]
} {
  const attributes: EncodedAttribute[] = []
  const described: DescribedAttribute[] = []
  const add = (name: 'Session-Timeout' | 'Idle-Timeout' | 'Filter-Id', value: Buffer, text: string) => {
    attributes.push({ type: ATTRIBUTE_TYPES[name], value })
    described.push({ name, value: text })
  }
  if (change.sessionTimeout != null) {
    add('Session-Timeout', seconds('sessionTimeout', change.sessionTimeout), String(change.sessionTimeout))
  }
  if (change.idleTimeout != null) {
    add('Idle-Timeout', seconds('idleTimeout', change.idleTimeout), String(change.idleTimeout))
  }
  if (change.filterId != null) {
    const value = Buffer.from(change.filterId, 'utf8')
    if (value.length < 1 || value.length > MAX_VALUE_OCTETS) {
      throw invalid('filterId', `must be 1 to ${MAX_VALUE_OCTETS} octets of UTF-8`)
    }
    add('Filter-Id', value, change.filterId)
  }
  for (const [index, vendor] of (change.vendorAttributes ?? []).entries()) {
    const encoded = vendorAttribute(vendor, index)
    attributes.push(encoded)
    described.push({ name: `Vendor-Specific ${vendor.vendorId}:${vendor.type}`, value: vendor.value.toLowerCase() })
  }
  if (attributes.length === 0) {
    throw invalid('attributes', 'give at least one of sessionTimeout, idleTimeout, filterId, vendorAttributes')
  }
  return { attributes, described }
}
