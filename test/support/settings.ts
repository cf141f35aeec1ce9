import { inject } from 'vitest'
import { loadSettings, type Settings } from '@radstream/config'

/**
 * Settings for services started inside a test: the run's database and topic, ephemeral ports,
 * and a consumer group of the test's own so that each test's sessionizer reads the topic whole.
 */
export function testSettings(overrides: Record<string, string> = {}): Settings {
  return loadSettings({
    ...process.env,
    DATABASE_URL: inject('databaseUrl'),
    KAFKA_BROKERS: inject('kafkaBrokers'),
    KAFKA_TOPIC: inject('topic'),
    KAFKA_TOPIC_PARTITIONS: '4',
    RADIUS_ACCT_HOST: '127.0.0.1',
    RADIUS_ACCT_PORT: '0',
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
    SESSIONIZER_GROUP_ID: `radstream-test-${Math.random().toString(36).slice(2)}`,
    NAS_REFRESH_MS: '200',
    // Sweeps run only where a test calls them, so no test's open sessions close under another.
    STALE_SWEEP_INTERVAL_MS: '86400000',
    RETENTION_SWEEP_INTERVAL_MS: '86400000',
    COLLECTOR_METRICS_HOST: '127.0.0.1',
    COLLECTOR_METRICS_PORT: '0',
    SESSIONIZER_METRICS_HOST: '127.0.0.1',
    SESSIONIZER_METRICS_PORT: '0',
    API_METRICS_HOST: '127.0.0.1',
    API_METRICS_PORT: '0',
    ...overrides,
  })
}
