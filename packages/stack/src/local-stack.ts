import { migrateDatabase } from '@radstream/db'
import { createKafka, ensureTopic, verifyKafkaAccess } from '@radstream/kafka'
import type { Settings } from '@radstream/config'
import { ensureLocalCluster } from './kafka-broker'
import { ensurePostgres } from './postgres'

export interface StackOptions {
  readonly settings: Settings
  readonly log: (message: string) => void
}

const LOOPBACK_BROKER = /^(?:127\.0\.0\.1|localhost):(\d+)$/

/**
 * The plaintext ports of KAFKA_BROKERS when every broker is on loopback and no TLS or SASL is
 * configured: a local cluster (one node per port) this project starts itself. A secured or
 * remote cluster must already be running.
 */
export function localClusterPorts(settings: Settings): number[] | undefined {
  if (settings.kafka.tls || settings.kafka.sasl) return undefined
  const ports = settings.kafka.brokers.map((broker) => LOOPBACK_BROKER.exec(broker)?.[1])
  return ports.every((port) => port !== undefined) ? ports.map(Number) : undefined
}

/**
 * Brings the stack radstream needs to a usable state, idempotently: PostgreSQL answering with the
 * database migrated, Kafka answering with the accounting topic created. Brokers on loopback (the
 * default is one, 127.0.0.1:9092) are started here when they are not running.
 */
export async function ensureStack({ settings, log }: StackOptions): Promise<void> {
  const local = localClusterPorts(settings)
  await Promise.all([
    ensurePostgres(settings.database.url, log).then(() =>
      migrateDatabase({
        url: settings.database.url,
        appPassword: settings.database.appPassword?.reveal(),
        log,
      }),
    ),
    (async () => {
      if (local) await ensureLocalCluster({ ports: local, partitions: settings.kafka.partitions, log })
      await verifyKafkaAccess(settings.kafka)
      await ensureTopic(
        createKafka({ ...settings.kafka, clientId: 'radstream-stack' }),
        settings.kafka.topic,
        settings.kafka.partitions,
        { replication: settings.kafka.replication, warn: (_details, message) => log(`warning: ${message}`) },
      )
    })(),
  ])
}
