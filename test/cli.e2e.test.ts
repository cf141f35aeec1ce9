import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { inject } from 'vitest'
import { createDb, type Db } from '@radstream/db'
import { freePort } from '@radstream/stack'
import { radclient } from './support/radclient'
import { waitFor } from './support/wait-for'

const BIN = fileURLToPath(new URL('../packages/cli/bin/radstream.js', import.meta.url))

function cliEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    DATABASE_URL: inject('databaseUrl'),
    KAFKA_BROKERS: inject('kafkaBrokers'),
    KAFKA_TOPIC: inject('topic'),
    KAFKA_TOPIC_PARTITIONS: '4',
    LOG_LEVEL: 'warn',
    ...extra,
  }
}

function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: cliEnv() })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, stdout, stderr }))
  })
}

describe('radstream CLI', () => {
  let db: Db
  beforeAll(() => {
    db = createDb({ url: inject('databaseUrl'), poolSize: 1 })
  })
  afterAll(async () => db.destroy())

  it('nas add should register a NAS, and running it again should update its secret', async () => {
    const first = await runCli(['nas', 'add', '--ip', '198.51.100.0/24', '--secret', 'one', '--name', 'pop-1'])
    expect(first.code, first.stderr).toBe(0)
    const second = await runCli(['nas', 'add', '--ip', '198.51.100.0/24', '--secret', 'S3cr3t-second'])
    expect(second.code, second.stderr).toBe(0)
    const rows = await db
      .selectFrom('nas_clients')
      .select(['network', 'secret', 'name'])
      .where('network', '=', '198.51.100.0/24')
      .execute()
    expect(rows).toEqual([{ network: '198.51.100.0/24', secret: 'S3cr3t-second', name: 'pop-1' }])
    const listed = await runCli(['nas', 'list'])
    expect(listed.stdout).toContain('"network":"198.51.100.0/24"')
    expect(listed.stdout).not.toContain('S3cr3t-second') // secrets are never printed
  })

  it('nas add should refuse a malformed address with a message naming it', async () => {
    const result = await runCli(['nas', 'add', '--ip', '300.1.1.1', '--secret', 'x'])
    expect(result.code).toBe(1)
    expect(result.stderr).toContain('--ip "300.1.1.1"')
  })

  it('up should run the whole pipeline and stop cleanly on Ctrl-C', async () => {
    const secret = 'cli-up-secret'
    expect((await runCli(['nas', 'add', '--ip', '127.0.0.1', '--secret', secret])).code).toBe(0)
    const [acctPort, httpPort] = [await freePort(), await freePort()]
    const up = spawn(process.execPath, [BIN, 'up'], {
      env: cliEnv({
        RADIUS_ACCT_PORT: String(acctPort),
        PORT: String(httpPort),
        HOST: '127.0.0.1',
        RADIUS_ACCT_HOST: '127.0.0.1',
        COLLECTOR_METRICS_HOST: '127.0.0.1',
        COLLECTOR_METRICS_PORT: '0',
        SESSIONIZER_METRICS_HOST: '127.0.0.1',
        SESSIONIZER_METRICS_PORT: '0',
        LOG_LEVEL: 'info',
      }),
      detached: true, // its own process group, so a Ctrl-C can be sent to it as a terminal would
    })
    let output = ''
    up.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
    up.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
    const exited = new Promise<number | null>((resolve) => up.on('close', resolve))
    try {
      await waitFor(
        'radstream up to listen',
        async () => (/collector listening/.test(output) && /Server listening/.test(output) ? true : undefined),
        60_000,
      )
      const answered = await radclient(
        acctPort,
        secret,
        'User-Name = "erin"\nAcct-Session-Id = "cli-up-1"\nAcct-Status-Type = Start',
      )
      expect(answered.answered, answered.output).toBe(true)
      await waitFor('the session from radstream up', async () =>
        db.selectFrom('sessions').select('id').where('session_id', '=', 'cli-up-1').executeTakeFirst(),
      )
      const health = await fetch(`http://127.0.0.1:${httpPort}/healthz`)
      expect(health.status).toBe(200)
    } finally {
      process.kill(-up.pid!, 'SIGINT')
    }
    expect(await exited, output).toBe(0)
    expect(output).toContain('collector stopped')
    expect(output).toContain('sessionizer stopped')
  }, 90_000)
})
