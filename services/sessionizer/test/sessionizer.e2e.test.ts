import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLogger, type Settings } from '@radstream/config'
import type { Db } from '@radstream/db'
import { createKafka, ensureTopic, readTopic, RecordProducer } from '@radstream/kafka'
import { startSessionizer } from '../src'
import { databaseContent } from '../../../test/support/database-content'
import { scratchDatabase } from '../../../test/support/scratch-database'
import { testSettings } from '../../../test/support/settings'
import { testTopic } from '../../../test/support/topics'
import { waitFor } from '../../../test/support/wait-for'
import { produceRecords, sessionWorkload, waitForGroupCaughtUp } from '../../../test/support/workload'
import { accountingRecord } from '../../../test/support/records'
import { AcctStatusType } from '@radstream/radius'

const BIN = fileURLToPath(new URL('../../../packages/cli/bin/radstream.js', import.meta.url))
const SESSIONS = 3000
const logger = createLogger('warn', 'test')

function settingsFor(topic: string, databaseUrl: string, groupId: string): Settings {
  return testSettings({ KAFKA_TOPIC: topic, DATABASE_URL: databaseUrl, SESSIONIZER_GROUP_ID: groupId })
}

async function countSessions(db: Db): Promise<number> {
  const row = await db
    .selectFrom('sessions')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .executeTakeFirstOrThrow()
  return Number(row.n)
}

