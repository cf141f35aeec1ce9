import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLogger } from '@radstream/config'
import { createDb, upsertNasClient, type Db } from '@radstream/db'
import { buildAccountingRequest, signAccountingRequest } from '@radstream/radius'
import { startCollector, type RunningCollector } from '../src'
import { testSettings } from '../../../test/support/settings'
import { testTopic } from '../../../test/support/topics'
import { UdpNas } from '../../../test/support/udp-nas'
import { recordCount } from '../../../test/support/kafka-records'
import { scratchDatabase } from '../../../test/support/scratch-database'
import { waitForGroupCaughtUp } from '../../../test/support/workload'
import { startSessionizer } from '@radstream/sessionizer'
import type { Registry } from 'prom-client'

const SECRET = Buffer.from('fuzz-secret')
const DATAGRAMS = Number(process.env.FUZZ_DATAGRAMS ?? 100_000)

/** A deterministic generator, so a failing run can be replayed with the seed it prints. */
function prng(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

function validRequest(identifier: number, secret = SECRET): Buffer {
  return buildAccountingRequest({
    identifier,
    secret,
    attributes: [
      ['User-Name', `fuzz-${identifier}`],
      ['Acct-Session-Id', `fuzz-${identifier}`],
      ['Acct-Status-Type', 3],
      ['NAS-IP-Address', '192.0.2.99'],
      ['Framed-IP-Address', '10.9.9.9'],
      ['Acct-Input-Octets', 1234],
    ],
  })
}

/** Hostile datagrams of every kind the brief names; `resign` keeps the authenticator valid. */
function hostile(random: () => number, i: number): Buffer {
  const pick = Math.floor(random() * 9)
  const base = validRequest(i & 0xff)
  const resign = (bytes: Buffer) => signAccountingRequest(bytes, SECRET)
  switch (pick) {
    case 0: // random bytes of any length, header or not
      return randomBytes(Math.floor(random() * 300))
    case 1: // truncated
      return base.subarray(0, Math.floor(random() * base.length))
    case 2: {
      // a Length field that lies
      const copy = Buffer.from(base)
      copy.writeUInt16BE(Math.floor(random() * 65536), 2)
      return copy
    }
    case 3: {
      // a zero- or one-length attribute, authenticated so that the decoder has to judge it
      const copy = Buffer.from(base)
      copy[21] = Math.floor(random() * 2)
      return resign(copy)
    }
    case 4: // oversize
      return Buffer.concat([base, randomBytes(4100)])
    case 5: {
      // a wrong code
      const copy = Buffer.from(base)
      copy[0] = [0, 1, 2, 3, 5, 11, 13, 40, 255][Math.floor(random() * 9)]!
      return copy
    }
    case 6: // a valid packet under the wrong secret
      return validRequest(i & 0xff, Buffer.from('not-the-secret'))
    case 7: {
      // random attribute bytes behind a valid header and authenticator
      const body = randomBytes(Math.floor(random() * 200))
      const packet = Buffer.concat([Buffer.alloc(20), body])
      packet[0] = 4
      packet[1] = i & 0xff
      packet.writeUInt16BE(packet.length, 2)
      return resign(packet)
    }
    default: {
      // one flipped bit anywhere
      const copy = Buffer.from(base)
      const bit = Math.floor(random() * copy.length * 8)
      copy[bit >> 3] = copy[bit >> 3]! ^ (1 << (bit & 7))
      return copy
    }
  }
}

async function metricTotal(service: { metrics: { registry: Registry } }, name: string): Promise<number> {
  const metric = await service.metrics.registry.getSingleMetric(name)!.get()
  return metric.values.reduce((sum, v) => sum + v.value, 0)
}

describe('collector under hostile input', () => {
  const settings = testSettings({ KAFKA_TOPIC: testTopic('fuzz'), DUPLICATE_TTL_MS: '0' })
  let collector: RunningCollector
  let db: Db
  let nas: UdpNas
  let stranger: UdpNas

  beforeAll(async () => {
    db = createDb({ url: settings.database.url, poolSize: 1 })
    await upsertNasClient(db, { network: '127.0.0.1', secret: SECRET.toString() })
    collector = await startCollector(settings, createLogger('error', 'test'))
    nas = await UdpNas.open('127.0.0.1')
    stranger = await UdpNas.open('127.0.0.2') // no NAS is registered there
  })
  afterAll(async () => {
    nas?.close()
    stranger?.close()
    await collector?.stop()
    await db?.destroy()
  })

  it(`should survive ${DATAGRAMS} hostile datagrams, count every drop, and still answer valid ones`, async () => {
    const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31)
    const random = prng(seed)
    let sent = 0
    let validSent = 0
    const readSoFar = () => metricTotal(collector, 'radstream_collector_datagrams_received_total')
    for (let i = 0; i < DATAGRAMS; i++) {
      if (i % 1000 === 999) {
        // interleaved valid traffic, which must keep being answered
        await nas.send(validRequest(i % 256), collector.port)
        validSent++
      } else if (i % 10 === 0) {
        await stranger.send(validRequest(i % 256), collector.port)
      } else {
        await nas.send(hostile(random, i), collector.port)
      }
      sent++
      // Paced by what the collector has read, so the kernel's socket buffer never overflows (this
      // test shares the collector's event loop): every datagram must reach the collector.
      if (i % 8 === 7) {
        const waitUntil = Date.now() + 5000
        while ((await readSoFar()) < sent && Date.now() < waitUntil) await new Promise((r) => setImmediate(r))
      }
    }

    const deadline = Date.now() + 60_000
    while ((await readSoFar()) < sent && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    await new Promise((resolve) => setTimeout(resolve, 500)) // the last publishes settle
    const received = await metricTotal(collector, 'radstream_collector_datagrams_received_total')
    const dropped = await metricTotal(collector, 'radstream_collector_datagrams_dropped_total')
    const answered = await metricTotal(collector, 'radstream_collector_responses_sent_total')
    const duplicates = await metricTotal(collector, 'radstream_collector_duplicates_total')

    expect(received, `seed ${seed}`).toBe(sent)
    expect(dropped + answered + duplicates, `seed ${seed}: every datagram dropped or answered`).toBe(received)
    expect(collector.drops.counts.get('unknown_nas')).toBe(Math.ceil(DATAGRAMS / 10))
    expect(answered).toBeGreaterThanOrEqual(validSent)

    const probe = validRequest(201)
    const answer = await nas.request(probe, collector.port, { timeoutMs: 5000 })
    expect(answer?.[0], `seed ${seed}: a valid packet after the fuzz`).toBe(5)

    // Everything the collector accepted, through a sessionizer into PostgreSQL: whatever a hostile
    // NAS got past the codec, no record may stall a partition (it is written or dead-lettered).
    const brokers = settings.kafka.brokers.join(',')
    const records = await recordCount(brokers, settings.kafka.topic)
    const { url, db: scratch } = await scratchDatabase('fuzz')
    await scratch.destroy()
    const replay = testSettings({ KAFKA_TOPIC: settings.kafka.topic, DATABASE_URL: url })
    const sessionizer = await startSessionizer(replay, createLogger('error', 'test'))
    try {
      await waitForGroupCaughtUp(brokers, settings.kafka.topic, replay.sessionizer.groupId, 300_000)
      const applied = await metricTotal(sessionizer, 'radstream_sessionizer_records_applied_total')
      const deadLettered = await metricTotal(sessionizer, 'radstream_sessionizer_records_dead_lettered_total')
      expect(applied + deadLettered, `seed ${seed}: every accepted record written or dead-lettered`).toBe(records)
      console.log(
        `fuzz: seed ${seed}, ${records} records accepted, ${applied} written, ${deadLettered} dead-lettered, 0 stalls`,
      )
    } finally {
      await sessionizer.stop()
    }
  }, 600_000)
})
