import './node-compat'
import type { ConnectionOptions as TlsOptions } from 'node:tls'
import type { BaseOptions, SASLOptions } from '@platformatic/kafka'
import type { KafkaSaslSettings, KafkaTlsSettings } from '@radstream/config'

export interface KafkaClientOptions {
  readonly brokers: readonly string[]
  readonly clientId: string
  /** TLS to the brokers; unset: plaintext. */
  readonly tls?: KafkaTlsSettings | undefined
  /** SASL login on every connection; unset: none. */
  readonly sasl?: KafkaSaslSettings | undefined
  /** How often a failed request or connection is tried again (3 unless told; `true`: for ever). */
  readonly retries?: number | boolean
  /** The pause before each new try (250 ms unless told). */
  readonly retryDelayMs?: number
}

/** Node's TLS options: the broker's chain and name are always verified. */
function tlsOptions(tls: KafkaTlsSettings): TlsOptions {
  return {
    rejectUnauthorized: true,
    ...(tls.ca !== undefined && { ca: [tls.ca] }),
    ...(tls.cert !== undefined && { cert: tls.cert }),
    ...(tls.key !== undefined && { key: tls.key }),
    ...(tls.keyPassword !== undefined && { passphrase: tls.keyPassword.reveal() }),
  }
}

const MECHANISMS = { plain: 'PLAIN', 'scram-sha-256': 'SCRAM-SHA-256', 'scram-sha-512': 'SCRAM-SHA-512' } as const

function saslOptions(sasl: KafkaSaslSettings): SASLOptions {
  // A function, so the password is revealed per login and never sits in the client's options.
  return { mechanism: MECHANISMS[sasl.mechanism], username: sasl.username, password: () => sasl.password.reveal() }
}

/**
 * A cluster radstream talks to: the options every client it makes shares. The only place that
 * turns radstream's settings into the Kafka client's, so every process talks to Kafka alike.
 */
export class Kafka {
  constructor(readonly options: KafkaClientOptions) {}

  /** The client library's options for a client of this cluster, `retries` overriding the cluster's. */
  clientOptions(purpose: string, retries?: number | boolean): BaseOptions {
    const { options } = this
    return {
      clientId: `${options.clientId}${purpose ? `-${purpose}` : ''}`,
      bootstrapBrokers: [...options.brokers],
      connectTimeout: 3000,
      requestTimeout: 30_000,
      retries: retries ?? options.retries ?? 3,
      retryDelay: options.retryDelayMs ?? 250,
      ...(options.tls && { tls: tlsOptions(options.tls) }),
      ...(options.sasl && { sasl: saslOptions(options.sasl) }),
    }
  }
}

export function createKafka(options: KafkaClientOptions): Kafka {
  return new Kafka(options)
}
