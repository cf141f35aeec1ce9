import { spawn } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { createDb } from '@radstream/db'
import { ensureCertificateAuthority, ensureServerKeystore, type CertificateAuthority } from '@radstream/stack'
import { startPostgresTlsRelay, type PostgresTlsRelay } from './support/postgres-tls-relay'

const BIN = fileURLToPath(new URL('../packages/cli/bin/radstream.js', import.meta.url))

function runCli(args: string[], env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env } })
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, output }))
  })
}

describe('DATABASE_URL with sslmode', () => {
  let relay: PostgresTlsRelay
  let ca: CertificateAuthority
  let otherCa: CertificateAuthority
  let database: string

  beforeAll(async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'radstream-pg-tls-'))
    ca = await ensureCertificateAuthority(path.join(dir, 'ca'), 'radstream test PostgreSQL CA')
    otherCa = await ensureCertificateAuthority(path.join(dir, 'other'), 'another CA')
    const server = await ensureServerKeystore(path.join(dir, 'ca'), ca)
    const target = new URL(inject('databaseUrl'))
    database = target.pathname
    relay = await startPostgresTlsRelay({
      certFile: server.certFile,
      keyFile: server.keyFile,
      target: { host: target.hostname, port: Number(target.port || 5432) },
    })
  })
  afterAll(async () => relay?.close())

  const url = (host: string, params: Record<string, string>) =>
    `postgres://postgres@${host}:${relay.port}${database}?${new URLSearchParams(params)}`

  async function selectOne(databaseUrl: string): Promise<number> {
    const db = createDb({ url: databaseUrl, poolSize: 1 })
    try {
      const { rows } = await sql<{ one: number }>`select 1 as one`.execute(db)
      return rows[0]!.one
    } finally {
      await db.destroy()
    }
  }

  it('verify-full should connect over TLS to a server whose certificate the CA file signed for that name', async () => {
    const before = relay.tlsSessions
    expect(await selectOne(url('localhost', { sslmode: 'verify-full', sslrootcert: ca.caFile }))).toBe(1)
    expect(await selectOne(url('127.0.0.1', { sslmode: 'verify-full', sslrootcert: ca.caFile }))).toBe(1)
    expect(relay.tlsSessions).toBe(before + 2)
  })

  it('verify-full should refuse a server certificate from another CA', async () => {
    await expect(selectOne(url('localhost', { sslmode: 'verify-full', sslrootcert: otherCa.caFile }))).rejects.toThrow(
      /unable to verify the first certificate/,
    )
  })

  it('require should encrypt without checking the chain, as libpq does', async () => {
    const before = relay.tlsSessions
    expect(await selectOne(url('localhost', { sslmode: 'require' }))).toBe(1)
    expect(relay.tlsSessions).toBe(before + 1)
    // With a CA file, require checks the chain (libpq: as verify-ca).
    await expect(selectOne(url('localhost', { sslmode: 'require', sslrootcert: otherCa.caFile }))).rejects.toThrow(
      /unable to verify the first certificate/,
    )
  })

  it('every process takes it: radstream migrate and nas list through the TLS front', async () => {
    const before = relay.tlsSessions
    const env = { DATABASE_URL: url('localhost', { sslmode: 'verify-full', sslrootcert: ca.caFile }) }
    const migrate = await runCli(['migrate'], env)
    expect(migrate.code, migrate.output).toBe(0)
    const list = await runCli(['nas', 'list'], env)
    expect(list.code, list.output).toBe(0)
    expect(relay.tlsSessions).toBeGreaterThanOrEqual(before + 2)
  })
})
