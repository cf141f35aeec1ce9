/** Why a Disconnect or CoA was not sent: each a mistake of the caller's, never a fault of the NAS. */
export const daeErrorCodes = {
  SESSION_NOT_FOUND: 'no such session (or one the caller may not see)',
  SESSION_ALREADY_STOPPED: 'the session has already stopped',
  NAS_WITHOUT_DAE: 'the session’s NAS takes no Dynamic Authorization requests',
  INVALID_ATTRIBUTE: 'an attribute value is out of range',
} as const

export type DaeErrorCode = keyof typeof daeErrorCodes

export class DaeError extends Error {
  override readonly name = 'DaeError'
  constructor(
    readonly code: DaeErrorCode,
    message: string,
  ) {
    super(message)
  }
}
