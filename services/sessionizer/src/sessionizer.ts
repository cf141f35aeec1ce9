import type { Logger, Settings } from '@radstream/config'
import type { Transaction } from 'kysely'
import { createDb, insertAuditEvents, type Database, type Db } from '@radstream/db'
import { deadLetter, decodeRecord, RecordSchemaError, type AccountingRecord } from '@radstream/events'
import { createKafka, ensureTopic, Partitioners, type EachBatchPayload, type Producer } from '@radstream/kafka'
import { applyBatch } from './apply-batch'
import { deadLettered } from './audit-events'
import { closeStaleSessions, deleteExpired } from './maintenance'

export interface RunningSessionizer {
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
  const db = createDb({
    url: settings.database.url,
    poolSize: config.partitionsConcurrently + 2,
    applicationName: 'radstream-sessionizer',
  })
  const kafka = createKafka({
    brokers: settings.kafka.brokers,
    clientId: `${settings.kafka.clientId}-sessionizer`,
    logger: log,
  })
  await ensureTopic(kafka, settings.kafka.topic, settings.kafka.partitions)
  await ensureTopic(kafka, config.deadLetterTopic, 1)
  const deadLetters: Producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
    // The sessionizer cannot move past a poison record until its dead letter is written.
    retry: { retries: Number.MAX_SAFE_INTEGER, maxRetryTime: 10_000 },
  })
  await deadLetters.connect()
  const consumer = kafka.consumer({
    groupId: config.groupId,
    allowAutoTopicCreation: false,
    sessionTimeout: config.sessionTimeoutMs,
    minBytes: config.fetchMinBytes,
    maxWaitTimeInMs: config.fetchWaitMs,
    heartbeatInterval: Math.min(3000, Math.floor(config.sessionTimeoutMs / 3)),
  })
  await consumer.connect()
  await consumer.subscribe({ topic: settings.kafka.topic, fromBeginning: true })

  async function processBatch({
    batch,
    heartbeat,
    isRunning,
    isStale,
    resolveOffset,
  }: EachBatchPayload): Promise<void> {
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
    log.debug({ partition: batch.partition, records: records.length, ...outcome, next }, 'batch committed')
  }

  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: config.partitionsConcurrently,
    eachBatch: processBatch,
  })
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
  log.info(
    { topic: settings.kafka.topic, groupId: config.groupId, deadLetterTopic: config.deadLetterTopic },
    'sessionizer consuming',
  )

  return {
    async stop() {
      log.info('sessionizer stopping')
      await consumer.disconnect()
      await Promise.all(stopSweeps.map((stop) => stop()))
      await deadLetters.disconnect()
      await db.destroy()
      log.info('sessionizer stopped')
    },
  }
}
