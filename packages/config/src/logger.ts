import { pino, type Logger } from 'pino'

export type { Logger }

/** One structured JSON logger per process; each component takes a child with its name. */
export function createLogger(level: string, name: string): Logger {
  return pino({ level, name, base: { pid: process.pid } })
}
