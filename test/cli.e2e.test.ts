import { execFile, spawn } from 'node:child_process'
import { mkdtemp, readFile } from 'node:fs/promises'
import { hostname, tmpdir, userInfo } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { gunzipSync } from 'node:zlib'
import { parse as parseCsv } from 'csv-parse/sync'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { inject } from 'vitest'
import { sql } from 'kysely'
import { createDb, type Db } from '@radstream/db'
import { exportColumns } from '@radstream/export'
import { applyBatch } from '@radstream/sessionizer'
import { freePort } from '@radstream/stack'
import { cliEnv, runCli } from './support/cli'
import { radclient } from './support/radclient'
import { accountingRecord, at } from './support/records'
import { waitFor } from './support/wait-for'

const run = promisify(execFile)

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

  it('nas add should set where the NAS takes Disconnect and CoA, and nas list should show it', async () => {
    const ip = '198.51.101.7'
    const nasAdd = async (...flags: string[]) => {
      const result = await runCli(['nas', 'add', '--ip', ip, '--secret', 's', ...flags])
      return { ...result, row: result.code === 0 ? JSON.parse(result.stdout) : undefined }
    }
    const added = await nasAdd('--coa-port', '1700', '--coa-address', '10.1.2.3', '--interim-interval', '300')
    expect(added.code, added.stderr).toBe(0)
    expect(added.row).toMatchObject({
      network: `${ip}/32`,
      coaPort: 1700,
      coaAddress: '10.1.2.3',
      interimInterval: 300,
    })
    // Given again without the flags, they stay; `none` and `session` clear them.
    expect((await nasAdd()).row).toMatchObject({ coaPort: 1700, coaAddress: '10.1.2.3' })
    const listed = (await runCli(['nas', 'list'])).stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line))
    expect(listed.find((row) => row.network === `${ip}/32`)).toMatchObject({ coaPort: 1700, coaAddress: '10.1.2.3' })
    expect((await nasAdd('--coa-port', 'none', '--coa-address', 'session')).row).toMatchObject({
      coaPort: null,
      coaAddress: null,
    })
    const fresh = await runCli(['nas', 'add', '--ip', '198.51.101.8', '--secret', 's'])
    expect(JSON.parse(fresh.stdout)).toMatchObject({ coaPort: 3799, coaAddress: null })

    expect((await nasAdd('--interim-interval', 'none')).row).toMatchObject({ interimInterval: null })
    const badPort = await nasAdd('--coa-port', '99999')
    expect([badPort.code, badPort.stderr.trim()]).toEqual([
      2,
      'radstream nas: --coa-port "99999": expected a UDP port from 1 to 65535, or none (radstream nas --help for usage)',
    ])
  })

  it('every change of who may send or read should be an audit event naming the operator', async () => {
    const operator = `${userInfo().username}@${hostname()}`
    const ip = '198.51.102.9'
    expect((await runCli(['nas', 'add', '--ip', ip, '--secret', 's', '--coa-port', 'none'])).code).toBe(0)
    expect((await runCli(['nas', 'remove', '--ip', ip])).code).toBe(0)
    const created = await runCli(['client', 'create', '--name', 'audited-by-cli', '--scope', 'auditor'])
    expect(created.code, created.stderr).toBe(0)
    const { client_id: clientId, client_secret: firstSecret } = JSON.parse(created.stdout) as {
      client_id: string
      client_secret: string
    }
    const rotated = await runCli(['client', 'rotate', '--id', clientId, '--grace', '600'])
    expect(rotated.code, rotated.stderr).toBe(0)
    const rotation = JSON.parse(rotated.stdout) as { client_secret: string; previous_secret_valid_until: string }
    expect(rotation.client_secret).not.toBe(firstSecret)
    expect(Date.parse(rotation.previous_secret_valid_until) - Date.now()).toBeGreaterThan(590_000)
    expect((await runCli(['client', 'revoke', '--id', clientId])).code).toBe(0)
    const again = await runCli(['client', 'rotate', '--id', clientId])
    expect([again.code, again.stderr.trim()]).toEqual([1, `radstream client: no active client ${clientId}`])

    const events = await db
      .selectFrom('audit_events')
      .select(['initiator_type', 'initiator_id', 'operation', 'entity_type', 'entity_id', 'fields'])
      .where('entity_id', 'in', [`${ip}/32`, clientId])
      .orderBy('chain_seq')
      .execute()
    expect(events.map((e) => [e.initiator_type, e.initiator_id, e.operation, e.entity_type, e.entity_id])).toEqual([
      ['CLI', operator, 'UPDATE', 'NAS', `${ip}/32`],
      ['CLI', operator, 'DELETE', 'NAS', `${ip}/32`],
      ['CLI', operator, 'CREATE', 'API_CLIENT', clientId],
      ['CLI', operator, 'UPDATE', 'API_CLIENT', clientId],
      ['CLI', operator, 'UPDATE', 'API_CLIENT', clientId],
    ])
    expect(events[3]!.fields).toEqual([
      { name: 'secret', oldValue: '(set)', newValue: '(new)' },
      { name: 'previousSecretValidUntil', oldValue: null, newValue: rotation.previous_secret_valid_until },
    ])
    expect(events[0]!.fields).toEqual([
      { name: 'secret', oldValue: null, newValue: '(set)' },
      { name: 'coaPort', oldValue: null, newValue: 'none' },
    ])
    expect(JSON.stringify(events)).not.toContain('"s"') // never a secret
    expect(JSON.stringify(events)).not.toContain(rotation.client_secret)
  })

  it('export should write sessions as CSV to a file, gzipped NDJSON to another, and name a bad flag', async () => {
    const run = Date.now().toString(36)
    await db.transaction().execute((tx) =>
      applyBatch(
        tx,
        [0, 1, 2].map((i) =>
          accountingRecord([
            ['User-Name', `exported-${i}-${run}`],
            ['Acct-Session-Id', `exported-${i}-${run}`],
            ['NAS-IP-Address', '198.51.100.92'],
            ['Acct-Status-Type', 1],
            ['Event-Timestamp', at('2014-07-01T12:00:00Z') + i],
          ]),
        ),
      ),
    )
    const dir = await mkdtemp(join(tmpdir(), 'radstream-export-'))
    const window = ['--from', '2014-07-01T12:00:00Z', '--to', '2014-07-01T12:00:03Z']
    const csv = await runCli(['export', 'sessions', ...window, '--format', 'csv', '--output', `${dir}/s.csv`])
    expect(csv.code, csv.stderr).toBe(0)
    expect(csv.stderr).toMatch(/^export sessions: 3 rows in \d+\.\d s to .*s\.csv$/m)
    const rows = parseCsv(await readFile(`${dir}/s.csv`), { columns: true }) as Record<string, string>[]
    expect(rows.map((r) => r.session_id)).toEqual([0, 1, 2].map((i) => `exported-${i}-${run}`))
    expect(Object.keys(rows[0]!)).toEqual(exportColumns('sessions'))
    const gz = await runCli(['export', 'sessions', ...window, '--output', `${dir}/s.ndjson.gz`])
    expect(gz.code, gz.stderr).toBe(0)
    const lines = gunzipSync(await readFile(`${dir}/s.ndjson.gz`))
      .toString()
      .trimEnd()
      .split('\n')
    expect(lines.map((line) => (JSON.parse(line) as { username: string }).username)).toEqual(
      rows.map((r) => r.username),
    )
    const bad = await runCli(['export', 'sessions', '--from', 'yesterday', '--to', '2014-07-02T00:00:00Z'])
    expect([bad.code, bad.stderr.trim()]).toEqual([
      2,
      'radstream export: --from "yesterday": expected an ISO instant such as 2025-03-01T00:00:00Z (radstream export --help for usage)',
    ])
  })

  it('nas add should refuse a malformed address with a message naming it', async () => {
    const result = await runCli(['nas', 'add', '--ip', '300.1.1.1', '--secret', 'x'])
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('--ip "300.1.1.1"')
  })

  it('up, compiled, should run the whole pipeline, log no error, and stop cleanly on Ctrl-C', async () => {
    // Built afresh where node_modules resolves, so the test runs what this checkout compiles to.
    const buildDir = fileURLToPath(new URL('../node_modules/.cache/radstream-compiled-test', import.meta.url))
    await run(process.execPath, [fileURLToPath(new URL('../scripts/build.mjs', import.meta.url)), buildDir])
    const entry = `${buildDir}/radstream.js`
    // Nothing of the sources or of tsx is loaded: every import is of node_modules or node itself.
    expect(await readFile(entry, 'utf8')).not.toMatch(/(?:from |import\()"(?:tsx[^"]*|[^"]*\.ts)"/)
    const secret = 'cli-up-secret'
    expect((await runCli(['nas', 'add', '--ip', '127.0.0.1', '--secret', secret])).code).toBe(0)
    const [acctPort, httpPort] = [await freePort(), await freePort()]
    const up = spawn(process.execPath, [entry, 'up'], {
      env: cliEnv({
        RADIUS_ACCT_PORT: String(acctPort),
        PORT: String(httpPort),
        HOST: '127.0.0.1',
        RADIUS_ACCT_HOST: '127.0.0.1',
        COLLECTOR_METRICS_HOST: '127.0.0.1',
        COLLECTOR_METRICS_PORT: '0',
        SESSIONIZER_METRICS_HOST: '127.0.0.1',
        SESSIONIZER_METRICS_PORT: '0',
        API_METRICS_PORT: '0',
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
      // The console, built by the setup, is served by the API that up runs.
      const page = await fetch(`http://127.0.0.1:${httpPort}/console`)
      expect(page.status).toBe(200)
      expect(await page.text()).toContain('<title>radstream console</title>')
      // Migrated as the test database's superuser; each service connects as its own least-privileged role.
      const { rows } = await sql<{ usename: string; application_name: string }>`
        select distinct usename, application_name from pg_stat_activity
        where datname = current_database() and application_name in
          ('radstream-collector', 'radstream-sessionizer', 'radstream-api')
        order by application_name`.execute(db)
      expect(rows).toEqual([
        { usename: 'radstream_app', application_name: 'radstream-api' },
        { usename: 'radstream_collector', application_name: 'radstream-collector' },
        { usename: 'radstream_sessionizer', application_name: 'radstream-sessionizer' },
      ])
    } finally {
      process.kill(-up.pid!, 'SIGINT')
    }
    expect(await exited, output).toBe(0)
    expect(output).toContain(
      `radstream up, compiled (${entry}), services connecting to PostgreSQL each as its own role (radstream_collector, radstream_sessionizer, radstream_app)`,
    )
    expect(output).toContain(`console http://127.0.0.1:${httpPort}/console`)
    expect(output).toContain('collector stopped')
    expect(output).toContain('sessionizer stopped')
    const errors = output
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { level: number; msg: string })
      .filter((line) => line.level >= 50)
    expect(errors).toEqual([])
  }, 90_000)
})
