import { randomUUID } from 'node:crypto'
import { Consumer, MessagesStreamModes, type Message } from '@platformatic/kafka'
import { withAdmin } from './admin'
import type { Kafka } from './client'
import type { ConsumedRecord } from './group-consumer'

/**
 * Every record a topic holds now, partition by partition in offset order: read from the beginning
 * to the end offsets seen at the start, by a consumer group of its own that commits nothing and is
 * deleted after. For small topics read whole (the audit seals, a test's records); `timeoutMs`
 * bounds the wait.
 */
export async function readTopic(kafka: Kafka, topic: string, timeoutMs = 30_000): Promise<ConsumedRecord[]> {
  const ends = await withAdmin(kafka, (admin) => admin.offsets(topic))
  const wanted = new Map(ends.filter((p) => p.high > p.low).map((p) => [p.partition, BigInt(p.high)]))
  if (wanted.size === 0) return []
  const groupId = `radstream-reader-${randomUUID()}`
  const consumer = new Consumer<Buffer, Buffer, Buffer, Buffer>({ ...kafka.clientOptions('reader'), groupId })
  const read = new Map<number, ConsumedRecord[]>()
  try {
    const stream = await consumer.consume({ topics: [topic], mode: MessagesStreamModes.EARLIEST, autocommit: false })
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${topic}: not read whole within ${timeoutMs} ms`)), timeoutMs)
      stream.on('error', reject)
      stream.on('data', (message: Message<Buffer, Buffer, Buffer, Buffer>) => {
        const end = wanted.get(message.partition)
        if (end === undefined || message.offset >= end) return
        const records = read.get(message.partition) ?? []
        records.push(message)
        read.set(message.partition, records)
        if (message.offset + 1n >= end) wanted.delete(message.partition)
        if (wanted.size === 0) {
          clearTimeout(timer)
          resolve()
        }
      })
    })
  } finally {
    await consumer.close(true).catch(() => undefined)
    await withAdmin(kafka, (admin) => admin.deleteGroup(groupId)).catch(() => undefined)
  }
  return [...read.entries()].sort(([a], [b]) => a - b).flatMap(([, records]) => records)
}
