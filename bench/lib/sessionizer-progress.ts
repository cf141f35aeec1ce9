import type { Settings } from '@radstream/config'
import { createKafka } from '@radstream/kafka'

/**
 * Whether the sessionizer has committed every record of the topic: it commits offsets only after
 * PostgreSQL has committed their batch. Asked of Kafka, which costs PostgreSQL nothing while it
 * catches up (polling the sessions table would).
 */
export async function sessionizerProgress(settings: Settings) {
  const admin = createKafka({ brokers: settings.kafka.brokers, clientId: 'radstream-bench-progress' }).admin()
  await admin.connect()
  return {
    async caughtUp(): Promise<boolean> {
      const [ends, committed] = await Promise.all([
        admin.fetchTopicOffsets(settings.kafka.topic),
        admin.fetchOffsets({ groupId: settings.sessionizer.groupId, topics: [settings.kafka.topic] }),
      ])
      const done = new Map(committed[0]?.partitions.map((p) => [p.partition, Number(p.offset)]) ?? [])
      return ends.every((end) => (done.get(end.partition) ?? -1) >= Number(end.high))
    },
    close: () => admin.disconnect(),
  }
}
