import { Writable } from 'node:stream'
import { pino } from 'pino'
import { describe, expect, it } from 'vitest'
import { createKafka, ensureTopic } from '@radstream/kafka'
import { startSessionizer, type RunningSessionizer } from '../src'
import { testSettings } from '../../../test/support/settings'
import { testTopic } from '../../../test/support/topics'
import { waitFor } from '../../../test/support/wait-for'

/** A logger whose JSON lines the test can read. */
function capturedLogger() {
  const lines: string[] = []
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString().trim().split('\n'))
      done()
    },
  })
  return { logger: pino({ level: 'warn' }, stream), lines }
}

const readyz = async (sessionizer: RunningSessionizer) =>
  (await fetch(`http://127.0.0.1:${sessionizer.metricsPort}/readyz`)).status

const assigned = async (sessionizer: RunningSessionizer) =>
  Number(/^radstream_sessionizer_assigned_partitions (\d+)$/m.exec(await sessionizer.metrics.registry.metrics())?.[1])

describe('sessionizers and their consumer group', () => {
  it('two deployments with different topics and no SESSIONIZER_GROUP_ID should each get their own group and partitions', async () => {
    const topics = [testTopic('deploy-a'), testTopic('deploy-b')]
    const running: RunningSessionizer[] = []
    try {
      for (const topic of topics) {
        // No SESSIONIZER_GROUP_ID: the default, as two `npm start`s on one Kafka would have it.
        const settings = testSettings({ KAFKA_TOPIC: topic, KAFKA_TOPIC_PARTITIONS: '2', SESSIONIZER_GROUP_ID: '' })
        expect(settings.sessionizer.groupId).toBe(`radstream-sessionizer.${topic}`)
        running.push(await startSessionizer(settings, capturedLogger().logger))
      }
      for (const sessionizer of running) {
        await waitFor(
          'both sessionizers to hold their topic',
          async () => ((await assigned(sessionizer)) === 2 && (await readyz(sessionizer)) === 200 ? true : undefined),
          30_000,
        )
      }
    } finally {
      await Promise.all(running.map((s) => s.stop()))
    }
  }, 90_000)

  it('a member left without a partition should warn, count it and report not ready, until it gets one', async () => {
    const topic = testTopic('one-partition')
    const settings = testSettings({
      KAFKA_TOPIC: topic,
      SESSIONIZER_GROUP_ID: `radstream-test-idle-${Date.now()}`,
      SESSIONIZER_SESSION_TIMEOUT_MS: '6000',
    })
    await ensureTopic(createKafka({ brokers: settings.kafka.brokers, clientId: 'test' }), topic, 1)
    const first = capturedLogger()
    const second = capturedLogger()
    const a = await startSessionizer(settings, first.logger)
    await waitFor(
      'the first member to hold the partition',
      async () => ((await assigned(a)) === 1 ? true : undefined),
      30_000,
    )
    const b = await startSessionizer(settings, second.logger)
    const running = new Set([a, b])
    const stop = async (sessionizer: RunningSessionizer) => {
      running.delete(sessionizer)
      await sessionizer.stop()
    }
    try {
      // One partition, two members: one of them holds nothing. Past a rebalance (12 s here) it says so.
      const [busy, idle, idleLog] = await waitFor(
        'one member reported idle',
        async () => {
          const found = [
            [a, b, second],
            [b, a, first],
          ] as const
          for (const [busy, idle, log] of found) {
            if (log.lines.some((line) => line.includes('holds no partition of its topic')))
              return [busy, idle, log] as const
          }
          return undefined
        },
        40_000,
      )
      expect(await assigned(idle)).toBe(0)
      expect(await readyz(idle)).toBe(503)
      expect(await assigned(busy)).toBe(1)
      expect(await readyz(busy)).toBe(200)
      const metrics = await idle.metrics.registry.metrics()
      expect(Number(/^radstream_sessionizer_unassigned_seconds (\S+)$/m.exec(metrics)?.[1])).toBeGreaterThan(12)
      const warning = JSON.parse(idleLog.lines.find((line) => line.includes('holds no partition'))!) as Record<
        string,
        unknown
      >
      expect(warning).toMatchObject({ level: 40, topic, partitions: 1, groupId: settings.sessionizer.groupId })

      // The busy one leaves: the idle one takes the partition and is ready again.
      await stop(busy)
      await waitFor(
        'the idle member to take over',
        async () => ((await assigned(idle)) === 1 && (await readyz(idle)) === 200 ? true : undefined),
        30_000,
      )
    } finally {
      await Promise.all([...running].map(stop))
    }
  }, 120_000)
})
