import { createHmac, timingSafeEqual } from 'node:crypto'
import { badParameter } from '../errors'

/** What a cursor is bound to (its client and the query's filters) and where it stands (the last event served). */
export interface AuditCursor {
  /** The API client it was issued to: no other client may follow it. */
  readonly clientId: string
  readonly startDate: string
  readonly endDate: string
  readonly initiatorId: string | null
  /** occurred_at of the last event served, with microseconds, and its id. */
  readonly at: string
  readonly seq: string
}

/**
 * Opaque, tamper-checked cursors: base64url(JSON) + "." + HMAC-SHA256 under the API's signing key.
 * A changed byte, or a cursor of another deployment, fails the check.
 */
export function cursorCodec(key: string) {
  const mac = (body: string) => createHmac('sha256', `audit-cursor:${key}`).update(body).digest()
  return {
    encode(cursor: AuditCursor): string {
      const body = Buffer.from(
        JSON.stringify([cursor.clientId, cursor.startDate, cursor.endDate, cursor.initiatorId, cursor.at, cursor.seq]),
      ).toString('base64url')
      return `${body}.${mac(body).toString('base64url')}`
    },
    decode(text: string): AuditCursor {
      const [body, signature, extra] = text.split('.')
      if (!body || !signature || extra !== undefined) throw badParameter('cursor', 'not a cursor returned by this API')
      const given = Buffer.from(signature, 'base64url')
      const expected = mac(body)
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
        throw badParameter('cursor', 'not a cursor returned by this API')
      }
      const fields = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as string[]
      // A cursor of the earlier form (no client) is refused like a foreign one: its page is one request away.
      if (fields.length !== 6) throw badParameter('cursor', 'has expired: repeat the first request')
      const [clientId, startDate, endDate, initiatorId, at, seq] = fields
      return {
        clientId: clientId!,
        startDate: startDate!,
        endDate: endDate!,
        initiatorId: initiatorId ?? null,
        at: at!,
        seq: seq!,
      }
    },
  }
}

export type CursorCodec = ReturnType<typeof cursorCodec>
