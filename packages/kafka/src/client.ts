import { Kafka, logLevel as KafkaLogLevel, type logCreator } from 'kafkajs'
import type { Logger } from 'pino'

export interface KafkaClientOptions {
  readonly brokers: readonly string[]
  readonly clientId: string
  /** kafkajs logs through this pino logger; without one it stays silent. */
  readonly logger?: Logger
}

const levelNames: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [KafkaLogLevel.ERROR]: 'error',
  [KafkaLogLevel.WARN]: 'warn',
  [KafkaLogLevel.INFO]: 'info',
  [KafkaLogLevel.DEBUG]: 'debug',
}

function pinoLogCreator(logger: Logger): logCreator {
  return () =>
    ({ level, log }) => {
      const { message, ...extra } = log
      logger[levelNames[level] ?? 'info']({ kafka: extra }, message)
    }
}

/** The only place that builds a kafkajs client, so every process talks to Kafka the same way. */
export function createKafka(options: KafkaClientOptions): Kafka {
  return new Kafka({
    clientId: options.clientId,
    brokers: [...options.brokers],
    connectionTimeout: 3000,
    logLevel: options.logger ? KafkaLogLevel.WARN : KafkaLogLevel.NOTHING,
    ...(options.logger && { logCreator: pinoLogCreator(options.logger) }),
    retry: { initialRetryTime: 100, retries: 8 },
  })
}
