import type { Logger, Settings } from '@radstream/config'
import type { Transaction } from 'kysely'
import { createDb, insertAuditEvents, type Database, type Db } from '@radstream/db'
import { deadLetter, decodeRecord, RecordSchemaError, type AccountingRecord } from '@radstream/events'
import {
  createKafka,
  ensureTopic,
  Partitioners,
  type Consumer,
  type EachBatchPayload,
  type Producer,
  verifyKafkaAccess,
} from '@radstream/kafka'
import type { AddressInfo } from 'node:net'
import { startOpsServer } from '@radstream/ops'
import { applyBatch } from './apply-batch'
import { deadLettered } from './audit-events'
import { AssignmentWatch } from './assignment-watch'
import { ConsumerWatchdog } from './consumer-watchdog'
import { closeStaleSessions, deleteExpired } from './maintenance'
import { SessionizerMetrics } from './metrics'

export interface RunningSessionizer {
  /** The HTTP port of /metrics, /healthz and /readyz. */
  readonly metricsPort: number
  readonly metrics: SessionizerMetrics
  /** Finishes the batch in hand (commit, then offsets), leaves the group and closes. */
  stop(): Promise<void>
}

const DEADLOCK_RETRIES = 5
const RETRYABLE = new Set(['40001', '40P01']) // serialization failure, deadlock

/** Runs `work` in a transaction, again when PostgreSQL chose it as a deadlock or serialization victim. */
async function inTransaction<T>(db: Db, work: (tx: Transaction<Database>) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.transaction().execute(work)
    } catch (error) {
      const code = (error as { code?: string }).code
      if (!code || !RETRYABLE.has(code) || attempt >= DEADLOCK_RETRIES) throw error
    }
  }
}

/** Repeats `job` every `intervalMs` until stopped; a failed run is logged and tried next time. */
function every(intervalMs: number, job: () => Promise<void>, log: Logger): () => Promise<void> {
  let running: Promise<void> | undefined
  const timer = setInterval(() => {
    running ??= job()
      .catch((error: unknown) => log.error({ err: error }, 'maintenance job failed'))
      .finally(() => (running = undefined))
  }, intervalMs)
  timer.unref()
  return async () => {
    clearInterval(timer)
    await running
  }
}

