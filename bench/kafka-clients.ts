import { parseArgs } from 'node:util'
import { Kafka as KafkaJs, type ICustomPartitioner } from 'kafkajs'
import { loadSettings } from '@radstream/config'
import { encodeBinaryRecord } from '@radstream/events'
import {
  createKafka,
  deleteScratchTopics,
  ensureTopic,
  GroupConsumer,
  keyPartition,
  RecordProducer,
  scratchTopic,
} from '@radstream/kafka'
import { buildAccountingRequest } from '@radstream/radius'
import { ensureStack } from '@radstream/stack'
import { runScript } from './lib/processes'
import { fmt, summarize, table } from './lib/stats'

/**
 * radstream's Kafka client (packages/kafka on @platformatic/kafka 2) against kafkajs 2.2.4, the one
 * it replaced, measured by what the choice decides: the process's CPU for the same records on both
 * services' paths. `produce` sends what the collector sends: v2 records of Start and Stop packets,
 * keyed and given their partition, batches of `--batch` in one send at a time, idempotent,
 * acks=all. `consume` reads them back as the sessionizer does: a consumer group member, a batch of
 * a partition at a time, its offset committed after each batch. Each client runs in a process of
 * its own, alternating round after round on the local broker. kafkajs is a dev dependency for this
 * comparison only. `npx tsx bench/kafka-clients.ts`.
 */
const { values } = parseArgs({
  options: {
    client: { type: 'string' },
    path: { type: 'string' },
    topic: { type: 'string' },
    records: { type: 'string', default: '200000' },
    batch: { type: 'string', default: '100' },
    rounds: { type: 'string', default: '3' },
  },
})
const CLIENTS = ['kafkajs', 'radstream'] as const
type Client = (typeof CLIENTS)[number]
const PATHS = ['produce', 'consume'] as const
type Path = (typeof PATHS)[number]
const PARTITIONS = 6
const TOPIC_PREFIX = 'radius.accounting.bench-clients-'

interface Outcome {
  readonly client: Client
  readonly path: Path
  readonly records: number
  readonly cpuUsPerRecord: number
  readonly recordsPerSecond: number
}

/** A thousand sessions' Start and Stop as the collector writes them: the key and the v2 value. */
function collectorRecords(): { key: string; value: Buffer }[] {
  const secret = Buffer.from('bench')
  const records = []
  for (let session = 0; session < 1000; session++) {
    for (const status of [1, 2]) {
      const sessionId = `bench-clients-${session}`
      const packet = buildAccountingRequest({
        identifier: session % 256,
        secret,
        attributes: [
          ['User-Name', `user-${session % 250}@example.net`],
          ['Acct-Session-Id', sessionId],
          ['NAS-IP-Address', `10.0.0.${session % 4}`],
          ['NAS-Port', session],
          ['Framed-IP-Address', `100.64.${session >> 8}.${session % 256}`],
          ['Calling-Station-Id', '00-11-22-33-44-55'],
          ['Acct-Status-Type', status],
          ...(status === 2
            ? ([
                ['Acct-Session-Time', 600],
                ['Acct-Input-Octets', 123_456],
                ['Acct-Output-Octets', 654_321],
                ['Acct-Terminate-Cause', 1],
              ] as [string, number][])
            : []),
        ],
      })
      const value = encodeBinaryRecord(packet, { receivedAt: new Date(), address: '127.0.0.1', port: 40_000 })
      records.push({ key: `10.0.0.${session % 4}|${sessionId}`, value })
    }
  }
  return records
}

/** Sends `count` records in batches, one send at a time, through `send`. */
async function produce(
  count: number,
  batchSize: number,
  send: (batch: { key: string; value: Buffer; partition: number }[]) => Promise<void>,
): Promise<void> {
  const records = collectorRecords()
  for (let sent = 0; sent < count; sent += batchSize) {
    const batch = []
    for (let i = sent; i < Math.min(count, sent + batchSize); i++) {
      const record = records[i % records.length]!
      batch.push({ ...record, partition: keyPartition(record.key, PARTITIONS) })
    }
    await send(batch)
  }
}

/** kafkajs asks a partitioner of every record; the records here all name theirs. */
const namedPartition: ICustomPartitioner =
  () =>
  ({ message }) =>
    message.partition!

type Send = (batch: { key: string; value: Buffer; partition: number }[]) => Promise<void>

function producerOf(client: Client, brokers: string[], topic: string): { send: Send; close: () => Promise<void> } {
  if (client === 'kafkajs') {
    const producer = new KafkaJs({ brokers, clientId: 'bench-kafkajs', logLevel: 0 }).producer({
      idempotent: true,
      maxInFlightRequests: 1,
      createPartitioner: namedPartition,
    })
    const connected = producer.connect()
    return {
      send: async (batch) => {
        await connected
        await producer.send({ topic, acks: -1, messages: batch })
      },
      close: () => producer.disconnect(),
    }
  }
  const producer = new RecordProducer(createKafka({ brokers, clientId: 'bench-radstream' }), 'bench', {
    idempotent: true,
    retries: 8,
  })
  return {
    send: async (batch) => {
      await producer.send(batch.map((r) => ({ topic, ...r })))
    },
    close: () => producer.close(),
  }
}

