import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { createDb, upsertNasClient, type Db } from '@radstream/db'
import {
  ensureCertificateAuthority,
  ensureLocalCluster,
  freePort,
  stopLocalCluster,
  type SecureListeners,
} from '@radstream/stack'
import { stopService, waitUntilOk } from '../bench/lib/processes'
import { killActiveController, killBusiestLeader, runClusterFaults } from './chaos/cluster-faults'
import { radclient } from './support/radclient'
import { testTopic } from './support/topics'
import { waitFor } from './support/wait-for'

const BIN = fileURLToPath(new URL('../packages/cli/bin/radstream.js', import.meta.url))
// A cluster of this file's own: its nodes are killed here, so it is never the one `npm start` uses.
// Below the kernel's ephemeral range (32768 up), where a client's outgoing connection could take
// the port of a killed node and stop it coming back (seen once at 39104).
const PORTS = [26092, 26102, 26112]
const NAS_SECRET = 'cluster-e2e-secret'

/** Runs `radstream <service>` to its exit (it is expected to fail at start); its code and stderr. */
function runToExit(service: string, env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, service], { env: { ...process.env, ...env } })
    let stderr = ''
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    child.stdout.resume()
    child.on('error', reject)
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stderr })
    })
  })
}

describe('radstream on a 3-broker cluster', () => {
  let secure: SecureListeners
  let password: string
  let db: Db

  beforeAll(async () => {
    const cluster = await ensureLocalCluster({ ports: PORTS, secure: true, partitions: 6, log: () => undefined })
    secure = cluster.secure!
    password = (await import('node:fs')).readFileSync(secure.passwordFile, 'utf8').trim()
    db = createDb({ url: inject('databaseUrl'), poolSize: 1 })
    await upsertNasClient(db, { network: '127.0.0.1', secret: NAS_SECRET, name: 'cluster e2e' })
  }, 180_000)

  afterAll(async () => {
    await db?.destroy()
    await stopLocalCluster(PORTS, () => undefined)
  }, 90_000)

  const secureEnv = (extra: Record<string, string> = {}): Record<string, string> => ({
    DATABASE_URL: inject('databaseUrl'),
    KAFKA_BROKERS: secure.brokers.join(','),
    KAFKA_TLS_CA_FILE: secure.caFile,
    KAFKA_SASL_MECHANISM: 'scram-sha-512',
    KAFKA_SASL_USERNAME: secure.username,
    KAFKA_SASL_PASSWORD_FILE: secure.passwordFile,
    KAFKA_TOPIC: testTopic('sasl'),
    KAFKA_REPLICATION_FACTOR: '3',
    KAFKA_MIN_INSYNC_REPLICAS: '2',
    SESSIONIZER_GROUP_ID: `radstream-test-sasl-${Date.now()}`,
    RADIUS_ACCT_HOST: '127.0.0.1',
    COLLECTOR_METRICS_HOST: '127.0.0.1',
    SESSIONIZER_METRICS_HOST: '127.0.0.1',
    SESSIONIZER_METRICS_PORT: '0',
    NAS_REFRESH_MS: '200',
    LOG_LEVEL: 'debug',
    ...extra,
  })

  it('collector and sessionizer should record radclient accounting end to end over SCRAM on TLS', async () => {
    const [acctPort, metricsPort] = [await freePort(), await freePort()]
    const env = secureEnv({ RADIUS_ACCT_PORT: String(acctPort), COLLECTOR_METRICS_PORT: String(metricsPort) })
    let logs = ''
    const [collector, sessionizer] = ['collector', 'sessionizer'].map((service) => {
      const child = spawn(process.execPath, [BIN, service], { env: { ...process.env, ...env } })
      for (const stream of [child.stdout, child.stderr])
        stream.on('data', (chunk: Buffer) => (logs += chunk.toString()))
      return child
    }) as [ChildProcess, ChildProcess]
    try {
      await waitUntilOk(`http://127.0.0.1:${metricsPort}/readyz`, 'the collector on SASL_SSL')
      const sessionId = `sasl-${Date.now()}`
      for (const status of ['Start', 'Stop']) {
        const sent = await radclient(
          acctPort,
          NAS_SECRET,
          `User-Name = "sasl-user"\nAcct-Session-Id = "${sessionId}"\nAcct-Status-Type = ${status}\nNAS-IP-Address = 198.51.100.177\nAcct-Session-Time = 42`,
        )
        expect(sent.answered, sent.output).toBe(true)
      }
      const row = await waitFor(
        'the session written through the SASL_SSL cluster',
        async () =>
          db
            .selectFrom('sessions')
            .select(['username', 'stop_time', 'session_time'])
            .where('session_id', '=', sessionId)
            .where('stop_time', 'is not', null)
            .executeTakeFirst(),
        30_000,
      ).catch((error: Error) => {
        throw new Error(`${error.message}; the services logged:\n${logs.slice(-4000)}`)
      })
      expect(row).toMatchObject({ username: 'sasl-user', session_time: '42' })
    } finally {
      await Promise.all([stopService(collector), stopService(sessionizer)])
    }
    // Logged at debug level, and still no secret in the logs.
    expect(logs.length).toBeGreaterThan(0)
    expect(logs).not.toContain(password)
  }, 90_000)

  it('a wrong password should stop the collector at start with a one-line error that says so', async () => {
    const { code, stderr } = await runToExit(
      'collector',
      secureEnv({
        KAFKA_SASL_PASSWORD_FILE: '',
        KAFKA_SASL_PASSWORD: 'not-the-password',
        RADIUS_ACCT_PORT: '0',
        COLLECTOR_METRICS_PORT: '0',
      }),
    )
    expect(code).toBe(77)
    const lines = stderr.trim().split('\n')
    expect(lines.at(-1)).toMatch(
      /^radstream collector: Kafka rejected the SASL SCRAM-SHA-512 login of user "radstream" at .*: wrong username or password/,
    )
    expect(stderr).not.toContain('not-the-password')
  })

  it('a broker certificate from another CA should stop the sessionizer at start with a one-line error that says so', async () => {
    const otherCa = await ensureCertificateAuthority(mkdtempSync(path.join(os.tmpdir(), 'radstream-ca-')), 'another CA')
    const { code, stderr } = await runToExit('sessionizer', secureEnv({ KAFKA_TLS_CA_FILE: otherCa.caFile }))
    expect(code).toBe(77)
    expect(stderr.trim().split('\n').at(-1)).toMatch(
      /^radstream sessionizer: Kafka broker 127\.0\.0\.1:\d+ presented a TLS certificate that is not trusted \(SELF_SIGNED_CERT_IN_CHAIN\): it is not signed by the CA in KAFKA_TLS_CA_FILE$/,
    )
  })

  it('killing the busiest partition leader, then the active controller, should lose no acknowledged packet', async () => {
    const url = new URL(inject('databaseUrl'))
    url.pathname = '/radstream_test_cluster'
    const result = await runClusterFaults({
      ports: PORTS,
      databaseUrl: url.toString(),
      run: `clu${Date.now().toString(36)}`,
      topic: testTopic('cluster'),
      rate: 300,
      nasPerCollector: 6,
      collectors: 1,
      sessionizers: 1,
      faults: [killBusiestLeader, killActiveController],
      env: { KAFKA_REPLICATION_FACTOR: '3', KAFKA_MIN_INSYNC_REPLICAS: '2' },
      log: (message) => console.log(`[cluster] ${message}`),
    })
    console.log(`[cluster] ${JSON.stringify(result)}`)
    expect(result.check.acked).toBeGreaterThan(3000)
    expect(result.check).toMatchObject({ lost: 0, duplicated: 0, complete: true })
    expect(result.unanswered).toBe(0)
    expect(result.rowsUnlike).toBe(0)
    for (const { measured } of result.faults) {
      // Acks resume without a human: within 30 s of each SIGKILL (measured here: see docs/kafka.md).
      expect(measured.recoverySeconds).toBeLessThan(30)
    }
  }, 300_000)
})
