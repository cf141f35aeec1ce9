import { createLogger, type Settings } from '@radstream/config'
import { startApi, type RunningApi } from '@radstream/api'
import { startCollector, type RunningCollector } from '@radstream/collector'
import { startSessionizer, type RunningSessionizer } from '@radstream/sessionizer'
import { createDb } from '@radstream/db'
import { accessToken, newApiClient } from './api-client'

export interface RunningPipeline {
  readonly collector: RunningCollector
  readonly sessionizer: RunningSessionizer
  readonly api: RunningApi
  graphql<T = unknown>(query: string, variables?: Record<string, unknown>): Promise<{ status: number; body: T }>
  stop(): Promise<void>
}

/** The three services, real and in this process, on ephemeral ports, against the real stack. */
export async function startPipeline(settings: Settings): Promise<RunningPipeline> {
  const logger = createLogger(settings.logLevel, 'radstream-test')
  const sessionizer = await startSessionizer(settings, logger)
  const api = await startApi(settings, logger)
  const collector = await startCollector(settings, logger)
  const db = createDb({ url: settings.database.url, poolSize: 1 })
  const credentials = await newApiClient(db, ['admin']).finally(() => db.destroy())
  const token = await accessToken(`http://127.0.0.1:${api.port}`, credentials)
  return {
    collector,
    sessionizer,
    api,
    async graphql<T>(query: string, variables?: Record<string, unknown>) {
      const response = await fetch(`http://127.0.0.1:${api.port}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query, variables }),
      })
      return { status: response.status, body: (await response.json()) as T }
    },
    async stop() {
      await collector.stop()
      await Promise.all([sessionizer.stop(), api.stop()])
    },
  }
}
