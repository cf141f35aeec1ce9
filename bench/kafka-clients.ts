import { parseArgs } from 'node:util'
import { ProduceAcks, Producer as PlatformaticProducer } from '@platformatic/kafka'
import { loadSettings } from '@radstream/config'
import { encodeBinaryRecord } from '@radstream/events'
import {
  createKafka,
  deleteScratchTopics,
  ensureTopic,
  keyPartition,
  namedPartition,
  scratchTopic,
} from '@radstream/kafka'
import { buildAccountingRequest } from '@radstream/radius'
import { ensureStack } from '@radstream/stack'
import { runScript } from './lib/processes'
import { fmt, summarize, table } from './lib/stats'

/**
 * The collector's Kafka client against an alternative, measured by the one thing the choice
 * decides: the producing process's CPU for the same records. Each client runs in a process of its
 * own, alternating round after round on the local broker, and sends what the collector sends: v2
 * records of Start and Stop packets, keyed by session and given their partition, batches of
 * `--batch` in one send at a time, idempotent, acks=all. `npx tsx bench/kafka-clients.ts`.
 */
const { values } = parseArgs({
  options: {
    client: { type: 'string' },
    topic: { type: 'string' },
    records: { type: 'string', default: '200000' },
    batch: { type: 'string', default: '100' },
    rounds: { type: 'string', default: '3' },
  },
})
const CLIENTS = ['kafkajs', '@platformatic/kafka'] as const
type Client = (typeof CLIENTS)[number]
const PARTITIONS = 6
const TOPIC_PREFIX = 'radius.accounting.bench-clients-'

interface Outcome {
  readonly client: Client
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

/** One client's round, in this process: a warm-up, then the measured records. */
async function runClient(client: Client, brokers: string[], topic: string): Promise<Outcome> {
  const count = Number(values.records)
  const batchSize = Number(values.batch)
  let send: (batch: { key: string; value: Buffer; partition: number }[]) => Promise<void>
  let close: () => Promise<void>
  if (client === 'kafkajs') {
    const producer = createKafka({ brokers, clientId: 'bench-kafkajs' }).producer({
      idempotent: true,
      maxInFlightRequests: 1,
      createPartitioner: namedPartition,
    })
    await producer.connect()
    send = async (batch) => {
      await producer.send({ topic, acks: -1, messages: batch })
    }
    close = () => producer.disconnect()
  } else {
    const producer = new PlatformaticProducer({
      clientId: 'bench-platformatic',
      bootstrapBrokers: brokers,
      idempotent: true,
      acks: ProduceAcks.ALL,
    })
    send = async (batch) => {
      await producer.send({
        messages: batch.map((r) => ({ topic, key: Buffer.from(r.key), value: r.value, partition: r.partition })),
      })
    }
    close = () => producer.close()
  }
  await produce(Math.min(count, 20_000), batchSize, send)
  const cpu = process.cpuUsage()
  const started = performance.now()
  await produce(count, batchSize, send)
  const seconds = (performance.now() - started) / 1000
  const used = process.cpuUsage(cpu)
  await close()
  return {
    client,
    records: count,
    cpuUsPerRecord: (used.user + used.system) / count,
    recordsPerSecond: count / seconds,
  }
}

function roundOf(client: Client, topic: string): Promise<Outcome> {
  return runScript<Outcome>('kafka-clients.ts', ['--client', client, '--topic', topic, ...process.argv.slice(2)])
}

const settings = loadSettings()
if (values.client) {
  console.log(JSON.stringify(await runClient(values.client as Client, [...settings.kafka.brokers], values.topic!)))
} else {
  const started = Date.now()
  await ensureStack({ settings, log: (message) => console.error(`stack: ${message}`) })
  const kafka = createKafka({ brokers: settings.kafka.brokers, clientId: 'bench-clients' })
  await deleteScratchTopics(kafka, TOPIC_PREFIX, (at) => at < started)
  const topic = scratchTopic(TOPIC_PREFIX, 'run', started)
  await ensureTopic(kafka, topic, PARTITIONS, { warn: () => undefined })
  const outcomes: Outcome[] = []
  for (let round = 1; round <= Number(values.rounds); round++)
    for (const client of CLIENTS) outcomes.push(await roundOf(client, topic))
  const of = (client: Client) => outcomes.filter((o) => o.client === client)
  const median = (client: Client, pick: (o: Outcome) => number) => summarize(of(client).map(pick)).p50
  console.log(
    table([
      ['client', 'CPU us per record (rounds)', 'records/s (rounds)'],
      ...CLIENTS.map((client) => [
        client,
        of(client)
          .map((o) => fmt(o.cpuUsPerRecord, 1))
          .join(', '),
        of(client)
          .map((o) => fmt(o.recordsPerSecond, 0))
          .join(', '),
      ]),
    ]),
  )
  const cpuRatio = median('@platformatic/kafka', (o) => o.cpuUsPerRecord) / median('kafkajs', (o) => o.cpuUsPerRecord)
  console.log(`@platformatic/kafka CPU per record / kafkajs (medians): ${fmt(cpuRatio, 2)}`)
  console.log(JSON.stringify({ batch: Number(values.batch), outcomes, cpuRatio }))
}
