import { loadSettings, type Settings } from '@radstream/config'
import { sql } from 'kysely'
import { createDb, emptyTables, upsertNasClient } from '@radstream/db'
import { createKafka, deleteScratchTopics, scratchTopic } from '@radstream/kafka'
import { freePort, ensureStack, localNodePid } from '@radstream/stack'

const BENCH_TOPIC_PREFIX = 'radius.accounting.bench-'

/**
 * The stack a benchmark runs on: the same Kafka broker and PostgreSQL server as `npm start`, a
 * database of its own (radstream_bench, emptied) and a topic of its own per run; earlier runs' topics
 * are deleted.
 */
export async function benchSettings(
  run: string,
  extra: Record<string, string> = {},
): Promise<{ settings: Settings; env: Record<string, string> }> {
  const started = Date.now()
  const url = new URL(process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/radstream')
  url.pathname = '/radstream_bench'
  const env: Record<string, string> = {
    DATABASE_URL: url.toString(),
    KAFKA_TOPIC: scratchTopic(BENCH_TOPIC_PREFIX, run, started),
    SESSIONIZER_GROUP_ID: `radstream-bench-${run}`,
    RADIUS_ACCT_HOST: '127.0.0.1',
    RADIUS_ACCT_PORT: String(await freePort()),
    COLLECTOR_METRICS_HOST: '127.0.0.1',
    COLLECTOR_METRICS_PORT: String(await freePort()),
    SESSIONIZER_METRICS_HOST: '127.0.0.1',
    SESSIONIZER_METRICS_PORT: String(await freePort()),
    API_METRICS_PORT: String(await freePort()),
    HOST: '127.0.0.1',
    PORT: String(await freePort()),
    LOG_LEVEL: 'warn',
    ...extra,
  }
  const settings = loadSettings({ ...process.env, ...env })
  await ensureStack({ settings, log: (message) => console.error(`stack: ${message}`) })
  // Earlier runs' topics only slow the broker down (it recovers every partition at start).
  const kafka = createKafka({ brokers: settings.kafka.brokers, clientId: 'radstream-bench' })
  await deleteScratchTopics(kafka, BENCH_TOPIC_PREFIX, (at) => at < started)
  const db = createDb({ url: settings.database.url, poolSize: 1 })
  await emptyTables(db)
  // A running installation holds the counter reports' day partitions of the past week and of the
  // three weeks ahead that live sessions are carried to (docs/usage.md): the batches write among
  // as many.
  await sql`select ensure_report_bucket(day::date) from generate_series((now() at time zone 'UTC')::date - 8,
    (now() at time zone 'UTC')::date + 21, interval '1 day') day`.execute(db)
  await upsertNasClient(db, { network: '127.0.0.1', secret: 'bench-secret', name: 'load generator' })
  await db.destroy()
  return { settings, env }
}

/** The pids of the local brokers in KAFKA_BROKERS, for CPU and memory figures (none when Kafka runs elsewhere). */
export function kafkaBrokerPids(settings: Settings): number[] {
  return settings.kafka.brokers
    .map((broker) => localNodePid(Number(/:(\d+)$/.exec(broker)?.[1])))
    .filter((pid): pid is number => pid !== undefined)
}
