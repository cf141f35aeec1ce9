import { pino, type Logger } from 'pino'
import pretty from 'pino-pretty'

export type { Logger }

export const LOG_FORMATS = ['auto', 'json', 'pretty'] as const
export type LogFormat = (typeof LOG_FORMATS)[number]

/**
 * How a process logs: `auto` is pretty on a terminal and JSON lines otherwise (a file, a pipe, a
 * log shipper); with NODE_ENV=production always JSON, whatever was asked.
 */
export function resolveLogFormat(
  format: LogFormat,
  isTerminal: boolean,
  nodeEnv: string | undefined,
): 'json' | 'pretty' {
  if (nodeEnv === 'production') return 'json'
  if (format !== 'auto') return format
  return isTerminal ? 'pretty' : 'json'
}

/** One structured logger per process; each component takes a child with its name. */
export function createLogger(level: string, name: string, format: LogFormat = 'json'): Logger {
  const options = { level, name, base: { pid: process.pid } }
  if (resolveLogFormat(format, process.stdout.isTTY === true, process.env.NODE_ENV) === 'json') return pino(options)
  // Synchronous, in this thread: a terminal reader, not a production log pipeline.
  return pino(options, pretty({ colorize: true, sync: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' }))
}
