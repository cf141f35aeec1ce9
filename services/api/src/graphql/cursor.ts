import { ApiError } from '../errors'

/** Keyset position in a newest-first list: the start time and row id of the last item seen. */
export interface SessionCursor {
  readonly startTime: Date
  readonly id: string
}

export function encodeCursor(cursor: SessionCursor): string {
  return Buffer.from(JSON.stringify([cursor.startTime.toISOString(), cursor.id])).toString('base64url')
}

/** Parses an `after` argument; anything that is not a cursor this API made is BAD_USER_INPUT. */
export function decodeCursor(text: string): SessionCursor {
  try {
    const [startTime, id] = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as unknown[]
    const date = new Date(String(startTime))
    if (
      typeof startTime === 'string' &&
      !Number.isNaN(date.getTime()) &&
      typeof id === 'string' &&
      /^\d{1,19}$/.test(id)
    ) {
      return { startTime: date, id }
    }
  } catch {
    // falls through to the error below
  }
  throw new ApiError('BAD_USER_INPUT', 'after: not a cursor returned by this API')
}
