import { connect } from 'node:net'
import kafkajs, { type Admin, type Kafka } from 'kafkajs'
import type { TopicReplication } from '@radstream/config'

/** Error codes a broker answers while its metadata has not yet caught up with a new topic. */
const METADATA_NOT_READY = new Set(['UNKNOWN_TOPIC_OR_PARTITION', 'LEADER_NOT_AVAILABLE', 'NOT_LEADER_OR_FOLLOWER'])

/** kafkajs wraps the broker's error in retry errors; the broker's code is at the end of the chain. */
function isMetadataLag(error: unknown): boolean {
  for (let e = error as { type?: unknown; cause?: unknown } | undefined; e; e = e.cause as typeof e) {
    if (typeof e.type === 'string' && METADATA_NOT_READY.has(e.type)) return true
  }
  return false
}

export interface TopicOptions {
  /** Wanted replication; unset parts are chosen from the cluster's size. */
  readonly replication?: TopicReplication
  /** Names the settings in errors and warnings: `KAFKA_` or `KAFKA_DEAD_LETTER_`. */
  readonly settingPrefix?: string
  /** Told when the topic is, or would be, less durable than wanted. */
  readonly warn?: (details: Record<string, unknown>, message: string) => void
  readonly timeoutMs?: number
  /** Topic settings to create it with (retention.ms, ...); an existing topic keeps its own. */
  readonly configs?: Readonly<Record<string, string>>
}

/** How a topic is replicated, as the cluster reports it. */
export interface TopicDurability {
  readonly replicationFactor: number
  readonly minInsyncReplicas: number
}

/** A topic as the cluster reports it: its partitions and its replication. */
export interface TopicState extends TopicDurability {
  readonly partitions: number
}

/** A replication setting the cluster cannot honour, such as more replicas than brokers. */
export class TopicReplicationError extends Error {
  override readonly name = 'TopicReplicationError'
  readonly code = 'RADSTREAM_KAFKA_REPLICATION'
}

/**
 * The replication a new topic gets: as configured, else 3 replicas where the cluster has 3 brokers
 * or more (every broker it has, where fewer) and 2 in sync when replicated at all, so an
 * acknowledged record survives the loss of any one broker.
 */
export function resolveReplication(
  wanted: TopicReplication | undefined,
  brokers: number,
  prefix = 'KAFKA_',
): TopicDurability {
  const replicationFactor = wanted?.replicationFactor ?? Math.min(3, brokers)
  if (replicationFactor > brokers) {
    throw new TopicReplicationError(
      `${prefix}REPLICATION_FACTOR=${replicationFactor} but the Kafka cluster has ${brokers} broker${brokers === 1 ? '' : 's'}`,
    )
  }
  const minInsyncReplicas = wanted?.minInsyncReplicas ?? (replicationFactor >= 2 ? 2 : 1)
  if (minInsyncReplicas > replicationFactor) {
    throw new TopicReplicationError(
      `${prefix}MIN_INSYNC_REPLICAS=${minInsyncReplicas} exceeds the replication factor ${replicationFactor} (the cluster has ${brokers} broker${brokers === 1 ? '' : 's'})`,
    )
  }
  return { replicationFactor, minInsyncReplicas }
}

/**
 * The topic as the cluster reports it once every partition has a leader; undefined until then,
 * including while the broker asked does not know the topic yet (in a cluster, the broker asked
 * next may not know a topic another has just created).
 */
async function ledTopicState(admin: Admin, topic: string): Promise<TopicState | undefined> {
  try {
    const [metadata] = (await admin.fetchTopicMetadata({ topics: [topic] })).topics
    if (!metadata || metadata.partitions.length === 0 || metadata.partitions.some((p) => p.leader < 0)) return undefined
    const { resources } = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [{ type: kafkajs.ConfigResourceTypes.TOPIC, name: topic, configNames: ['min.insync.replicas'] }],
    })
    const minInsyncReplicas = Number(
      resources[0]?.configEntries.find((e) => e.configName === 'min.insync.replicas')?.configValue ?? 1,
    )
    const replicationFactor = Math.min(...metadata.partitions.map((p) => p.replicas.length))
    return { partitions: metadata.partitions.length, replicationFactor, minInsyncReplicas }
  } catch (error) {
    if (isMetadataLag(error)) return undefined
    throw error
  }
}

/** A topic as the cluster reports it: missing, without a leader somewhere, or its state. */
export type TopicInspection =
  | { readonly found: 'missing'; readonly brokers: number }
  | { readonly found: 'leaderless'; readonly brokers: number }
  | { readonly found: 'led'; readonly brokers: number; readonly state: TopicState }

/** Looks at a topic without creating or changing anything. */
export async function inspectTopic(kafka: Kafka, topic: string): Promise<TopicInspection> {
  const admin = kafka.admin()
  await admin.connect()
  try {
    const brokers = (await admin.describeCluster()).brokers.length
    if (!(await admin.listTopics()).includes(topic)) return { found: 'missing', brokers }
    const state = await ledTopicState(admin, topic)
    return state ? { found: 'led', brokers, state } : { found: 'leaderless', brokers }
  } finally {
    await admin.disconnect()
  }
}

