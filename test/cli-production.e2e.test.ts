import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { inject } from 'vitest'
import { createDb, type Db } from '@radstream/db'
import { freePort } from '@radstream/stack'
import { commands } from '../packages/cli/src/commands'
import { runCli } from './support/cli'

const run = promisify(execFile)
const ROOT = fileURLToPath(new URL('..', import.meta.url))

/** One line, and no stack trace: what an operator reads. */
function expectOneLine(stderr: string): void {
  expect(stderr.trimEnd().split('\n')).toHaveLength(1)
  expect(stderr).not.toMatch(/^\s+at /m)
}

describe('radstream CLI usage', () => {
  it.each(Object.keys(commands))('%s --help should print its usage and exit 0', async (name) => {
    const result = await runCli([name, '--help'])
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout.startsWith(`usage: radstream ${name}`)).toBe(true)
    expect(result.stdout).toBe(`${commands[name]!.usage}\n`)
  })

  it('an unknown or malformed flag should print one usage line, no stack trace, and exit 2', async () => {
    for (const args of [
      ['nas', 'add', '--ip', '10.9.9.9', '--secret', 'x', '--bogus'],
      ['collector', '--port', '1813'],
      ['up', '--locale'],
      ['doctor', '--json=yes'],
      ['nas', 'frobnicate'],
      ['export', 'sessions', '--from'],
    ]) {
      const result = await runCli(args)
      expect(result.code, args.join(' ')).toBe(2)
      expectOneLine(result.stderr)
      expect(result.stderr).toContain(`radstream ${args[0]}: `)
      expect(result.stderr).toContain(`(radstream ${args[0]} --help for usage)`)
    }
    const unknown = await runCli(['frobnicate'])
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toMatch(/^radstream: unknown command "frobnicate"/)
  })
})

describe('NAS secrets kept out of argv', () => {
  let db: Db
  let dir: string
  beforeAll(async () => {
    db = createDb({ url: inject('databaseUrl'), poolSize: 1 })
    dir = await mkdtemp(join(tmpdir(), 'radstream-secret-'))
  })
  afterAll(async () => {
    await db.destroy()
    await rm(dir, { recursive: true, force: true })
  })
  const storedSecret = async (network: string) =>
    (await db.selectFrom('nas_clients').select('secret').where('network', '=', network).executeTakeFirstOrThrow())
      .secret

  it('nas add --secret-file should take the first line of the file', async () => {
    const file = join(dir, 'secret')
    await writeFile(file, 'from-a-file \n', { mode: 0o600 })
    const result = await runCli(['nas', 'add', '--ip', '198.51.102.1', '--secret-file', file])
    expect(result.code, result.stderr).toBe(0)
    expect(await storedSecret('198.51.102.1/32')).toBe('from-a-file ')
    const missing = await runCli(['nas', 'add', '--ip', '198.51.102.1', '--secret-file', join(dir, 'nope')])
    expect(missing.code).toBe(2)
    expect(missing.stderr).toContain('ENOENT')
    const both = await runCli(['nas', 'add', '--ip', '198.51.102.1', '--secret', 'x', '--secret-file', file])
    expect(both.code).toBe(2)
  })

  it('nas add --secret - should read the secret from stdin', async () => {
    const result = await runCli(['nas', 'add', '--ip', '198.51.102.2', '--secret', '-'], {}, { input: 'piped\n' })
    expect(result.code, result.stderr).toBe(0)
    expect(await storedSecret('198.51.102.2/32')).toBe('piped')
    const empty = await runCli(['nas', 'add', '--ip', '198.51.102.3', '--secret', '-'], {}, { input: '' })
    expect([empty.code, empty.stderr]).toEqual([
      2,
      'radstream nas: the shared secret is empty (radstream nas --help for usage)\n',
    ])
  })
})

describe('the production path never touches the host', () => {
  it('up without --local should name DATABASE_URL or KAFKA_BROKERS when they do not answer, and start nothing', async () => {
    const closed = await freePort()
    const noDatabase = await runCli(['up'], { DATABASE_URL: `postgres://radstream@127.0.0.1:${closed}/radstream` })
    expect(noDatabase.code).toBe(69)
    expectOneLine(noDatabase.stderr)
    expect(noDatabase.stderr).toMatch(
      new RegExp(
        `^radstream up: PostgreSQL at DATABASE_URL=postgres://radstream@127.0.0.1:${closed}/radstream does not answer`,
      ),
    )
    const noKafka = await runCli(['up'], { KAFKA_BROKERS: `127.0.0.1:${closed}` })
    expect(noKafka.code).toBe(69)
    expectOneLine(noKafka.stderr)
    expect(noKafka.stderr).toContain(`no Kafka broker answers at KAFKA_BROKERS=127.0.0.1:${closed}: set KAFKA_BROKERS`)
    // A service alone says the same.
    const collector = await runCli(['collector'], { KAFKA_BROKERS: `127.0.0.1:${closed}` })
    expect(collector.code).toBe(69)
    expect(collector.stderr).toContain('set KAFKA_BROKERS')
  })

  it('the compiled command should hold no local-stack code, and the production dependencies no testcontainers', async () => {
    // Built where node_modules resolves, as the image's /app/dist is.
    const buildDir = join(ROOT, 'node_modules/.cache/radstream-production-test')
    try {
      await run(process.execPath, [join(ROOT, 'scripts/build.mjs'), buildDir])
      const bundle = await readFile(join(buildDir, 'radstream.js'), 'utf8')
      // What the local stack does (containers, Debian packages, pg_hba.conf, the broker's main class)
      // is in local-stack.js alone.
      const localStack = await readFile(join(buildDir, 'local-stack.js'), 'utf8')
      for (const marker of ['testcontainers', 'apt-get', 'pg_hba.conf', 'kafka.Kafka']) {
        expect(localStack, marker).toContain(marker)
        expect(bundle, marker).not.toContain(marker)
      }
      // As in the image: local-stack.js left out. Asking for the stack is then a clear refusal.
      await rm(join(buildDir, 'local-stack.js'))
      const refused = await runCli(['stack', 'up'], {}, { bin: join(buildDir, 'radstream.js') })
      expect(refused.code).toBe(1)
      expectOneLine(refused.stderr)
      expect(refused.stderr).toContain('the local stack is a development tool and is not installed here')
    } finally {
      await rm(buildDir, { recursive: true, force: true })
    }
    const { stdout } = await run('npm', ['ls', '--omit=dev', '--all', '--parseable'], { cwd: ROOT })
    expect(stdout).toContain('node_modules/@platformatic/kafka')
    expect(stdout).not.toContain('node_modules/testcontainers')
    expect(stdout).not.toContain('node_modules/kafkajs')
  }, 120_000)
})
