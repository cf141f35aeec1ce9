import type { TestProject } from 'vitest/node'
import { loadSettings } from '@radstream/config'
import { createDb } from '@radstream/db'
import { createKafka, deleteScratchTopics } from '@radstream/kafka'
import { ensurePeerPrograms, ensureStack, startContainerStack, type ContainerStack } from '@radstream/stack'
import { emptyTables } from '@radstream/db'
import { ensureBackgroundStack } from './background-stack'
import { testDatabaseUrl } from './test-database'
import { TEST_TOPIC_PREFIX, testTopic } from './topics'

declare module 'vitest' {
  export interface ProvidedContext {
    databaseUrl: string
    kafkaBrokers: string
    /** A topic of this run's own, so runs never read each other's records. */
    topic: string
  }
}

let containers: ContainerStack | undefined

/**
 * Where the tests' PostgreSQL and Kafka come from: the URLs given; else containers where a Docker
 * engine runs; else the local stack (Kafka jars from Maven, the machine's PostgreSQL).
 */
async function stackEnv(log: (message: string) => void): Promise<Record<string, string>> {
  const given = process.env.TEST_DATABASE_URL || process.env.DATABASE_URL || process.env.KAFKA_BROKERS
  if (!given && process.env.RADSTREAM_TEST_STACK !== 'local') {
    containers = await startContainerStack(log)
    if (containers) return { DATABASE_URL: containers.databaseUrl, KAFKA_BROKERS: containers.kafkaBrokers }
    log('no container runtime: using the local stack')
  }
  return { DATABASE_URL: testDatabaseUrl() }
}

/**
 * Brings up the real stack once per run: PostgreSQL with a migrated test database, the Kafka
 * broker, radclient and FreeRADIUS. Anything that cannot be started fails the run; nothing is skipped.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const started = Date.now()
  const log = (message: string) => console.log(`[stack] ${message}`)
  const topic = testTopic('run')
  const settings = loadSettings({
    ...process.env,
    ...(await stackEnv(log)),
    KAFKA_TOPIC: topic,
    KAFKA_TOPIC_PARTITIONS: '4',
  })
  await Promise.all([ensureStack({ settings, log }), ensurePeerPrograms(log)])
  const stopBackground = containers ? async () => undefined : await ensureBackgroundStack(log)
  const kafka = createKafka({ brokers: settings.kafka.brokers, clientId: 'radstream-test-setup' })
  // An hour's grace: another run on this machine may still be using its topics.
  const leftovers = await deleteScratchTopics(kafka, TEST_TOPIC_PREFIX, (at) => at < started - 3_600_000)
  if (leftovers.length > 0) log(`deleted ${leftovers.length} topics left by earlier runs`)

  // Each run starts from empty tables, so assertions count rows without guessing at leftovers.
  const db = createDb({ url: settings.database.url, poolSize: 1 })
  await emptyTables(db)
  await db.destroy()

  project.provide('databaseUrl', settings.database.url)
  project.provide('kafkaBrokers', settings.kafka.brokers.join(','))
  project.provide('topic', topic)
  log(`ready in ${((Date.now() - started) / 1000).toFixed(1)} s (topic ${topic})`)
  return async () => {
    // This run's own topics are those named after its start.
    await deleteScratchTopics(kafka, TEST_TOPIC_PREFIX, (at) => at >= started)
    await stopBackground()
    await containers?.stop()
  }
}
