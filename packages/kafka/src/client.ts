import { Kafka, logLevel as KafkaLogLevel, type KafkaConfig, type logCreator, type SASLOptions } from 'kafkajs'
import type { Logger } from 'pino'
import type { KafkaSaslSettings, KafkaTlsSettings } from '@radstream/config'
import { kafkaLogLevel, type LogLevelName } from './log-levels'

export interface KafkaClientOptions {
  readonly brokers: readonly string[]
  readonly clientId: string
  /** TLS to the brokers; unset: plaintext. */
  readonly tls?: KafkaTlsSettings | undefined
  /** SASL login on every connection; unset: none. */
  readonly sasl?: KafkaSaslSettings | undefined
  /** kafkajs logs through this pino logger; without one it stays silent. */
  readonly logger?: Logger
  /** How often a failed request or connection is retried (8 unless told). */
  readonly retries?: number
}

const levelNames: Record<number, LogLevelName> = {
  [KafkaLogLevel.ERROR]: 'error',
  [KafkaLogLevel.WARN]: 'warn',
  [KafkaLogLevel.INFO]: 'info',
  [KafkaLogLevel.DEBUG]: 'debug',
}

function pinoLogCreator(logger: Logger): logCreator {
  return () =>
    ({ namespace, level, log }) => {
      const { message, ...extra } = log
      const entry = { level: levelNames[level] ?? 'info', message, extra }
      logger[kafkaLogLevel(entry)]({ kafka: { namespace, ...extra } }, message)
    }
}

/** Node's TLS options for kafkajs: the broker's chain and name are always verified. */
function tlsOptions(tls: KafkaTlsSettings): KafkaConfig['ssl'] {
  return {
    rejectUnauthorized: true,
    ...(tls.ca !== undefined && { ca: [tls.ca] }),
    ...(tls.cert !== undefined && { cert: tls.cert }),
    ...(tls.key !== undefined && { key: tls.key }),
    ...(tls.keyPassword !== undefined && { passphrase: tls.keyPassword.reveal() }),
  }
}

function saslOptions(sasl: KafkaSaslSettings): SASLOptions {
  const credentials = { username: sasl.username, password: sasl.password.reveal() }
  switch (sasl.mechanism) {
    case 'plain':
      return { mechanism: 'plain', ...credentials }
    case 'scram-sha-256':
      return { mechanism: 'scram-sha-256', ...credentials }
    case 'scram-sha-512':
      return { mechanism: 'scram-sha-512', ...credentials }
  }
}

/** The only place that builds a kafkajs client, so every process talks to Kafka the same way. */
export function createKafka(options: KafkaClientOptions): Kafka {
  return new Kafka({
    clientId: options.clientId,
    brokers: [...options.brokers],
    connectionTimeout: 3000,
    authenticationTimeout: 10_000,
    ...(options.tls && { ssl: tlsOptions(options.tls) }),
    ...(options.sasl && { sasl: saslOptions(options.sasl) }),
    logLevel: options.logger ? KafkaLogLevel.WARN : KafkaLogLevel.NOTHING,
    ...(options.logger && { logCreator: pinoLogCreator(options.logger) }),
    retry: { initialRetryTime: 100, retries: options.retries ?? 8 },
  })
}
