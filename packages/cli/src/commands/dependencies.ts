import type { Settings } from '@radstream/config'
import { redactUrl, serverRefusal } from '@radstream/db'
import { portAccepts } from '@radstream/kafka'

/** What a process needs that is not there: named by the variable that says where it should be. */
export class DependencyUnavailable extends Error {
  readonly code = 'RADSTREAM_UNAVAILABLE'
  /** sysexits' EX_UNAVAILABLE: a supervisor can tell "start the database" from a crash. */
  readonly exitCode = 69
}

const LOCAL_HINT = '; on a development machine, `radstream up --local` (npm start) starts one here'

/**
 * Fails with one line naming the variable to set when PostgreSQL (DATABASE_URL) does not answer
 * or, where `kafka` is asked for, no broker of KAFKA_BROKERS takes a connection (credentials and
 * certificates are checked after, by the service, with their own message). Only looks: nothing is
 * installed, started or reconfigured.
 */
export async function requireDependencies(settings: Settings, { kafka }: { kafka: boolean }): Promise<void> {
  const [postgresFailure, kafkaUp] = await Promise.all([
    serverRefusal(settings.database.url),
    kafka
      ? Promise.all(settings.kafka.brokers.map((broker) => portAccepts(broker, 3000))).then((open) =>
          open.includes(true),
        )
      : Promise.resolve(true),
  ])
  if (postgresFailure !== undefined)
    throw new DependencyUnavailable(
      `PostgreSQL at DATABASE_URL=${redactUrl(settings.database.url)} does not answer (${postgresFailure}): set DATABASE_URL to a running server${LOCAL_HINT}`,
    )
  if (!kafkaUp)
    throw new DependencyUnavailable(
      `no Kafka broker answers at KAFKA_BROKERS=${settings.kafka.brokers.join(',')}: set KAFKA_BROKERS to a running cluster${LOCAL_HINT}`,
    )
}
