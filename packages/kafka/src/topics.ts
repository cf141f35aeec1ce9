import { connect } from 'node:net'
import type { Admin, Kafka } from 'kafkajs'

/** Error codes a broker answers while its metadata has not yet caught up with a new topic. */
const METADATA_NOT_READY = new Set(['UNKNOWN_TOPIC_OR_PARTITION', 'LEADER_NOT_AVAILABLE', 'NOT_LEADER_OR_FOLLOWER'])

/** kafkajs wraps the broker's error in retry errors; the broker's code is at the end of the chain. */
function isMetadataLag(error: unknown): boolean {
  for (let e = error as { type?: unknown; cause?: unknown } | undefined; e; e = e.cause as typeof e) {
    if (typeof e.type === 'string' && METADATA_NOT_READY.has(e.type)) return true
  }
  return false
}

async function partitionsLed(admin: Admin, topic: string): Promise<boolean> {
  try {
    const [metadata] = (await admin.fetchTopicMetadata({ topics: [topic] })).topics
    return metadata !== undefined && metadata.partitions.length > 0 && metadata.partitions.every((p) => p.leader >= 0)
  } catch (error) {
    if (isMetadataLag(error)) return false
    throw error
  }
}

/**
 * Creates the topic when missing and waits until it has a leader for every partition. Safe to call
 * from several processes at once; an existing topic is left as it is.
 *
 * kafkajs's own `waitForLeaders` (on by default) gives up on UNKNOWN_TOPIC_OR_PARTITION, which a
 * broker answers for a while after creating a topic when it is busy, e.g. recovering many
 * partitions after a crash; so the wait is ours, with a deadline and a message that says what was
 * waited for.
 */
export async function ensureTopic(kafka: Kafka, topic: string, partitions: number, timeoutMs = 60_000): Promise<void> {
  const admin = kafka.admin()
  await admin.connect()
  try {
    const existing = await admin.listTopics()
    if (!existing.includes(topic)) {
      await admin.createTopics({
        waitForLeaders: false,
        topics: [{ topic, numPartitions: partitions, replicationFactor: -1 }],
      })
    }
    const deadline = Date.now() + timeoutMs
    while (!(await partitionsLed(admin, topic))) {
      if (Date.now() > deadline) {
        throw new Error(`Kafka topic ${topic}: partitions still without a leader after ${timeoutMs / 1000} s`)
      }
      await new Promise((resolve) => setTimeout(resolve, 200))
    }
  } finally {
    await admin.disconnect()
  }
}

function portAccepts(broker: string, timeoutMs: number): Promise<boolean> {
  const separator = broker.lastIndexOf(':')
  const host = broker.slice(0, separator).replace(/^\[|\]$/g, '')
  const port = Number(broker.slice(separator + 1))
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: timeoutMs })
    const done = (open: boolean) => {
      socket.destroy()
      resolve(open)
    }
    socket.once('connect', () => done(true))
    socket.once('timeout', () => done(false))
    socket.once('error', () => done(false))
  })
}

/**
 * True when a broker answers a metadata request. A closed port answers false at once: kafkajs
 * itself would keep retrying the connection for many seconds.
 */
export async function isKafkaReachable(kafka: Kafka, brokers: readonly string[]): Promise<boolean> {
  const open = await Promise.all(brokers.map((broker) => portAccepts(broker, 1000)))
  if (!open.includes(true)) return false
  const admin = kafka.admin({ retry: { retries: 0 } })
  try {
    await admin.connect()
    await admin.describeCluster()
    return true
  } catch {
    return false
  } finally {
    await admin.disconnect().catch(() => undefined)
  }
}

/**
 * Scratch topics (tests, benchmarks) are named `<prefix><epoch ms>-<purpose>` so that a later run
 * can tell how old a leftover is and remove it: every partition left behind slows the broker's
 * next start, which recovers them all.
 */
export function scratchTopic(prefix: string, purpose: string, now = Date.now()): string {
  return `${prefix}${now}-${purpose}`
}

/** Deletes the scratch topics under `prefix` (dead-letter topics included) whose creation time `chosen` picks. */
export async function deleteScratchTopics(
  kafka: Kafka,
  prefix: string,
  chosen: (createdAt: number) => boolean,
): Promise<string[]> {
  const admin = kafka.admin()
  await admin.connect()
  try {
    const stale = (await admin.listTopics()).filter((topic) => {
      if (!topic.startsWith(prefix)) return false
      const created = Number(/^(\d+)-/.exec(topic.slice(prefix.length))?.[1])
      return Number.isFinite(created) && chosen(created)
    })
    if (stale.length > 0) await admin.deleteTopics({ topics: stale })
    return stale
  } finally {
    await admin.disconnect()
  }
}
