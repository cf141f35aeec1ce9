import { connect } from 'node:net'
import type { TopicReplication } from '@radstream/config'
import { KafkaAdmin, withAdmin } from './admin'
import type { Kafka } from './client'
import { hasKafkaError } from './errors'

/** Error codes a broker answers while its metadata has not yet caught up with a new topic. */
const METADATA_NOT_READY = new Set(['UNKNOWN_TOPIC_OR_PARTITION', 'LEADER_NOT_AVAILABLE', 'NOT_LEADER_OR_FOLLOWER'])
const TOPIC_EXISTS = new Set(['TOPIC_ALREADY_EXISTS'])

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
async function ledTopicState(admin: KafkaAdmin, topic: string): Promise<TopicState | undefined> {
  try {
    const partitions = await admin.partitions(topic)
    if (partitions.length === 0 || partitions.some((p) => p.leader < 0)) return undefined
    const configs = await admin.topicConfigs(topic, ['min.insync.replicas'])
    const minInsyncReplicas = Number(configs.get('min.insync.replicas') ?? 1)
    const replicationFactor = Math.min(...partitions.map((p) => p.replicas.length))
    return { partitions: partitions.length, replicationFactor, minInsyncReplicas }
  } catch (error) {
    if (hasKafkaError(error, METADATA_NOT_READY)) return undefined
    throw error
  }
}

/** A topic as the cluster reports it: missing, without a leader somewhere, or its state. */
export type TopicInspection =
  | { readonly found: 'missing'; readonly brokers: number }
  | { readonly found: 'leaderless'; readonly brokers: number }
  | { readonly found: 'led'; readonly brokers: number; readonly state: TopicState }

/** Looks at a topic without creating or changing anything. */
export function inspectTopic(kafka: Kafka, topic: string): Promise<TopicInspection> {
  return withAdmin(kafka, async (admin) => {
    const brokers = (await admin.brokers()).length
    if (!(await admin.topics()).includes(topic)) return { found: 'missing', brokers }
    const state = await ledTopicState(admin, topic)
    return state ? { found: 'led', brokers, state } : { found: 'leaderless', brokers }
  })
}

/**
 * Creates the topic when missing, replicated as `options.replication` says (see resolveReplication),
 * and waits until it has a leader for every partition. An existing topic is left as it is, but a
 * warning says so when it is less durable than wanted. Safe to call from several processes at
 * once. Returns the topic's partitions and replication as the cluster reports them.
 *
 * A broker answers UNKNOWN_TOPIC_OR_PARTITION for a while after creating a topic when it is busy
 * (recovering many partitions after a crash, say), so the wait for leaders is ours, with a
 * deadline and a message that says what was waited for.
 */
export function ensureTopic(
  kafka: Kafka,
  topic: string,
  partitions: number,
  options: TopicOptions = {},
): Promise<TopicState> {
  const { timeoutMs = 60_000, settingPrefix = 'KAFKA_' } = options
  return withAdmin(kafka, async (admin) => {
    const brokers = (await admin.brokers()).length
    const wanted = resolveReplication(options.replication, brokers, settingPrefix)
    if (!(await admin.topics()).includes(topic)) {
      try {
        await admin.createTopic({
          topic,
          partitions,
          replicationFactor: wanted.replicationFactor,
          configs: { 'min.insync.replicas': String(wanted.minInsyncReplicas), ...options.configs },
        })
      } catch (error) {
        // Another process (a second collector starting beside this one) created it first.
        if (!hasKafkaError(error, TOPIC_EXISTS)) throw error
      }
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
        { topic, brokers, actual },
        `Kafka topic ${topic} has one replica: records are not replicated, and losing that broker's disk loses acknowledged records`,
      )
    }
    return actual
  })
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

/** Runs `ask` on a fresh admin client that does not retry; false when no broker port is open or it throws. */
async function askCluster(
  kafka: Kafka,
  brokers: readonly string[],
  ask: (admin: KafkaAdmin) => Promise<boolean>,
): Promise<boolean> {
  const open = await Promise.all(brokers.map((broker) => portAccepts(broker, 1000)))
  if (!open.includes(true)) return false
  return withAdmin(kafka, ask, 0).catch(() => false)
}

/** True when a broker answers a metadata request. A closed port answers false at once. */
export function isKafkaReachable(kafka: Kafka, brokers: readonly string[]): Promise<boolean> {
  return askCluster(kafka, brokers, async (admin) => {
    await admin.brokers()
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
    const [members, partitions] = await Promise.all([admin.brokers(), admin.partitions(topic)])
    const alive = await Promise.all(members.map((b) => portAccepts(`${b.host}:${b.port}`, 1000)))
    const live = new Set(members.filter((_, i) => alive[i]).map((b) => b.nodeId))
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
export function deleteScratchTopics(
  kafka: Kafka,
  prefix: string,
  chosen: (createdAt: number) => boolean,
): Promise<string[]> {
  return withAdmin(kafka, async (admin) => {
    const stale = (await admin.topics()).filter((topic) => {
      if (!topic.startsWith(prefix)) return false
      const created = Number(/^(\d+)-/.exec(topic.slice(prefix.length))?.[1])
      return Number.isFinite(created) && chosen(created)
    })
    await admin.deleteTopics(stale)
    return stale
  })
}
