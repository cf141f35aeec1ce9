import { createDb, migrateToLatest } from '@radstream/db'
import { createKafka, ensureTopic, verifyKafkaAccess } from '@radstream/kafka'
import type { Settings } from '@radstream/config'
import { ensureLocalKafka } from './kafka-broker'
import { ensurePostgres } from './postgres'

export interface StackOptions {
  readonly settings: Settings
  readonly log: (message: string) => void
}

const LOCAL_BROKER = /^(127\.0\.0\.1|localhost):(\d+)$/

/**
 * Brings the stack radstream needs to a usable state, idempotently: PostgreSQL answering with the
 * database migrated, a Kafka broker answering with the accounting topic created. A single broker
 * on loopback (the default) is started here when it is not running.
 */
export async function ensureStack({ settings, log }: StackOptions): Promise<void> {
  const [first] = settings.kafka.brokers
  const local = first !== undefined && settings.kafka.brokers.length === 1 ? LOCAL_BROKER.exec(first) : null
  await Promise.all([
    ensurePostgres(settings.database.url, log).then(async () => {
      const db = createDb({ url: settings.database.url, poolSize: 1, applicationName: 'radstream-migrate' })
      try {
        const applied = await migrateToLatest(db)
        for (const result of applied) log(`migration ${result.migrationName}: ${result.status}`)
      } finally {
        await db.destroy()
      }
    }),
    (async () => {
      // A single loopback broker is ours to start; any other cluster must already be running.
      if (local) {
        const port = Number(local[2])
        await ensureLocalKafka({ port, controllerPort: port + 1, partitions: settings.kafka.partitions, log })
      }
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
