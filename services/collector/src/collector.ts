import { createSocket, type Socket } from 'node:dgram'
import type { AddressInfo } from 'node:net'
import type { Logger, Settings } from '@radstream/config'
import { createDb, listNasClients } from '@radstream/db'
import { createKafka, ensureTopic, isTopicWritable, RecordProducer, verifyKafkaAccess } from '@radstream/kafka'
import { handleDatagram } from './accounting-handler'
import { DropCounter } from './drop-counter'
import { DuplicateCache } from './duplicate-cache'
import { startOpsServer } from '@radstream/ops'
import { KafkaWritability } from './kafka-writability'
import { CollectorMetrics } from './metrics'
import { NasRegistry } from './nas-registry'
import { KafkaRecordSink } from './record-sink'

export interface RunningCollector {
  /** The UDP port actually bound (useful when configured as 0). */
  readonly port: number
  /** The HTTP port of /metrics, /healthz and /readyz. */
  readonly metricsPort: number
  readonly drops: DropCounter
  readonly metrics: CollectorMetrics
  /** Stops reading, answers every datagram already being recorded, then closes. */
  stop(): Promise<void>
}

const DUPLICATE_CACHE_ENTRIES = 200_000
const KAFKA_PROBE_INTERVAL_MS = 2000

function bindSocket(host: string, port: number, receiveBufferBytes: number, log: Logger): Promise<Socket> {
  const socket = createSocket({ type: host.includes(':') ? 'udp6' : 'udp4' })
  return new Promise((resolve, reject) => {
    socket.once('error', reject)
    socket.bind(port, host, () => {
      socket.off('error', reject)
      // A burst of NAS traffic must wait in the kernel, not be lost there, while the loop is busy.
      socket.setRecvBufferSize(receiveBufferBytes)
      const granted = socket.getRecvBufferSize()
      // Linux reports twice the usable size; it caps requests at net.core.rmem_max.
      if (granted < receiveBufferBytes) {
        log.warn(
          { requested: receiveBufferBytes, granted },
          'UDP receive buffer capped by the kernel; raise net.core.rmem_max for bursts',
        )
      }
      resolve(socket)
    })
  })
}

export async function startCollector(settings: Settings, logger: Logger): Promise<RunningCollector> {
  const config = settings.collector
  const log = logger.child({ component: 'collector' })
  const metrics = new CollectorMetrics()
  const db = createDb({ url: settings.database.url, poolSize: 2, applicationName: 'radstream-collector' })
  const registry = new NasRegistry({ list: () => listNasClients(db) }, log, (size) => metrics.nasClients.set(size))
  await registry.start(config.nasRefreshMs)

  await verifyKafkaAccess(settings.kafka)
  const kafka = createKafka(settings.kafka)
  const topic = await ensureTopic(kafka, settings.kafka.topic, settings.kafka.partitions, {
    replication: settings.kafka.replication,
    warn: (details, message) => log.warn(details, message),
  })
  const producer = new RecordProducer(kafka, 'collector', {
    idempotent: true,
    // Bounded, so a dead broker becomes "no answer" in about two seconds and frees the send slot;
    // the NAS retransmits, and a record written twice is harmless to the idempotent sessionizer.
    retries: 8,
  })
  // Writable means more than reachable: an acks=all write needs min.insync.replicas in sync.
  const kafkaState = new KafkaWritability(
    () => isTopicWritable(kafka, settings.kafka.brokers, settings.kafka.topic, topic.minInsyncReplicas),
    metrics,
  )
  await kafkaState.start(KAFKA_PROBE_INTERVAL_MS)
  const sink = new KafkaRecordSink(producer, kafkaState, {
    topic: settings.kafka.topic,
    partitions: topic.partitions,
    lingerMs: config.lingerMs,
    maxBatch: config.maxBatch,
  })

  const drops = new DropCounter(log, metrics)
  const duplicates = new DuplicateCache(config.duplicateTtlMs, DUPLICATE_CACHE_ENTRIES)
  const deps = {
    registry,
    sink,
    drops,
    kafka: kafkaState,
    metrics,
    logger: log,
    recordFormat: settings.collector.recordFormat,
  }
  const socket = await bindSocket(config.host, config.port, config.receiveBufferBytes, log)
  const inFlight = new Set<Promise<void>>()
  let accepting = true

  const answer = (work: Promise<Buffer | undefined>, address: string, port: number) => {
    const done = work.then((response) => {
      if (response) socket.send(response, port, address)
    })
    inFlight.add(done)
    metrics.inFlight.set(inFlight.size)
    void done.finally(() => {
      inFlight.delete(done)
      metrics.inFlight.set(inFlight.size)
    })
  }

  socket.on('message', (bytes, remote) => {
    metrics.received.inc()
    const source = `${remote.address}:${remote.port}`
    if (!accepting) return drops.drop('shutting_down', source)
    const key = DuplicateCache.keyOf(bytes, remote.address, remote.port)
    const earlier = key === undefined ? undefined : duplicates.get(key)
    if (earlier) {
      metrics.duplicates.inc()
      return answer(earlier, remote.address, remote.port)
    }
    // Bounded memory: past the cap the NAS gets no answer now and retransmits later.
    if (inFlight.size >= config.maxInFlight) return drops.drop('overloaded', source)
    const work = handleDatagram({ bytes, address: remote.address, port: remote.port, receivedAt: new Date() }, deps)
    if (key !== undefined) duplicates.remember(key, work)
    answer(work, remote.address, remote.port)
  })
  socket.on('error', (error) => log.error({ err: error }, 'UDP socket error'))

  const ops = await startOpsServer(config.metricsHost, config.metricsPort, {
    registry: metrics.registry,
    ready: () => accepting && kafkaState.writable,
  })
  const port = socket.address().port
  const metricsPort = (ops.address() as AddressInfo).port
  log.info(
    { host: config.host, port, metricsPort, nas: registry.size, topic: settings.kafka.topic, ...topic },
    'collector listening',
  )

  return {
    port,
    metricsPort,
    drops,
    metrics,
    async stop() {
      accepting = false
      log.info({ inFlight: inFlight.size }, 'collector stopping: draining in-flight records')
      await sink.close().catch((error: unknown) => log.error({ err: error }, 'closing the Kafka producer failed'))
      await Promise.all(inFlight)
      await new Promise<void>((resolve) => socket.close(() => resolve()))
      await new Promise<void>((resolve) => ops.close(() => resolve()))
      duplicates.close()
      kafkaState.stop()
      registry.stop()
      await db.destroy()
      log.info('collector stopped')
    },
  }
}
