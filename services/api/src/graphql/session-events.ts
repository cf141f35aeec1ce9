import pg from 'pg'
import type { Logger } from '@radstream/config'
import type { Db } from '@radstream/db'
import { pgConnectionConfig, SESSION_EVENTS_CHANNEL, type SessionEventsNotice } from '@radstream/db'
import { sessionsByKey } from './queries'

export const SESSION_EVENTS_TOPIC = 'SESSION_EVENTS'

export interface SessionEventHub {
  stop(): Promise<void>
}

type Publish = (event: { topic: string; payload: unknown }) => void

/**
 * Feeds the sessionEvents subscription from PostgreSQL: the sessionizer NOTIFYs the session keys
 * it started and stopped when its transaction commits, so subscribers hear only what is recorded.
 * Reconnects with back-off if the LISTEN connection drops.
 */
export function startSessionEventHub(url: string, db: Db, publish: Publish, logger: Logger): SessionEventHub {
  const topic = SESSION_EVENTS_TOPIC
  let client: pg.Client | undefined
  let stopped = false
  let retry: NodeJS.Timeout | undefined

  async function deliver(notice: SessionEventsNotice): Promise<void> {
    for (const [type, keys] of [
      ['STARTED', notice.started],
      ['STOPPED', notice.stopped],
    ] as const) {
      if (keys.length === 0) continue
      for (const session of await sessionsByKey(db, keys))
        publish({ topic, payload: { sessionEvents: { type, session } } })
    }
  }

  async function connect(delayMs = 1000): Promise<void> {
    if (stopped) return
    const next = new pg.Client({ ...pgConnectionConfig(url), application_name: 'radstream-api-listen' })
    next.on('notification', (message) => {
      if (!message.payload) return
      deliver(JSON.parse(message.payload) as SessionEventsNotice).catch((error: unknown) =>
        logger.warn({ err: error }, 'session event delivery failed'),
      )
    })
    next.on('error', (error) => {
      logger.warn({ err: error }, 'session event listener lost its connection; reconnecting')
      void next.end().catch(() => undefined)
      retry = setTimeout(() => void connect(Math.min(delayMs * 2, 30_000)), delayMs)
    })
    try {
      await next.connect()
      await next.query(`listen ${SESSION_EVENTS_CHANNEL}`)
      client = next
    } catch (error) {
      logger.warn({ err: error }, 'session event listener cannot connect; retrying')
      await next.end().catch(() => undefined)
      retry = setTimeout(() => void connect(Math.min(delayMs * 2, 30_000)), delayMs)
    }
  }

  void connect()
  return {
    async stop() {
      stopped = true
      clearTimeout(retry)
      await client?.end().catch(() => undefined)
    },
  }
}