describe('sessionizer on real Kafka and PostgreSQL', () => {
  const topic = testTopic('sessionizer')
  const records = sessionWorkload({ sessions: SESSIONS, nasCount: 20, seed: 7, prefix: 'sz' })
  const base = testSettings({ KAFKA_TOPIC: topic })
  const brokers = base.kafka.brokers.join(',')
  let reference: Awaited<ReturnType<typeof databaseContent>>

  beforeAll(async () => {
    await ensureTopic(createKafka({ brokers: base.kafka.brokers, clientId: 'test' }), topic, 4)
    await produceRecords(brokers, topic, records)
  }, 120_000)

  it(`one sessionizer alone should build ${SESSIONS} closed sessions from ${records.length} shuffled, repeated packets`, async () => {
    const { url, db } = await scratchDatabase('alone')
    const settings = settingsFor(topic, url, `alone-${Date.now()}`)
    const started = Date.now()
    const sessionizer = await startSessionizer(settings, logger)
    await waitForGroupCaughtUp(brokers, topic, settings.sessionizer.groupId)
    const seconds = (Date.now() - started) / 1000
    await sessionizer.stop()
    reference = await databaseContent(db)
    await db.destroy()
    console.log(
      `sessionizer: ${records.length} records in ${seconds.toFixed(1)} s (${Math.round(records.length / seconds)} records/s, start-up included)`,
    )
    expect(reference.sessions).toHaveLength(SESSIONS)
    expect(reference.sessions.every((s) => (s as { closed_by: string }).closed_by === 'Stop')).toBe(true)
    expect(reference.users).toHaveLength(97)
    // Started, stopped and address events (every session's Interim-Updates carry one address) and users.
    expect(reference.auditEvents).toHaveLength(3 * SESSIONS + 97)
  }, 180_000)

  it('two sessionizers in one consumer group should build the same database as one alone', async () => {
    const { url, db } = await scratchDatabase('pair')
    const settings = settingsFor(topic, url, `pair-${Date.now()}`)
    const [first, second] = await Promise.all([startSessionizer(settings, logger), startSessionizer(settings, logger)])
    await waitForGroupCaughtUp(brokers, topic, settings.sessionizer.groupId)
    await Promise.all([first.stop(), second.stop()])
    expect(await databaseContent(db)).toEqual(reference)
    await db.destroy()
  }, 180_000)

  it('a topic keyed half as before NAS keying and half by NAS should build the same database, two sessionizers at once', async () => {
    // The first half of the records as collectors before the upgrade keyed them (one NAS's sessions
    // over every partition), the rest by NAS: an upgrade with old records still in the topic.
    const upgraded = testTopic('keying-upgrade')
    await ensureTopic(createKafka({ brokers: base.kafka.brokers, clientId: 'test' }), upgraded, 4)
    const half = Math.floor(records.length / 2)
    await produceRecords(brokers, upgraded, records, (record, index) =>
      index < half ? `${record.nasAddress}|${record.accounting.sessionId}` : record.nasAddress,
    )
    const { url, db } = await scratchDatabase('keying')
    const settings = settingsFor(upgraded, url, `keying-${Date.now()}`)
    const [first, second] = await Promise.all([startSessionizer(settings, logger), startSessionizer(settings, logger)])
    await waitForGroupCaughtUp(brokers, upgraded, settings.sessionizer.groupId)
    await Promise.all([first.stop(), second.stop()])
    expect(await databaseContent(db)).toEqual(reference)
    await db.destroy()
  }, 180_000)

  /** The environment of a `radstream sessionizer` process building `url` from the test topic. */
  const processEnv = (url: string, groupId: string, extra: Record<string, string> = {}) => ({
    ...process.env,
    DATABASE_URL: url,
    KAFKA_BROKERS: brokers,
    KAFKA_TOPIC: topic,
    SESSIONIZER_GROUP_ID: groupId,
    // The group notices a lost member in 6 s instead of 30.
    SESSIONIZER_SESSION_TIMEOUT_MS: '6000',
    SESSIONIZER_METRICS_HOST: '127.0.0.1',
    SESSIONIZER_METRICS_PORT: '0',
    LOG_LEVEL: 'warn',
    ...extra,
  })

  it('a sessionizer killed with SIGKILL mid-batch, again and again, should end with the same database', async () => {
    const { url, db } = await scratchDatabase('crash')
    const groupId = `crash-${Date.now()}`
    const env = processEnv(url, groupId)
    const start = (): ChildProcess => spawn(process.execPath, [BIN, 'sessionizer'], { env, stdio: 'ignore' })
    let kills = 0
    for (let round = 0; round < 3; round++) {
      const before = await countSessions(db)
      const child = start()
      const exited = new Promise((resolve) => child.on('exit', resolve))
      // Killed as soon as it has written anything more: in the middle of its work, not at a clean point.
      await waitFor(
        'the sessionizer to write',
        async () => ((await countSessions(db)) > before ? true : undefined),
        60_000,
      )
      child.kill('SIGKILL')
      await exited
      kills++
      if ((await countSessions(db)) >= SESSIONS) break
    }
    expect(kills).toBeGreaterThan(0)
    const last = start()
    try {
      await waitForGroupCaughtUp(brokers, topic, groupId)
    } finally {
      last.kill('SIGTERM')
      await new Promise((resolve) => last.on('exit', resolve))
    }
    expect(await databaseContent(db)).toEqual(reference)
    await db.destroy()
  }, 240_000)

  it('a sessionizer frozen past its session timeout should rejoin its group and finish the work', async () => {
    const { url, db } = await scratchDatabase('frozen')
    const groupId = `frozen-${Date.now()}`
    // Small fetches, so that the freeze comes with most of the topic still to read.
    const env = processEnv(url, groupId, { SESSIONIZER_FETCH_MIN_BYTES: '1' })
    const child = spawn(process.execPath, [BIN, 'sessionizer'], { env, stdio: ['ignore', 'ignore', 'inherit'] })
    try {
      await waitFor('the sessionizer to write', async () => ((await countSessions(db)) > 0 ? true : undefined), 60_000)
      // A VM pause, a debugger, a swap storm: the group expels the member meanwhile.
      child.kill('SIGSTOP')
      await new Promise((resolve) => setTimeout(resolve, 15_000))
      child.kill('SIGCONT')
      await waitForGroupCaughtUp(brokers, topic, groupId, 60_000)
    } finally {
      child.kill('SIGCONT')
      child.kill('SIGTERM')
      await new Promise((resolve) => child.on('exit', resolve))
    }
    expect(await databaseContent(db)).toEqual(reference)
    await db.destroy()
  }, 180_000)
})

