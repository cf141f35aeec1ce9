import { sql } from 'kysely'
import type { Db } from './connection'

/** The PostgreSQL channel on which the sessionizer announces sessions it started or stopped. */
export const SESSION_EVENTS_CHANNEL = 'radstream_session_events'

export interface SessionEventsNotice {
  readonly started: readonly string[]
  readonly stopped: readonly string[]
}

// NOTIFY payloads are limited to 8000 bytes; 32-character keys, about 200 to a notice.
const KEYS_PER_NOTICE = 200

/**
 * Announces session keys. The sessionizer sends them after its batch commits, so listeners only
 * hear what is recorded; nothing is sent for an empty notice.
 */
export async function notifySessionEvents(db: Pick<Db, 'executeQuery'>, notice: SessionEventsNotice): Promise<void> {
  const chunks: SessionEventsNotice[] = []
  for (let i = 0; i < notice.started.length; i += KEYS_PER_NOTICE)
    chunks.push({ started: notice.started.slice(i, i + KEYS_PER_NOTICE), stopped: [] })
  for (let i = 0; i < notice.stopped.length; i += KEYS_PER_NOTICE)
    chunks.push({ started: [], stopped: notice.stopped.slice(i, i + KEYS_PER_NOTICE) })
  for (const chunk of chunks) {
    await sql`select pg_notify(${SESSION_EVENTS_CHANNEL}, ${JSON.stringify(chunk)})`.execute(db as Db)
  }
}
