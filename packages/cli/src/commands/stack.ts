import { loadSettings } from '@radstream/config'
import type { SecureListeners } from '@radstream/stack'
import { loadLocalStack } from './local-stack'
import { parseCommandArgs, UsageError } from './shared'

const log = (message: string) => console.error(`stack: ${message}`)

/** Where `stack up --brokers N` puts node i: plaintext 9192 + 10 i, controller +1, SASL_SSL +2. */
export const CLUSTER_BASE_PORT = 9192
const CLUSTER_PORT_STEP = 10

function clusterPorts(brokers: number): number[] {
  return Array.from({ length: brokers }, (_, i) => CLUSTER_BASE_PORT + i * CLUSTER_PORT_STEP)
}

/** The environment that points radstream at the cluster, plaintext and SASL_SSL. */
function connectionHelp(ports: readonly number[], secure: SecureListeners | undefined): string {
  const lines = [`  plaintext: KAFKA_BROKERS=${ports.map((p) => `127.0.0.1:${p}`).join(',')}`]
  if (secure) {
    lines.push(
      `  SASL_SSL:  KAFKA_BROKERS=${secure.brokers.join(',')} KAFKA_TLS_CA_FILE=${secure.caFile} \\`,
      `             KAFKA_SASL_MECHANISM=scram-sha-512 KAFKA_SASL_USERNAME=${secure.username} KAFKA_SASL_PASSWORD_FILE=${secure.passwordFile}`,
    )
  }
  return lines.join('\n')
}

/**
 * `stack up` prepares what KAFKA_BROKERS and DATABASE_URL name (starting loopback brokers);
 * `stack up --brokers N` runs a local N-node cluster (SASL_SSL listener included) on ports 9192,
 * 9202, ... and prints how to point radstream at it. `down` stops either.
 */
export async function runStack(args: readonly string[]): Promise<void> {
  const { positionals, values } = parseCommandArgs({
    args: [...args],
    allowPositionals: true,
    options: { brokers: { type: 'string' } },
    strict: true,
  })
  const [action] = positionals
  const count = values.brokers === undefined ? undefined : Number(values.brokers)
  if (count !== undefined && (!Number.isInteger(count) || count < 1 || count > 9))
    throw new UsageError(`--brokers ${values.brokers}: expected 1 to 9`)
  if (action !== 'up' && action !== 'down') throw new UsageError('expected up or down')
  const settings = loadSettings()
  const { ensureLocalCluster, ensureStack, localClusterPorts, stopLocalCluster } = await loadLocalStack()
  if (action === 'up' && count !== undefined) {
    const ports = clusterPorts(count)
    const { secure } = await ensureLocalCluster({ ports, partitions: settings.kafka.partitions, log })
    log(`a ${count}-node Kafka cluster is running; point radstream at it with\n${connectionHelp(ports, secure)}`)
  } else if (action === 'up') {
    await ensureStack({ settings, log })
    log('ready')
  } else {
    const ports = count !== undefined ? clusterPorts(count) : localClusterPorts(settings)
    const stopped = ports ? await stopLocalCluster(ports, log) : 0
    log(
      stopped > 0
        ? `${stopped} Kafka node${stopped === 1 ? '' : 's'} stopped (PostgreSQL is the machine's own service and keeps running)`
        : 'no local Kafka node of ours is running there',
    )
  }
}
