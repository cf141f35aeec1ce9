import { connect } from 'node:net'
import type { Kafka } from 'kafkajs'

/**
 * Creates the topic when missing and waits until it has a leader for every partition. Safe to call
 * from several processes at once; an existing topic is left as it is.
 */
export async function ensureTopic(kafka: Kafka, topic: string, partitions: number): Promise<void> {
  const admin = kafka.admin()
  await admin.connect()
  try {
    const existing = await admin.listTopics()
    if (!existing.includes(topic)) {
      await admin.createTopics({
        waitForLeaders: true,
        topics: [{ topic, numPartitions: partitions, replicationFactor: -1 }],
      })
    }
  } finally {
    await admin.disconnect()
  }
}

function portAccepts(broker: string, timeoutMs: number): Promise<boolean> {
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

/**
 * True when a broker answers a metadata request. A closed port answers false at once: kafkajs
 * itself would keep retrying the connection for many seconds.
 */
export async function isKafkaReachable(kafka: Kafka, brokers: readonly string[]): Promise<boolean> {
  const open = await Promise.all(brokers.map((broker) => portAccepts(broker, 1000)))
  if (!open.includes(true)) return false
  const admin = kafka.admin({ retry: { retries: 0 } })
  try {
    await admin.connect()
    await admin.describeCluster()
    return true
  } catch {
    return false
  } finally {
    await admin.disconnect().catch(() => undefined)
  }
}
