import type { Logger, Settings } from '@radstream/config'
import {
  auditLanes,
  sealAuditLanes,
  type AuditSeal,
  createDb,
  insertAuditEvents,
  learntCadences,
  notifySessionEvents,
  type NewAuditEvent,
} from '@radstream/db'
import { deadLetter, decodeRecord, RecordSchemaError, type AccountingRecord } from '@radstream/events'
import {
  createKafka,
  ensureTopic,
  GroupConsumer,
  RecordProducer,
  type ConsumedRecord,
  type RecordBatch,
  verifyKafkaAccess,
} from '@radstream/kafka'
import { appendFile } from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import { startOpsServer } from '@radstream/ops'
import { applyBatch, type BatchOptions } from './apply-batch'
import { isLegacyKey } from './keying-lock'
import { deadLettered } from './audit-events'
import { AssignmentWatch } from './assignment-watch'
import { AuditChainWatch } from './audit-chain-watch'
import { ConsumerLag } from './consumer-lag'
import { inTransaction } from './in-transaction'
import { closeStaleSessions, deleteExpiredActivityMinutes, manageMonthPartitions } from './maintenance'
import { archiveSealedSessions } from './session-archive'
import { manageReportBuckets } from './report-buckets'
import { SessionizerMetrics } from './metrics'

export interface RunningSessionizer {
  /** The HTTP port of /metrics, /healthz and /readyz. */
  readonly metricsPort: number
  readonly metrics: SessionizerMetrics
  /** Finishes the batch in hand (commit, then offsets), leaves the group and closes. */
  stop(): Promise<void>
}

/**
 * SQLSTATE classes that say a value cannot be stored, whatever the retry: 22 data exception (an
 * invalid cidr, a number out of range, a NUL in text), 23 integrity constraint violation. Anything
 * else (a lost connection, a deadlock, a full disk, a schema bug) fails the batch, which is tried
 * again: a bug must stop the partition, not dead-letter the whole stream.
 */
const REFUSED_VALUE_CLASSES = new Set(['22', '23'])

/** Why PostgreSQL refused a value, when it did; undefined for failures a retry may mend. */
function refusalReason(error: unknown): string | undefined {
  const { code, message } = error as { code?: unknown; message?: unknown }
  if (typeof code !== 'string' || !REFUSED_VALUE_CLASSES.has(code.slice(0, 2))) return undefined
  return `PostgreSQL refused the record: ${String(message)} (SQLSTATE ${code})`
}

interface DecodedEntry {
  readonly record: AccountingRecord
  readonly message: ConsumedRecord
}

type RecordSource = { topic: string; partition: number; offset: string }

/**
 * Repeats the maintenance job `sweep` every `intervalMs` until stopped; a failed run is logged and
 * tried next time. Each run is counted by its outcome.
 */