/**
 * Creates the topic when missing, replicated as `options.replication` says (see resolveReplication),
 * and waits until it has a leader for every partition. An existing topic is left as it is, but a
 * warning says so when it is less durable than wanted. Safe to call from several processes at
 * once. Returns the topic's partitions and replication as the cluster reports them.
 *
 * kafkajs's own `waitForLeaders` (on by default) gives up on UNKNOWN_TOPIC_OR_PARTITION, which a
 * broker answers for a while after creating a topic when it is busy, e.g. recovering many
 * partitions after a crash; so the wait is ours, with a deadline and a message that says what was
 * waited for.
 */
export async function ensureTopic(
  kafka: Kafka,
  topic: string,
  partitions: number,
  options: TopicOptions = {},
): Promise<TopicState> {
  const { timeoutMs = 60_000, settingPrefix = 'KAFKA_' } = options
  const admin = kafka.admin()
  await admin.connect()
  try {
    const { brokers } = await admin.describeCluster()
    const wanted = resolveReplication(options.replication, brokers.length, settingPrefix)
    const existing = await admin.listTopics()
    if (!existing.includes(topic)) {
      await admin.createTopics({
        waitForLeaders: false,
        topics: [
          {
            topic,
            numPartitions: partitions,
            replicationFactor: wanted.replicationFactor,
            configEntries: [
              { name: 'min.insync.replicas', value: String(wanted.minInsyncReplicas) },
              ...Object.entries(options.configs ?? {}).map(([name, value]) => ({ name, value })),
            ],
          },
        ],
      })
    }
    const deadline = Date.now() + timeoutMs
    let actual: TopicState | undefined
    while ((actual = await ledTopicState(admin, topic)) === undefined) {
      if (Date.now() > deadline) {
        throw new Error(`Kafka topic ${topic}: partitions still without a leader after ${timeoutMs / 1000} s`)
      }
      await new Promise((resolve) => setTimeout(resolve, 200))
    }
    if (actual.replicationFactor < wanted.replicationFactor || actual.minInsyncReplicas < wanted.minInsyncReplicas) {
      options.warn?.(
        { topic, actual, wanted },
        `Kafka topic ${topic} exists with weaker durability than ${settingPrefix}REPLICATION_FACTOR/${settingPrefix}MIN_INSYNC_REPLICAS ask; it is used as it is: raise its replicas and min.insync.replicas with Kafka's tools`,
      )
    } else if (actual.replicationFactor === 1) {
      options.warn?.(
        { topic, brokers: brokers.length, actual },
        `Kafka topic ${topic} has one replica: records are not replicated, and losing that broker's disk loses acknowledged records`,
      )
    }
    return actual
  } finally {
    await admin.disconnect()
  }
}

/** True when a TCP connection to `host:port` opens within `timeoutMs`. */
export function portAccepts(broker: string, timeoutMs: number): Promise<boolean> {
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

/** Runs `ask` on a fresh admin client without retries; false when no broker port is open or it throws. */
async function askCluster(
  kafka: Kafka,
  brokers: readonly string[],
  ask: (admin: Admin) => Promise<boolean>,
): Promise<boolean> {
  const open = await Promise.all(brokers.map((broker) => portAccepts(broker, 1000)))
  if (!open.includes(true)) return false
  const admin = kafka.admin({ retry: { retries: 0 } })
  try {
    await admin.connect()
    return await ask(admin)
  } catch {
    return false
  } finally {
    await admin.disconnect().catch(() => undefined)
  }
}

/**
 * True when a broker answers a metadata request. A closed port answers false at once: kafkajs
 * itself would keep retrying the connection for many seconds.
 */
export function isKafkaReachable(kafka: Kafka, brokers: readonly string[]): Promise<boolean> {
  return askCluster(kafka, brokers, async (admin) => {
    await admin.describeCluster()
    return true
  })
}

/**
 * True when every partition of `topic` has a live leader and at least `minInsyncReplicas` live
 * replicas in sync: what an acks=all write needs. Live means the broker's port accepts a
 * connection now: a cluster that has lost its controller quorum (2 of 3 combined nodes down) keeps
 * answering with the metadata it had, dead leaders and followers included, and takes no write.
 */
export function isTopicWritable(
  kafka: Kafka,
  brokers: readonly string[],
  topic: string,
  minInsyncReplicas: number,
): Promise<boolean> {
  return askCluster(kafka, brokers, async (admin) => {
    const [{ brokers: members }, { topics }] = await Promise.all([
      admin.describeCluster(),
      admin.fetchTopicMetadata({ topics: [topic] }),
    ])
    const alive = await Promise.all(members.map((b) => portAccepts(`${b.host}:${b.port}`, 1000)))
    const live = new Set(members.filter((_, i) => alive[i]).map((b) => b.nodeId))
    const partitions = topics[0]?.partitions ?? []
    return (
      partitions.length > 0 &&
      partitions.every((p) => live.has(p.leader) && p.isr.filter((id) => live.has(id)).length >= minInsyncReplicas)
    )
  })
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
