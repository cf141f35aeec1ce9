import { spawn } from 'node:child_process'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { inject } from 'vitest'
import { createDb, upsertNasClient, type Db } from '@radstream/db'
import { ensureLocalKafka, freePort, radstreamHome, stopLocalKafka } from '@radstream/stack'
import { CLI_BIN, cliEnv } from './support/cli'
import { radclient } from './support/radclient'
import { waitFor } from './support/wait-for'

// A broker of this test's own, made new for it: no __consumer_offsets yet, its group coordinator
// still loading when the sessionizer first joins (what logged errors on a fresh machine).
const PORT = 29192
const SECRET = 'clean-start-secret'

interface LogLine {
  readonly level: number
  readonly msg: string
}

/** Runs `radstream <args>` until `until` is seen in its output, then Ctrl-C; its whole output. */
async function runUntil(args: string[], env: NodeJS.ProcessEnv, work: (output: () => string) => Promise<void>) {
  const child = spawn(process.execPath, [CLI_BIN, ...args], { env, detached: true })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve))
  try {
    await work(() => output)
  } finally {
    process.kill(-child.pid!, 'SIGINT')
  }
  return { code: await exited, output }
}

const logLines = (output: string): LogLine[] =>
  output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as LogLine)

describe('a clean start', () => {
  let db: Db
  beforeAll(async () => {
    db = createDb({ url: inject('databaseUrl'), poolSize: 1 })
    await upsertNasClient(db, { network: '127.0.0.1', secret: SECRET, name: 'clean start' })
    await stopLocalKafka(PORT, () => undefined)
    for (const dir of [`kafka-${PORT}`, `cluster-${PORT}`])
      await rm(join(radstreamHome(), dir), { recursive: true, force: true })
    await ensureLocalKafka({ port: PORT, controllerPort: PORT + 1, partitions: 4, log: () => undefined })
  }, 120_000)
  afterAll(async () => {
    await db.destroy()
    await stopLocalKafka(PORT, () => undefined)
  }, 60_000)

  it('the first start on a new broker should log nothing at error level, and record a packet', async () => {
    const [acctPort, httpPort] = [await freePort(), await freePort()]
    const env = cliEnv({
      KAFKA_BROKERS: `127.0.0.1:${PORT}`,
      KAFKA_TOPIC: `radius.accounting.clean-start-${Date.now()}`,
      RADIUS_ACCT_PORT: String(acctPort),
      RADIUS_ACCT_HOST: '127.0.0.1',
      PORT: String(httpPort),
      HOST: '127.0.0.1',
      COLLECTOR_METRICS_PORT: '0',
      SESSIONIZER_METRICS_PORT: '0',
      LOG_LEVEL: 'info',
    })
    const sessionId = `clean-start-${Date.now()}`
    const { code, output } = await runUntil(['up'], env, async (output) => {
      await waitFor('the services to start', async () =>
        /collector listening/.test(output()) && /sessionizer consuming/.test(output()) ? true : undefined,
      )
      const answered = await radclient(
        acctPort,
        SECRET,
        `User-Name = "first"\nAcct-Session-Id = "${sessionId}"\nAcct-Status-Type = Start`,
        { timeoutSeconds: 5, retries: 10 },
      )
      expect(answered.answered, answered.output).toBe(true)
      await waitFor(
        'the session',
        () => db.selectFrom('sessions').select('id').where('session_id', '=', sessionId).executeTakeFirst(),
        60_000,
      )
    })
    expect(code, output).toBe(0)
    const lines = logLines(output)
    expect(lines.length).toBeGreaterThan(5)
    expect(lines.filter((line) => line.level >= 50)).toEqual([])
  }, 180_000)

  it('on a terminal the logs should be for people, not JSON', async () => {
    const httpPort = await freePort()
    const env = cliEnv({ PORT: String(httpPort), HOST: '127.0.0.1', LOG_LEVEL: 'info' })
    // script(1) gives the API a pseudo-terminal, as a shell would.
    const command = `${process.execPath} ${CLI_BIN} api`
    const child = spawn('script', ['-qfec', command, '/dev/null'], { env, detached: true })
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
    const exited = new Promise((resolve) => child.on('close', resolve))
    try {
      await waitFor('the API to listen', async () => (/Server listening/.test(output) ? true : undefined), 60_000)
    } finally {
      process.kill(-child.pid!, 'SIGINT')
    }
    await exited
    const listening = output.split('\n').find((line) => line.includes('Server listening'))!
    expect(listening).not.toMatch(/^\s*\{/)
    expect(listening).toMatch(/\d\d:\d\d:\d\d\.\d{3}/)
    expect(listening).toContain('INFO')
  }, 90_000)
})