function every(
  sweep: 'stale' | 'retention' | 'audit_verify' | 'audit_seal',
  intervalMs: number,
  job: () => Promise<void>,
  log: Logger,
  metrics: SessionizerMetrics,
): () => Promise<void> {
  let running: Promise<void> | undefined
  const timer = setInterval(() => {
    running ??= job()
      .then(
        () => metrics.sweeps.inc({ sweep, outcome: 'ok' }),
        (error: unknown) => {
          metrics.sweeps.inc({ sweep, outcome: 'failed' })
          log.error({ err: error, sweep }, 'maintenance job failed')
        },
      )
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
  const kafka = createKafka(settings.kafka)
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
  // Seals are kept for ever: verification reads them all.
  await ensureTopic(kafka, config.auditSealTopic, 1, {
    replication: settings.kafka.deadLetterReplication,
    settingPrefix: 'KAFKA_DEAD_LETTER_',
    configs: { 'retention.ms': '-1', 'retention.bytes': '-1' },
    warn,
  })
  // Retried for ever: the sessionizer cannot move past a poison record until its dead letter is written.
  const deadLetters = new RecordProducer(kafka, 'sessionizer-dead-letters', { idempotent: true, retries: true })
  const lag = new ConsumerLag(kafka, settings.kafka.topic, config.groupId)
  metrics.lag = () => lag.partitions()
  metrics.nasCadences = () => learntCadences(db)

  /** A seal to where the database cannot rewrite it: the seal topic (acks=all), and the seal file if set. */
  async function publishSeal(seal: AuditSeal): Promise<void> {
    await deadLetters.send([{ topic: config.auditSealTopic, partition: 0, key: 'seal', value: JSON.stringify(seal) }])
    if (config.auditSealFile) await appendFile(config.auditSealFile, `${JSON.stringify(seal)}\n`)
  }

  async function sendDeadLetter(source: RecordSource, message: ConsumedRecord, reason: string): Promise<void> {
    await deadLetters.send([
      {
        topic: config.deadLetterTopic,
        partition: 0,
        key: message.key,
        value: JSON.stringify(deadLetter(source, message, reason)),
      },
    ])
    metrics.deadLettered.inc()
    log.warn(source, 'record sent to the dead-letter topic: %s', reason)
  }

  /**
   * Applies records in one transaction; when PostgreSQL refuses them for a reason no retry can
   * mend (a value it cannot store), halves the run and tries each half, down to the single
   * records at fault, which are returned: so one odd packet costs its own record, not the
   * partition. The session rules are commutative and idempotent, so applying halves in their own
   * transactions gives the rows one transaction would.
   */
  async function applyIsolating(
    entries: readonly DecodedEntry[],
    auditEvents: readonly NewAuditEvent[],
    options: Required<BatchOptions>,
  ): Promise<{ sessionsWritten: number; refused: { entry: DecodedEntry; reason: string }[] }> {
    try {
      const outcome = await inTransaction(db, async (tx) => {
        const applied = await applyBatch(
          tx,
          entries.map((e) => e.record),
          options,
        )
        await insertAuditEvents(tx, auditEvents, options.lane)
        return applied
      })
      metrics.lockWaitSeconds.observe(outcome.lockWaitMs / 1000)
      metrics.archivedPackets.inc(outcome.archivedPackets)
      // After the commit, not in the batch's transaction: PostgreSQL serialises the commits of
      // transactions that notify (a global lock on the notice queue). A notice lost to a crash
      // here is a live view that refreshes late; the rows are committed either way.
      await notifySessionEvents(db, outcome.notice)
      return { sessionsWritten: outcome.sessionsWritten, refused: [] }
    } catch (error) {
      const reason = refusalReason(error)
      if (reason === undefined) throw error
      if (entries.length === 1 && auditEvents.length === 0)
        return { sessionsWritten: 0, refused: [{ entry: entries[0]!, reason }] }
      const middle = Math.ceil(entries.length / 2)
      const parts = [entries.slice(0, middle), entries.slice(middle)].filter((part) => part.length > 0)
      const results = []
      for (const part of parts) results.push(await applyIsolating(part, [], options))
      // The batch's own audit events (schema rejects) are not at fault: written apart.
      if (auditEvents.length > 0) await inTransaction(db, (tx) => insertAuditEvents(tx, auditEvents, options.lane))
      return {
        sessionsWritten: results.reduce((sum, r) => sum + r.sessionsWritten, 0),
        refused: results.flatMap((r) => r.refused),
      }
    }
  }

  /** One batch of one partition; the consumer commits its offsets once this resolves. */
  async function processBatch(batch: RecordBatch): Promise<void> {
    lag.fetched(batch.partition, Number(batch.records[0]!.timestamp))
    const where = (offset: bigint): RecordSource => ({
      topic: batch.topic,
      partition: batch.partition,
      offset: String(offset),
    })
    const entries: DecodedEntry[] = []
    const rejected: NewAuditEvent[] = []
    for (const message of batch.records) {
      try {
        entries.push({ record: decodeRecord(message.value ?? null), message })
      } catch (error) {
        if (!(error instanceof RecordSchemaError)) throw error
        await sendDeadLetter(where(message.offset), message, error.message)
        rejected.push(deadLettered(where(message.offset), error.message))
      }
    }
    // One transaction per batch; offsets only after it commits, so a crash replays the batch and
    // the idempotent session rules and audit keys make the replay change nothing.
    const transaction = metrics.transactionSeconds.startTimer()
    const lane = auditLanes.partition(batch.partition)
    const legacyKeys = batch.records.some((message) => isLegacyKey(message.key))
    const outcome = await applyIsolating(entries, rejected, { lane, legacyKeys })
    transaction()
    if (outcome.refused.length > 0) {
      for (const { entry, reason } of outcome.refused)
        await sendDeadLetter(where(entry.message.offset), entry.message, reason)
      await inTransaction(db, (tx) =>
        insertAuditEvents(
          tx,
          outcome.refused.map(({ entry, reason }) => deadLettered(where(entry.message.offset), reason)),
          lane,
        ),
      )
    }
    metrics.batches.inc()
    metrics.recordsApplied.inc(entries.length - outcome.refused.length)
    log.debug(
      { partition: batch.partition, records: batch.records.length, sessionsWritten: outcome.sessionsWritten },
      'batch applied',
    )
  }

  // As long as the default (60 s) at the default session timeout; shorter with a shorter one.
  const rebalanceTimeoutMs = 2 * config.sessionTimeoutMs
  const assignment = new AssignmentWatch({
    graceMs: rebalanceTimeoutMs,
    onAssigned: (partitions) => metrics.assignedPartitions.set(partitions),
    onIdle: (idleMs) =>
      log.warn(
        { groupId: config.groupId, topic: settings.kafka.topic, partitions: topic.partitions, idleMs },
        'this sessionizer holds no partition of its topic: its group has more members than the topic has partitions, or the group is shared with consumers of another topic (give each deployment its own SESSIONIZER_GROUP_ID); it writes nothing and reports not ready',
      ),
  })
  metrics.unassignedMs = () => assignment.idleMs
  const consumer = new GroupConsumer(kafka, {
    groupId: config.groupId,
    topic: settings.kafka.topic,
    sessionTimeoutMs: config.sessionTimeoutMs,
    rebalanceTimeoutMs,
    minBytes: config.fetchMinBytes,
    maxWaitMs: config.fetchWaitMs,
    concurrency: config.partitionsConcurrently,
    maxBatch: config.maxBatch,
    onBatch: processBatch,
    onAssigned: (partitions) => {
      assignment.assigned(partitions.length)
      lag.assigned(partitions)
    },
    onCommitted: (batch, fetchedBehind) =>
      lag.committed(batch.partition, Number(batch.records.at(-1)!.timestamp), fetchedBehind),
    onBatchFailed: (error, details) =>
      log.error({ err: error, ...details }, 'batch not applied; it is tried again (records stay in Kafka)'),
    onTrouble: (details, message) => log.warn(details, message),
  })

  const auditChain = new AuditChainWatch(db)
  await consumer.start()
  const stopSweeps = [
    every(
      'stale',
      config.staleSweepIntervalMs,
      async () => {
        const closed = await closeStaleSessions(db, {
          interimMultiplier: config.staleInterimMultiplier,
          withoutInterimSeconds: config.staleWithoutInterimSeconds,
          minSilenceSeconds: config.staleMinSilenceSeconds,
        })
        if (closed > 0) {
          metrics.staleClosed.inc(closed)
          log.info({ closed }, 'stale sessions closed as Lost-Carrier')
        }
      },
      log,
      metrics,
    ),
    every(
      'retention',
      config.retentionSweepIntervalMs,
      async () => {
        const activityMinutes = await deleteExpiredActivityMinutes(db)
        metrics.expiredRemoved.inc({ table: 'activity_minutes' }, activityMinutes)
        // Buckets first: a bucket dropped seals its sessions, which then move to the history.
        const buckets = await manageReportBuckets(db, config.usageReportsRetentionHours)
        metrics.partitionsDropped.inc({ table: 'session_usage_points' }, buckets.dropped.length)
        metrics.sessionsCarried.inc(buckets.carriedSessions)
        metrics.reportsCarried.inc(buckets.carriedReports)
        if (buckets.made.length + buckets.dropped.length + buckets.carriedSessions > 0)
          log.info(
            { ...buckets, retentionHours: config.usageReportsRetentionHours },
            'counter reports: day buckets made, live sessions carried forward, settled buckets dropped',
          )
        const archived = await archiveSealedSessions(db)
        metrics.sessionsArchived.inc(archived)
        if (archived > 0) log.info({ archived }, 'sealed sessions moved to the session history')
        const partitions = await manageMonthPartitions(db, {
          session_history: config.retentionDays,
          session_usage_days: config.usageDaysRetentionDays,
          usage_daily: config.usageDailyRetentionDays,
          usage_monthly: config.usageMonthlyRetentionDays,
          quota_crossings: config.usageMonthlyRetentionDays,
        })
        for (const [table, dropped] of Object.entries(partitions.dropped))
          metrics.partitionsDropped.inc({ table }, dropped.length)
        for (const [table, rows] of Object.entries(partitions.defaultRows))
          metrics.expiredRemoved.inc({ table: `${table}_default` }, rows)
        const defaultRows = Object.values(partitions.defaultRows).reduce((a, b) => a + b, 0)
        if (partitions.made.length + Object.values(partitions.dropped).flat().length + defaultRows > 0)
          log.info(partitions, 'month partitions made ahead and dropped past their retention')
      },
      log,
      metrics,
    ),
    every(
      'audit_verify',
      config.auditVerifyIntervalMs,
      async () => {
        const { checked, broken } = await auditChain.check()
        metrics.auditEventsVerified.inc(checked)
        metrics.auditChainBroken.set(broken ? 1 : 0)
        if (broken)
          log.error(
            { lane: broken.lane, chainSeq: broken.chainSeq, id: broken.id },
            'audit chain broken in lane %s at event %s: %s (run radstream audit verify for every lane)',
            broken.lane,
            broken.chainSeq,
            broken.reason,
          )
      },
      log,
      metrics,
    ),
    every(
      'audit_seal',
      config.auditSealIntervalMs,
      async () => {
        const seal = await sealAuditLanes(db, publishSeal)
        if (seal) metrics.auditSeals.inc()
      },
      log,
      metrics,
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
      assignment.stop()
      await consumer.stop()
      await Promise.all(stopSweeps.map((stop) => stop()))
      await deadLetters.close()
      await lag.close()
      await new Promise<void>((resolve) => ops.close(() => resolve()))
      await db.destroy()
      log.info('sessionizer stopped')
    },
  }
}
