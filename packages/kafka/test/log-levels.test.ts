import { Writable } from 'node:stream'
import { pino } from 'pino'
import { describe, expect, it } from 'vitest'
import { createKafka, kafkaLogLevel } from '@radstream/kafka'
import { testSettings } from '../../../test/support/settings'

/** A pino logger at debug that keeps every line it writes. */
function capturingLogger() {
  const lines: { level: number; msg: string; kafka?: Record<string, unknown> }[] = []
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()))
      done()
    },
  })
  return { logger: pino({ level: 'debug' }, sink), lines }
}

describe("kafkajs's log in radstream's", () => {
  it('should log a request kafkajs retries for a retriable broker error at debug, not error', async () => {
    const { logger, lines } = capturingLogger()
    const kafka = createKafka({ brokers: testSettings().kafka.brokers, clientId: 'log-levels', logger, retries: 1 })
    const admin = kafka.admin()
    await admin.connect()
    try {
      // No such topic: the broker answers UNKNOWN_TOPIC_OR_PARTITION, which kafkajs retries and logs as an error.
      await expect(admin.fetchTopicOffsets(`no-such-topic-${Date.now()}`)).rejects.toThrow()
    } finally {
      await admin.disconnect()
    }
    const responses = lines.filter((l) => l.kafka?.error === 'This server does not host this topic-partition')
    expect(responses.length).toBeGreaterThan(0)
    expect(responses.every((l) => l.level === 20)).toBe(true)
    expect(lines.filter((l) => l.level >= 50)).toEqual([])
  })

  it('should keep errors kafkajs does not retry, and make announced retries warnings', () => {
    const entry = (level: 'error' | 'warn', message: string, extra: Record<string, unknown> = {}) =>
      kafkaLogLevel({ level, message, extra })
    expect(entry('error', 'Response Metadata(key: 3, version: 6)', { error: 'Not authorized to access topics' })).toBe(
      'error',
    )
    expect(entry('error', 'Connection timeout', { retryCount: 2, retryTime: 400 })).toBe('warn')
    expect(entry('error', 'Crash: KafkaJSNonRetriableError')).toBe('error')
    expect(entry('warn', 'Limiting retries for the idempotent producer may invalidate EoS guarantees')).toBe('debug')
    expect(entry('warn', 'Consumer group rebalancing')).toBe('warn')
  })
})
