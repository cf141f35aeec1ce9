import { createHash, createHmac, timingSafeEqual } from 'node:crypto'
import { AUTHENTICATOR_LENGTH, AUTHENTICATOR_OFFSET, PacketCode, type RadiusPacket } from './packet'

const ZERO_AUTHENTICATOR = Buffer.alloc(AUTHENTICATOR_LENGTH)
export const MESSAGE_AUTHENTICATOR_TYPE = 80

function md5(...parts: Buffer[]): Buffer {
  const hash = createHash('md5')
  for (const part of parts) hash.update(part)
  return hash.digest()
}

/**
 * RFC 2866 section 3: Request Authenticator = MD5(Code + Identifier + Length + 16 zero octets +
 * Attributes + Secret). Computed on the raw bytes and compared in constant time. The `radius` npm
 * package compares authenticators as UTF-8 strings, which maps distinct invalid byte sequences to
 * the same replacement character and so accepts forged packets: never use its check.
 */
export function verifyAccountingRequestAuthenticator(packet: RadiusPacket, secret: Buffer): boolean {
  return timingSafeEqual(accountingRequestAuthenticator(packet.raw, secret), packet.authenticator)
}

/** The Request Authenticator a NAS puts in an Accounting-Request with these bytes. */
export function accountingRequestAuthenticator(raw: Buffer, secret: Buffer): Buffer {
  return md5(
    raw.subarray(0, AUTHENTICATOR_OFFSET),
    ZERO_AUTHENTICATOR,
    raw.subarray(AUTHENTICATOR_OFFSET + AUTHENTICATOR_LENGTH),
    secret,
  )
}

/**
 * Response Authenticator = MD5(Code + Identifier + Length + Request Authenticator + Attributes +
 * Secret) (RFC 2866 section 3). `response` is the encoded response with any authenticator bytes.
 */
export function responseAuthenticator(response: Buffer, requestAuthenticator: Buffer, secret: Buffer): Buffer {
  return md5(
    response.subarray(0, AUTHENTICATOR_OFFSET),
    requestAuthenticator,
    response.subarray(AUTHENTICATOR_OFFSET + AUTHENTICATOR_LENGTH),
    secret,
  )
}

/**
 * Message-Authenticator (RFC 3579 section 3.2, RFC 5997): HMAC-MD5 keyed by the secret over the
 * packet with the attribute's value zeroed. Accounting-Request computes it before its Request
 * Authenticator exists, so that field is zeroed too; Status-Server carries a random authenticator
 * that is hashed as sent. Returns true when the packet carries none.
 */
export function verifyMessageAuthenticator(packet: RadiusPacket, secret: Buffer): boolean {
  return messageAuthenticatorHolds(
    packet,
    secret,
    HASHED_REQUEST_CODES.has(packet.code) ? ZERO_AUTHENTICATOR : undefined,
  )
}

/**
 * True when the packet carries no Message-Authenticator, or one valid HMAC-MD5 over its bytes with
 * the attribute's value zeroed and, where given, `header` in the authenticator field (else as sent).
 */
function messageAuthenticatorHolds(packet: RadiusPacket, secret: Buffer, header: Buffer | undefined): boolean {
  const found = packet.attributes.filter((a) => a.type === MESSAGE_AUTHENTICATOR_TYPE)
  if (found.length === 0) return true
  const attribute = found[0]!
  if (found.length > 1 || attribute.value.length !== AUTHENTICATOR_LENGTH) return false
  const copy = Buffer.from(packet.raw)
  header?.copy(copy, AUTHENTICATOR_OFFSET)
  copy.fill(0, attribute.offset + 2, attribute.offset + 2 + AUTHENTICATOR_LENGTH)
  return timingSafeEqual(createHmac('md5', secret).update(copy).digest(), attribute.value)
}

/**
 * Requests whose Request Authenticator is an MD5 over the packet and the secret, not a random
 * nonce: Accounting-Request (RFC 2866 section 3) and Disconnect-/CoA-Request (RFC 5176 section 3.5,
 * the same formula). Their Message-Authenticator is computed with that field zeroed.
 */
const HASHED_REQUEST_CODES: ReadonlySet<number> = new Set([
  PacketCode.AccountingRequest,
  PacketCode.DisconnectRequest,
  PacketCode.CoaRequest,
])

/**
 * Signs an encoded Accounting-, Disconnect- or CoA-Request that carries a zeroed
 * Message-Authenticator: the HMAC over the packet with both authenticators zeroed, then the
 * Request Authenticator over the result (RFC 5176 section 3.5, RFC 3579 section 3.2). In place.
 */
export function signRequestWithMessageAuthenticator(request: Buffer, secret: Buffer): Buffer {
  writeMessageAuthenticator(request, secret, ZERO_AUTHENTICATOR)
  return signAccountingRequest(request, secret)
}

/** Fills a zeroed Message-Authenticator in place, the HMAC taken with `header` in the authenticator field. */
function writeMessageAuthenticator(packet: Buffer, secret: Buffer, header: Buffer): void {
  const offset = messageAuthenticatorOffset(packet)
  header.copy(packet, AUTHENTICATOR_OFFSET)
  packet.fill(0, offset, offset + AUTHENTICATOR_LENGTH)
  createHmac('md5', secret).update(packet).digest().copy(packet, offset)
}

/**
 * True when a response (Accounting-Response, Disconnect-/CoA-ACK or -NAK) was signed with this
 * secret for the request with this Request Authenticator: its Response Authenticator, and its
 * Message-Authenticator when it carries one (computed with the Request Authenticator in the header).
 */
export function verifyResponse(response: RadiusPacket, requestAuthenticator: Buffer, secret: Buffer): boolean {
  const signed = responseAuthenticator(response.raw, requestAuthenticator, secret)
  return (
    timingSafeEqual(signed, response.authenticator) && messageAuthenticatorHolds(response, secret, requestAuthenticator)
  )
}

/**
 * Signs a response that carries a zeroed Message-Authenticator (RFC 3579 section 3.2): the HMAC is
 * taken with the Request Authenticator in the header, then the Response Authenticator covers it.
 */
export function signResponseWithMessageAuthenticator(response: Buffer, request: RadiusPacket, secret: Buffer): Buffer {
  writeMessageAuthenticator(response, secret, request.authenticator)
  return signResponse(response, request.authenticator, secret)
}

function messageAuthenticatorOffset(packet: Buffer): number {
  for (let offset = 20; offset + 2 <= packet.length; offset += packet[offset + 1]!) {
    if (packet[offset] === MESSAGE_AUTHENTICATOR_TYPE) return offset + 2
    if (packet[offset + 1]! < 2) break
  }
  throw new RangeError('packet has no Message-Authenticator attribute to sign')
}

/** Writes the Response Authenticator into an encoded response, in place, and returns it. */
export function signResponse(response: Buffer, requestAuthenticator: Buffer, secret: Buffer): Buffer {
  responseAuthenticator(response, requestAuthenticator, secret).copy(response, AUTHENTICATOR_OFFSET)
  return response
}

/**
 * Writes the Request Authenticator into an encoded Accounting-Request, in place (for clients);
 * a Disconnect- or CoA-Request is signed the same way.
 */
export function signAccountingRequest(request: Buffer, secret: Buffer): Buffer {
  accountingRequestAuthenticator(request, secret).copy(request, AUTHENTICATOR_OFFSET)
  return request
}