export async function startSessionizer(settings: Settings, logger: Logger): Promise<RunningSessionizer> {
  const config = settings.sessionizer
  const log = logger.child({ component: 'sessionizer' })
  const metrics = new SessionizerMetrics()
  const db = createDb({
    url: settings.database.url,
    poolSize: config.partitionsConcurrently + 2,
    applicationName: 'radstream-sessionizer',
  })
  await verifyKafkaAccess(settings.kafka)
  const kafka = createKafka({ ...settings.kafka, clientId: `${settings.kafka.clientId}-sessionizer`, logger: log })
  const warn = (details: Record<string, unknown>, message: string) => log.warn(details, message)
  const topic = await ensureTopic(kafka, settings.kafka.topic, settings.kafka.partitions, {
    replication: settings.kafka.replication,
    warn,
  })
  await ensureTopic(kafka, config.deadLetterTopic, 1, {
    replication: settings.kafka.deadLetterReplication,
    settingPrefix: 'KAFKA_DEAD_LETTER_',
    warn,
  })
  const deadLetters: Producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
    // The sessionizer cannot move past a poison record until its dead letter is written.
    retry: { retries: Number.MAX_SAFE_INTEGER, maxRetryTime: 10_000 },
  })
  await deadLetters.connect()

  /** One batch of one partition; offsets are committed through the consumer that fetched it. */
  async function processBatch(
    consumer: Consumer,
    { batch, heartbeat, isRunning, isStale, resolveOffset }: EachBatchPayload,
  ): Promise<void> {
    if (!isRunning() || isStale() || batch.messages.length === 0) return
    const records: AccountingRecord[] = []
    const rejected: { offset: string; reason: string }[] = []
    for (const message of batch.messages) {
      try {
        records.push(decodeRecord(message.value))
      } catch (error) {
        if (!(error instanceof RecordSchemaError)) throw error
        const source = { topic: batch.topic, partition: batch.partition, offset: message.offset }
        rejected.push({ offset: message.offset, reason: error.message })
        await deadLetters.send({
          topic: config.deadLetterTopic,
          acks: -1,
          messages: [{ key: message.key, value: JSON.stringify(deadLetter(source, message, error.message)) }],
        })
        metrics.deadLettered.inc()
        log.warn(source, 'record sent to the dead-letter topic: %s', error.message)
      }
    }
    // One transaction per batch; offsets only after it commits, so a crash replays the batch and
    // the idempotent session rules and audit keys make the replay change nothing.
    const outcome = await inTransaction(db, async (tx) => {
      const applied = await applyBatch(tx, records)
      await insertAuditEvents(
        tx,
        rejected.map((r) =>
          deadLettered({ topic: batch.topic, partition: batch.partition, offset: r.offset }, r.reason),
        ),
      )
      return applied
    })
    const next = (BigInt(batch.lastOffset()) + 1n).toString()
    await consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: next }])
    resolveOffset(batch.lastOffset())
    await heartbeat()
    metrics.batches.inc()
    metrics.recordsApplied.inc(records.length)
    log.debug({ partition: batch.partition, records: records.length, ...outcome, next }, 'batch committed')
  }

  // As long as the default (60 s) at the default session timeout; shorter with a shorter one.
  const rebalanceTimeoutMs = 2 * config.sessionTimeoutMs
  const assignment = new AssignmentWatch({
    topic: settings.kafka.topic,
    graceMs: rebalanceTimeoutMs,
    onAssigned: (partitions) => metrics.assignedPartitions.set(partitions),
    onIdle: (idleMs) =>
      log.warn(
        { groupId: config.groupId, topic: settings.kafka.topic, partitions: topic.partitions, idleMs },
        'this sessionizer holds no partition of its topic: its group has more members than the topic has partitions, or the group is shared with consumers of another topic (give each deployment its own SESSIONIZER_GROUP_ID); it writes nothing and reports not ready',
      ),
  })
  metrics.unassignedMs = () => assignment.idleMs
  const watchdog = new ConsumerWatchdog(config.sessionTimeoutMs + rebalanceTimeoutMs, (silentMs) => {
    log.error(
      { silentMs, groupId: config.groupId },
      'Kafka consumer silent past its session and rebalance timeouts (stuck out of its group); replacing it',
    )
    replacing = replaceConsumer().catch((error: unknown) => log.error({ err: error }, 'replacing the consumer failed'))
  })

  async function startConsumer(): Promise<Consumer> {
    const consumer = kafka.consumer({
      groupId: config.groupId,
      allowAutoTopicCreation: false,
      sessionTimeout: config.sessionTimeoutMs,
      rebalanceTimeout: rebalanceTimeoutMs,
      minBytes: config.fetchMinBytes,
      maxWaitTimeInMs: config.fetchWaitMs,
      heartbeatInterval: Math.min(3000, Math.floor(config.sessionTimeoutMs / 3)),
    })
    watchdog.watch(consumer)
    assignment.watch(consumer)
    await consumer.connect()
    await consumer.subscribe({ topic: settings.kafka.topic, fromBeginning: true })
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: config.partitionsConcurrently,
      eachBatch: (payload) => watchdog.during(() => processBatch(consumer, payload)),
    })
    return consumer
  }

  /**
   * A new consumer (a new group member) in place of a stuck one. The old one is disconnected if it
   * lets itself be within 10 s, else abandoned: were it ever to wake, it would be one more member
   * of the group, and a batch written twice changes nothing.
   */
  async function replaceConsumer(): Promise<void> {
    const stuck = consumer
    const disconnected = await Promise.race([
      stuck.disconnect().then(() => true),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 10_000).unref()),
    ])
    if (!disconnected) log.warn('the stuck consumer did not disconnect within 10 s; abandoning it')
    consumer = await startConsumer()
    log.info({ groupId: config.groupId }, 'Kafka consumer replaced')
  }

  let replacing: Promise<void> | undefined
  let consumer = await startConsumer()
  const stopSweeps = [
    every(
      config.staleSweepIntervalMs,
      async () => {
        const closed = await closeStaleSessions(db, {
          interimMultiplier: config.staleInterimMultiplier,
          withoutInterimSeconds: config.staleWithoutInterimSeconds,
        })
        if (closed > 0) log.info({ closed }, 'stale sessions closed as Lost-Carrier')
      },
      log,
    ),
    every(
      config.retentionSweepIntervalMs,
      async () => {
        const removed = await deleteExpired(db, config.retentionDays)
        if (removed.sessions + removed.auditEvents > 0)
          log.info({ ...removed, retentionDays: config.retentionDays }, 'expired rows removed')
      },
      log,
    ),
  ]
  const ops = await startOpsServer(config.metricsHost, config.metricsPort, {
    registry: metrics.registry,
    ready: () => assignment.ready,
  })
  const metricsPort = (ops.address() as AddressInfo).port
  log.info(
    { topic: settings.kafka.topic, groupId: config.groupId, deadLetterTopic: config.deadLetterTopic, metricsPort },
    'sessionizer consuming',
  )

  return {
    metricsPort,
    metrics,
    async stop() {
      log.info('sessionizer stopping')
      watchdog.stop()
      assignment.stop()
      await replacing
      await consumer.disconnect()
      await Promise.all(stopSweeps.map((stop) => stop()))
      await deadLetters.disconnect()
      await new Promise<void>((resolve) => ops.close(() => resolve()))
      await db.destroy()
      log.info('sessionizer stopped')
    },
  }
}
