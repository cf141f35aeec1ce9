import { readFile } from 'node:fs/promises'
import { describe, expect, inject, it } from 'vitest'
import { ensureDatabaseExists, serviceRoleUrl } from '@radstream/db'
import { createKafka, withAdmin } from '@radstream/kafka'
import { runCli } from './support/cli'
import { testTopic } from './support/topics'

interface Finding {
  check: string
  status: 'ok' | 'warn' | 'fail'
  detail: string
  fix?: string
}

async function doctor(env: Record<string, string>): Promise<{ code: number | null; findings: Finding[] }> {
  const result = await runCli(['doctor', '--json'], env)
  return { code: result.code, findings: (JSON.parse(result.stdout) as { findings: Finding[] }).findings }
}

const rmemMax = async () => Number((await readFile('/proc/sys/net/core/rmem_max', 'utf8')).trim())

describe('radstream doctor', () => {
  it('should fail a topic that can acknowledge nothing and an unmigrated database, and say what to fix', async () => {
    const topic = testTopic('doctor-bad')
    // Accepted by Kafka at creation; every acks=all write is refused afterwards.
    await withAdmin(createKafka({ brokers: inject('kafkaBrokers').split(','), clientId: 'test' }), (admin) =>
      admin.createTopic({ topic, partitions: 1, replicationFactor: 1, configs: { 'min.insync.replicas': '2' } }),
    )
    const empty = new URL(inject('databaseUrl'))
    empty.pathname = '/radstream_test_doctor_unmigrated'
    await ensureDatabaseExists(empty.toString())

    const { code, findings } = await doctor({
      KAFKA_TOPIC: topic,
      KAFKA_TOPIC_PARTITIONS: '4',
      DATABASE_URL: empty.toString(),
      RADIUS_RECV_BUFFER_BYTES: String(Math.min((await rmemMax()) * 2, 1 << 30)),
    })
    expect(code).toBe(1)
    const of = (check: string) => findings.filter((f) => f.check === check)
    expect(of('kafka topic')).toEqual([
      expect.objectContaining({
        status: 'fail',
        detail: expect.stringContaining('min.insync.replicas 2 exceeds its 1 replica(s)'),
        fix: expect.stringContaining(`--entity-name ${topic} --add-config min.insync.replicas=1`),
      }),
      expect.objectContaining({ status: 'warn', detail: expect.stringContaining('one replica') }),
      expect.objectContaining({
        status: 'warn',
        detail: `topic ${topic} has 1 partitions, KAFKA_TOPIC_PARTITIONS says 4`,
      }),
    ])
    expect(of('migrations')).toEqual([
      expect.objectContaining({ status: 'fail', detail: expect.stringMatching(/^\d+ pending: 0001_initial, /) }),
    ])
    expect(of('udp receive buffer')).toEqual([
      expect.objectContaining({ status: 'warn', fix: expect.stringContaining('sysctl -w net.core.rmem_max=') }),
    ])
  }, 60_000)

  it('should pass a sound deployment: the services role, a current database, a buffer the kernel allows', async () => {
    const { code, findings } = await doctor({
      DATABASE_URL: serviceRoleUrl(inject('databaseUrl'), undefined),
      RADIUS_RECV_BUFFER_BYTES: '65536',
    })
    expect(findings.filter((f) => f.status === 'fail')).toEqual([])
    expect(code).toBe(0)
    const status = Object.fromEntries(findings.map((f) => [f.check, f.status]))
    expect(status).toMatchObject({
      configuration: 'ok',
      kafka: 'ok',
      postgres: 'ok',
      clock: 'ok',
      migrations: 'ok',
      'database role': 'ok',
      'udp receive buffer': 'ok',
    })
  }, 60_000)

  it('should name a bad setting and stop there', async () => {
    const { code, findings } = await doctor({ RADIUS_ACCT_PORT: 'eighteen' })
    expect(code).toBe(1)
    expect(findings).toEqual([
      expect.objectContaining({
        check: 'configuration',
        status: 'fail',
        detail: expect.stringContaining('RADIUS_ACCT_PORT'),
      }),
    ])
  })
})
