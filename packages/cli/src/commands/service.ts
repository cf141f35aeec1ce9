import { setFlagsFromString } from 'node:v8'
import { createLogger, loadSettings, type Logger, type Settings } from '@radstream/config'
import { startApi } from '@radstream/api'
import { startCollector } from '@radstream/collector'
import { startSessionizer } from '@radstream/sessionizer'
import { requireDependencies } from './dependencies'
import { parseCommandArgs } from './shared'

export type ServiceName = 'collector' | 'sessionizer' | 'api'

const starters: Record<ServiceName, (settings: Settings, logger: Logger) => Promise<{ stop(): Promise<void> }>> = {
  collector: startCollector,
  sessionizer: startSessionizer,
  api: startApi,
}

/**
 * V8 lets the old space grow to about twice what survived the last full collection before the
 * next; the collector's heap is mostly its duplicate cache and short-lived packets, so it collects
 * at 1.5 times instead, and its RSS stays under 300 MB at capacity (bench/ingest.ts --max).
 */
const v8Flags: Record<ServiceName, string[]> = {
  collector: ['--heap-growing-percent=50'],
  sessionizer: [],
  api: [],
}

const SHUTDOWN_GRACE_MS = 30_000

/**
 * Runs one service until SIGINT or SIGTERM, then drains it. A second Ctrl-C or 30 s forces exit; a
 * SIGTERM during the drain is ignored, since `radstream up` passes one on after the terminal's SIGINT.
 */
export function serviceRunner(name: ServiceName): (args: readonly string[]) => Promise<void> {
  return async (args) => {
    parseCommandArgs({ args: [...args], options: {}, strict: true })
    for (const flag of v8Flags[name]) setFlagsFromString(flag)
    const settings = loadSettings()
    // The API answers without Kafka (its health says so); the others cannot start without it.
    await requireDependencies(settings, { kafka: name !== 'api' })
    const logger = createLogger(settings.logLevel, `radstream-${name}`, settings.logFormat)
    const service = await starters[name](settings, logger)
    let stopping = false
    const shutdown = (signal: NodeJS.Signals) => {
      if (stopping) {
        if (signal === 'SIGTERM') return
        logger.warn({ signal }, 'second Ctrl-C: exiting without draining')
        process.exit(1)
      }
      stopping = true
      logger.info({ signal }, 'shutting down')
      setTimeout(() => {
        logger.error('shutdown took longer than 30 s; exiting')
        process.exit(1)
      }, SHUTDOWN_GRACE_MS).unref()
      service.stop().then(
        () => process.exit(0),
        (error: unknown) => {
          logger.error({ err: error }, 'shutdown failed')
          process.exit(1)
        },
      )
    }
    process.on('SIGINT', shutdown)
    process.on('SIGTERM', shutdown)
  }
}
