import { createClient, type Client } from 'graphql-ws'
import { grant } from './auth'
import type { Session } from './types'

export interface SessionEvent {
  readonly type: 'STARTED' | 'STOPPED'
  readonly session: Session
}

let client: { token: string; client: Client } | undefined

/** One WebSocket per sign-in (graphql-transport-ws), authenticated in its connection_init. */
function liveClient(): Client {
  const token = grant.value?.token
  if (!token) throw new Error('not signed in')
  if (client?.token !== token) {
    void client?.client.dispose()
    const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/graphql`
    client = {
      token,
      client: createClient({
        url,
        connectionParams: { authorization: `Bearer ${token}` },
        retryAttempts: Infinity,
        shouldRetry: () => true,
      }),
    }
  }
  return client.client
}

/** Calls `onEvent` for each session started or stopped (of one NAS, if given) until the returned stop. */
export function onSessionEvents(
  fields: string,
  nasIpAddress: string | undefined,
  onEvent: (event: SessionEvent) => void,
  onState: (state: 'live' | 'reconnecting') => void,
): () => void {
  const live = liveClient()
  const offConnected = live.on('connected', () => onState('live'))
  const offClosed = live.on('closed', () => onState('reconnecting'))
  const stop = live.subscribe<{ sessionEvents: SessionEvent }>(
    {
      query: `subscription ($nas: String) { sessionEvents(nasIpAddress: $nas) { type session { ${fields} } } }`,
      variables: { nas: nasIpAddress || null },
    },
    {
      next: (message) => {
        if (message.data) onEvent(message.data.sessionEvents)
      },
      error: () => onState('reconnecting'),
      complete: () => undefined,
    },
  )
  return () => {
    stop()
    offConnected()
    offClosed()
  }
}
