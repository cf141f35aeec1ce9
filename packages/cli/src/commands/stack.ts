import { loadSettings } from '@radstream/config'
import { ensureStack, stopLocalKafka } from '@radstream/stack'

const log = (message: string) => console.error(`stack: ${message}`)

/** The Kafka port of a single loopback broker in KAFKA_BROKERS, which is the one this project runs. */
function localKafkaPort(brokers: readonly string[]): number | undefined {
  const match = brokers.length === 1 ? /^(?:127\.0\.0\.1|localhost):(\d+)$/.exec(brokers[0]!) : null
  return match ? Number(match[1]) : undefined
}

export async function runStack([action]: readonly string[]): Promise<void> {
  const settings = loadSettings()
  if (action === 'up') {
    await ensureStack({ settings, log })
    log('ready')
  } else if (action === 'down') {
    const port = localKafkaPort(settings.kafka.brokers)
    const stopped = port !== undefined && (await stopLocalKafka(port, log))
    log(
      stopped
        ? "Kafka stopped (PostgreSQL is the machine's own service and keeps running)"
        : 'no local Kafka broker of ours is running',
    )
  } else {
    throw Object.assign(new Error('usage: radstream stack up|down'), { code: 'RADSTREAM_USAGE' })
  }
}
