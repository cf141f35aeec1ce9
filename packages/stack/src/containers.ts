import { createServer } from 'node:net'
import { GenericContainer, Wait, type StartedTestContainer } from 'testcontainers'
import { pinnedKafkaVersion } from './kafka-broker'

export interface ContainerStack {
  readonly databaseUrl: string
  readonly kafkaBrokers: string
  stop(): Promise<void>
}

const NO_RUNTIME = /Could not find a working container runtime strategy/

/** A TCP port on loopback that is free right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

/**
 * PostgreSQL and Kafka (the official apache/kafka image, KRaft, the same version as the local
 * broker) in containers, for machines with a Docker engine. Resolves undefined at once when there
 * is no container runtime, so the caller falls back to the local stack.
 */
export async function startContainerStack(log: (message: string) => void): Promise<ContainerStack | undefined> {
  let postgres: StartedTestContainer
  try {
    postgres = await new GenericContainer('postgres:16-alpine')
      .withEnvironment({ POSTGRES_PASSWORD: 'radstream', POSTGRES_DB: 'radstream_test' })
      .withExposedPorts(5432)
      .withWaitStrategy(Wait.forLogMessage(/database system is ready to accept connections/, 2))
      .start()
  } catch (error) {
    if (NO_RUNTIME.test(String((error as Error).message))) return undefined
    throw error
  }
  // Kafka advertises the address clients must dial, so the host port is chosen first and used
  // on both sides of the mapping.
  const kafkaPort = await freePort()
  log(`starting apache/kafka:${pinnedKafkaVersion()} in a container on 127.0.0.1:${kafkaPort}`)
  const kafka = await new GenericContainer(`apache/kafka:${pinnedKafkaVersion()}`)
    .withEnvironment({
      KAFKA_NODE_ID: '1',
      KAFKA_PROCESS_ROLES: 'broker,controller',
      KAFKA_LISTENERS: `PLAINTEXT://:${kafkaPort},CONTROLLER://:9093`,
      KAFKA_ADVERTISED_LISTENERS: `PLAINTEXT://127.0.0.1:${kafkaPort}`,
      KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
      KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
      KAFKA_CONTROLLER_QUORUM_VOTERS: '1@localhost:9093',
      KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
      KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
      KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
      KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
    })
    .withExposedPorts({ container: kafkaPort, host: kafkaPort })
    .withWaitStrategy(Wait.forLogMessage(/Kafka Server started/))
    .start()
  const databaseUrl = `postgres://postgres:radstream@${postgres.getHost()}:${postgres.getMappedPort(5432)}/radstream_test`
  return {
    databaseUrl,
    kafkaBrokers: `127.0.0.1:${kafkaPort}`,
    async stop() {
      await Promise.all([kafka.stop(), postgres.stop()])
    },
  }
}