describe('sessionizer and poison records', () => {
  it('should send an unparseable record to the dead-letter topic with an audit event, and keep consuming', async () => {
    const topic = testTopic('poison')
    const settings = testSettings({ KAFKA_TOPIC: topic, KAFKA_TOPIC_PARTITIONS: '1' })
    const brokers = settings.kafka.brokers.join(',')
    const kafka = createKafka({ brokers: settings.kafka.brokers, clientId: 'test' })
    await ensureTopic(kafka, topic, 1)
    const producer = new RecordProducer(kafka, 'test', { idempotent: true })
    await producer.send([
      { topic, partition: 0, key: 'x', value: 'this is not JSON' },
      { topic, partition: 0, key: 'y', value: JSON.stringify({ schema: 'radstream.accounting.v1', nonsense: true }) },
    ])
    await producer.close()
    const valid = sessionWorkload({ sessions: 1, nasCount: 1, seed: 1, prefix: `after-poison-${Date.now()}` })
    await produceRecords(brokers, topic, valid)

    const sessionizer = await startSessionizer(settings, logger)
    try {
      await waitForGroupCaughtUp(brokers, topic, settings.sessionizer.groupId)
    } finally {
      await sessionizer.stop()
    }

    const letters = (await readTopic(kafka, settings.sessionizer.deadLetterTopic))
      .map(
        (r) =>
          JSON.parse(r.value!.toString()) as {
            reason: string
            value: string
            source: { topic: string; offset: string }
          },
      )
      .filter((letter) => letter.source.topic === topic)
    expect(letters.map((l) => l.source.offset)).toEqual(['0', '1'])
    expect(Buffer.from(letters[0]!.value, 'base64').toString()).toBe('this is not JSON')
    expect(letters[0]!.reason).toMatch(/not JSON/)
    expect(letters[1]!.reason).toMatch(/violates radstream.accounting.v1/)

    const { db } = { db: (await import('@radstream/db')).createDb({ url: settings.database.url, poolSize: 1 }) }
    try {
      const events = await db
        .selectFrom('audit_events')
        .select(['event_key', 'operation'])
        .where('entity_id', 'like', `${topic}/%`)
        .orderBy('event_key')
        .execute()
      expect(events).toEqual([
        { event_key: `record.dead-letter:${topic}/0/0`, operation: 'REJECT' },
        { event_key: `record.dead-letter:${topic}/0/1`, operation: 'REJECT' },
      ])
      const session = await db
        .selectFrom('sessions')
        .select('stop_time')
        .where('session_id', '=', valid[0]!.accounting.sessionId)
        .executeTakeFirst()
      expect(session?.stop_time).toBeInstanceOf(Date)
    } finally {
      await db.destroy()
    }
  }, 120_000)

  it('should isolate a record PostgreSQL refuses: the rest of its batch written, it dead-lettered, the partition flowing', async () => {
    const topic = testTopic('refused')
    const settings = testSettings({ KAFKA_TOPIC: topic, KAFKA_TOPIC_PARTITIONS: '1' })
    const brokers = settings.kafka.brokers.join(',')
    await ensureTopic(createKafka({ brokers: settings.kafka.brokers, clientId: 'test' }), topic, 1)
    const prefix = `refused-${Date.now()}`
    const before = sessionWorkload({ sessions: 5, nasCount: 1, seed: 2, prefix: `${prefix}-a` })
    const after = sessionWorkload({ sessions: 5, nasCount: 1, seed: 3, prefix: `${prefix}-b` })
    // A User-Name with a NUL byte: valid RADIUS, valid JSON, and text PostgreSQL cannot store.
    const refused = accountingRecord([
      ['User-Name', 'nul\u0000user'],
      ['Acct-Status-Type', AcctStatusType.Start],
      ['Acct-Session-Id', `${prefix}-nul`],
      ['NAS-IP-Address', '198.51.100.9'],
    ])
    // All in one fetch, so that the refused record shares a batch with valid ones.
    await produceRecords(brokers, topic, [...before, refused, ...after])

    const sessionizer = await startSessionizer(settings, logger)
    try {
      await waitForGroupCaughtUp(brokers, topic, settings.sessionizer.groupId)
      const metrics = await sessionizer.metrics.registry.metrics()
      expect(metrics).toMatch(/^radstream_sessionizer_records_dead_lettered_total 1$/m)
    } finally {
      await sessionizer.stop()
    }
    const db = (await import('@radstream/db')).createDb({ url: settings.database.url, poolSize: 1 })
    try {
      const written = await db
        .selectFrom('sessions')
        .select('session_id')
        .where('session_id', 'like', `${prefix}-%`)
        .execute()
      const expected = new Set([...before, ...after].map((r) => r.accounting.sessionId))
      expect(new Set(written.map((w) => w.session_id))).toEqual(expected)
      const events = await db
        .selectFrom('audit_events')
        .select(['event_key', 'description'])
        .where('entity_id', 'like', `${topic}/%`)
        .execute()
      expect(events).toHaveLength(1)
      expect(events[0]!.event_key).toBe(`record.dead-letter:${topic}/0/${before.length}`)
      expect(events[0]!.description).toMatch(/PostgreSQL refused the record: .* \(SQLSTATE 22\w{3}\)/)
    } finally {
      await db.destroy()
    }
  }, 120_000)
})