/** Reads `count` records of `topic` from the beginning as a new group, committing after each batch. */
async function consume(client: Client, brokers: string[], topic: string, count: number): Promise<void> {
  const groupId = `bench-clients-${client}-${Date.now()}`
  let seen = 0
  let done!: () => void
  const finished = new Promise<void>((resolve) => (done = resolve))
  if (client === 'kafkajs') {
    const consumer = new KafkaJs({ brokers, clientId: 'bench-kafkajs', logLevel: 0 }).consumer({ groupId })
    await consumer.connect()
    await consumer.subscribe({ topic, fromBeginning: true })
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, resolveOffset }) => {
        const next = (BigInt(batch.lastOffset()) + 1n).toString()
        await consumer.commitOffsets([{ topic, partition: batch.partition, offset: next }])
        resolveOffset(batch.lastOffset())
        if ((seen += batch.messages.length) >= count) done()
      },
    })
    await finished
    await consumer.disconnect()
    return
  }
  const consumer = new GroupConsumer(createKafka({ brokers, clientId: 'bench-radstream' }), {
    groupId,
    topic,
    sessionTimeoutMs: 30_000,
    rebalanceTimeoutMs: 60_000,
    minBytes: 65_536,
    maxWaitMs: 100,
    concurrency: 1,
    maxBatch: 5000,
    onBatch: async () => undefined,
    onCommitted: (batch) => {
      if ((seen += batch.records.length) >= count) done()
    },
  })
  await consumer.start()
  await finished
  await consumer.stop()
}

/** One client's round on one path, in this process: a warm-up, then the measured records. */
async function runClient(client: Client, path: Path, brokers: string[], topic: string): Promise<Outcome> {
  const count = Number(values.records)
  const batchSize = Number(values.batch)
  const producer = path === 'produce' ? producerOf(client, brokers, topic) : undefined
  if (producer) await produce(Math.min(count, 20_000), batchSize, producer.send)
  const cpu = process.cpuUsage()
  const started = performance.now()
  if (producer) await produce(count, batchSize, producer.send)
  else await consume(client, brokers, topic, count)
  const seconds = (performance.now() - started) / 1000
  const used = process.cpuUsage(cpu)
  await producer?.close()
  return {
    client,
    path,
    records: count,
    cpuUsPerRecord: (used.user + used.system) / count,
    recordsPerSecond: count / seconds,
  }
}

function roundOf(client: Client, path: Path, topic: string): Promise<Outcome> {
  return runScript<Outcome>('kafka-clients.ts', [
    '--client',
    client,
    '--path',
    path,
    '--topic',
    topic,
    ...process.argv.slice(2),
  ])
}

const settings = loadSettings()
if (values.client) {
  const outcome = await runClient(
    values.client as Client,
    values.path as Path,
    [...settings.kafka.brokers],
    values.topic!,
  )
  console.log(JSON.stringify(outcome))
} else {
  const started = Date.now()
  await ensureStack({ settings, log: (message) => console.error(`stack: ${message}`) })
  const kafka = createKafka({ brokers: settings.kafka.brokers, clientId: 'bench-clients' })
  await deleteScratchTopics(kafka, TOPIC_PREFIX, (at) => at < started)
  const topic = scratchTopic(TOPIC_PREFIX, 'run', started)
  await ensureTopic(kafka, topic, PARTITIONS, { warn: () => undefined })
  const outcomes: Outcome[] = []
  // Produce rounds first: each consume round reads the first `--records` of what they wrote.
  for (const path of PATHS)
    for (let round = 1; round <= Number(values.rounds); round++)
      for (const client of CLIENTS) outcomes.push(await roundOf(client, path, topic))
  const of = (client: Client, path: Path) => outcomes.filter((o) => o.client === client && o.path === path)
  const median = (client: Client, path: Path) => summarize(of(client, path).map((o) => o.cpuUsPerRecord)).p50
  console.log(
    table([
      ['path', 'client', 'CPU us per record (rounds)', 'records/s (rounds)'],
      ...PATHS.flatMap((path) =>
        CLIENTS.map((client) => [
          path,
          client,
          of(client, path)
            .map((o) => fmt(o.cpuUsPerRecord, 1))
            .join(', '),
          of(client, path)
            .map((o) => fmt(o.recordsPerSecond, 0))
            .join(', '),
        ]),
      ),
    ]),
  )
  const ratios = Object.fromEntries(PATHS.map((path) => [path, median('radstream', path) / median('kafkajs', path)]))
  for (const path of PATHS)
    console.log(`${path}: radstream CPU per record / kafkajs (medians): ${fmt(ratios[path]!, 2)}`)
  console.log(JSON.stringify({ batch: Number(values.batch), outcomes, ratios }))
}
