import type { Settings } from '@radstream/config'
import { createKafka, KafkaAdmin } from '@radstream/kafka'

/**
 * Whether the sessionizer has committed every record of the topic: it commits offsets only after
 * PostgreSQL has committed their batch. Asked of Kafka, which costs PostgreSQL nothing while it
 * catches up (polling the sessions table would).
 */
export async function sessionizerProgress(settings: Settings) {
  const admin = new KafkaAdmin(createKafka({ brokers: settings.kafka.brokers, clientId: 'radstream-bench-progress' }))
  return {
    async caughtUp(): Promise<boolean> {
      const [ends, done] = await Promise.all([
        admin.offsets(settings.kafka.topic),
        admin.committedOffsets(settings.sessionizer.groupId, settings.kafka.topic),
      ])
      // A partition no record was keyed to has no committed offset, and nothing to consume.
      return ends.every((end) => (done.get(end.partition) ?? end.low) >= end.high)
    },
    close: () => admin.close(),
  }
}
