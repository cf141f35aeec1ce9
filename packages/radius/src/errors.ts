/** Stable codes for every way a datagram can be refused; used in logs and as metric labels. */
export const radiusErrorCodes = {
  RADSTREAM_PACKET_TOO_SHORT: 'datagram shorter than the 20-octet header or its Length field',
  RADSTREAM_BAD_LENGTH: 'Length field outside 20..4096',
  RADSTREAM_MALFORMED_ATTRIBUTE: 'attribute length overruns the packet or breaks its type',
  RADSTREAM_MISSING_ATTRIBUTE: 'a required attribute is absent',
} as const

export type RadiusErrorCode = keyof typeof radiusErrorCodes

export class RadiusDecodeError extends Error {
  override readonly name = 'RadiusDecodeError'
  constructor(
    readonly code: RadiusErrorCode,
    detail: string,
  ) {
    super(`${radiusErrorCodes[code]}: ${detail}`)
  }
}
