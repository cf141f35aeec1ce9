import { encodeRecord, recordKey, type AccountingRecord } from '@radstream/events'
import { createKafka, keyPartition, RecordProducer, withAdmin } from '@radstream/kafka'
import { accountingRecord } from './records'

/** A deterministic generator of numbers in [0, 1), so a seeded workload is the same each run. */
export function prng(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0
    return state / 4294967296
  }
}

/**
 * A deterministic accounting workload: `sessions` sessions over `nasCount` NAS, each a Start, two
 * Interim-Updates and a Stop with growing counters, in a shuffled order per session and with one
 * packet in ten sent twice, as NAS retransmissions and lost packets make real traffic.
 */
export function sessionWorkload(options: {
  sessions: number
  nasCount: number
  seed: number
  prefix: string
}): AccountingRecord[] {
  const random = prng(options.seed)
  const base = Date.parse('2025-06-01T00:00:00Z') / 1000
  const records: AccountingRecord[] = []
  for (let i = 0; i < options.sessions; i++) {
    const nas = `198.18.${Math.floor((i % options.nasCount) / 250)}.${((i % options.nasCount) % 250) + 1}`
    const start = base + i
    const common = [
      ['User-Name', `${options.prefix}-user-${i % 97}`],
      ['Acct-Session-Id', `${options.prefix}-${i}`],
      ['NAS-IP-Address', nas],
      ['NAS-Port-Id', String(i % 4096)],
      ['Framed-IP-Address', `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`],
    ] as const
    const packets = [
      accountingRecord([...common, ['Acct-Status-Type', 1], ['Event-Timestamp', start], ['Connect-Info', 'WireGuard']]),
      ...[1, 2].map((k) =>
        accountingRecord([
          ...common,
          ['Acct-Status-Type', 3],
          ['Event-Timestamp', start + k * 300],
          ['Acct-Session-Time', k * 300],
          ['Acct-Input-Octets', k * 1000 + i],
          ['Acct-Output-Octets', k * 2000],
        ]),
      ),
      accountingRecord([
        ...common,
        ['Acct-Status-Type', 2],
        ['Event-Timestamp', start + 900],
        ['Acct-Session-Time', 900],
        ['Acct-Input-Octets', 3000 + i],
        ['Acct-Output-Octets', 6000],
        ['Acct-Terminate-Cause', 1 + (i % 6)],
      ]),
    ]
    for (let j = packets.length - 1; j > 0; j--) {
      const k = Math.floor(random() * (j + 1))
      ;[packets[j], packets[k]] = [packets[k]!, packets[j]!]
    }
    for (const packet of packets) {
      records.push(packet)
      if (random() < 0.1) records.push(packet)
    }
  }
  return records
}

/** Produces records straight to Kafka, keyed as the collector keys them (or by `keyOf`), acks=all. */
export async function produceRecords(
  brokers: string,
  topic: string,
  records: readonly AccountingRecord[],
  keyOf: (record: AccountingRecord, index: number) => string = recordKey,
): Promise<void> {
  const kafka = createKafka({ brokers: brokers.split(','), clientId: 'radstream-test-producer' })
  const partitions = (await withAdmin(kafka, (admin) => admin.partitions(topic))).length
  const producer = new RecordProducer(kafka, 'test', { idempotent: true })
  try {
    for (let i = 0; i < records.length; i += 1000) {
      await producer.send(
        records.slice(i, i + 1000).map((r, j) => {
          const key = keyOf(r, i + j)
          return { topic, partition: keyPartition(key, partitions), key, value: encodeRecord(r) }
        }),
      )
    }
  } finally {
    await producer.close()
  }
}

/** Waits until the consumer group has committed every offset of the topic. */
export async function waitForGroupCaughtUp(
  brokers: string,
  topic: string,
  groupId: string,
  timeoutMs = 120_000,
): Promise<void> {
  const kafka = createKafka({ brokers: brokers.split(','), clientId: 'radstream-test-lag' })
  await withAdmin(kafka, async (admin) => {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const [ends, committed] = await Promise.all([admin.offsets(topic), admin.committedOffsets(groupId, topic)])
      if (ends.every((end) => end.high === 0 || (committed.get(end.partition) ?? -1) >= end.high)) return
      if (Date.now() > deadline)
        throw new Error(`group ${groupId} did not catch up with ${topic} within ${timeoutMs} ms`)
      await new Promise((resolve) => setTimeout(resolve, 250))
    }
  })
}
