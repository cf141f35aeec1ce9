import { mkdtempSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { inspect } from 'node:util'
import { describe, expect, it } from 'vitest'
import { ConfigError, loadSettings } from '@radstream/config'

const dir = mkdtempSync(path.join(os.tmpdir(), 'radstream-config-'))
const file = (name: string, content: string) => {
  const at = path.join(dir, name)
  writeFileSync(at, content)
  return at
}

describe('Kafka settings', () => {
  it('should leave replication to the cluster size by default, and take what is given', () => {
    expect(loadSettings({}).kafka.replication).toEqual({ replicationFactor: undefined, minInsyncReplicas: undefined })
    const given = loadSettings({ KAFKA_REPLICATION_FACTOR: '3', KAFKA_MIN_INSYNC_REPLICAS: '2' }).kafka
    expect(given.replication).toEqual({ replicationFactor: 3, minInsyncReplicas: 2 })
    // The dead-letter topic follows the accounting topic unless told otherwise.
    expect(given.deadLetterReplication).toEqual({ replicationFactor: 3, minInsyncReplicas: 2 })
    const own = loadSettings({ KAFKA_REPLICATION_FACTOR: '3', KAFKA_DEAD_LETTER_MIN_INSYNC_REPLICAS: '3' }).kafka
    expect(own.deadLetterReplication).toEqual({ replicationFactor: 3, minInsyncReplicas: 3 })
  })

  it('should refuse more replicas in sync than replicas, naming both variables', () => {
    expect(() => loadSettings({ KAFKA_REPLICATION_FACTOR: '2', KAFKA_MIN_INSYNC_REPLICAS: '3' })).toThrow(
      'KAFKA_MIN_INSYNC_REPLICAS=3 exceeds KAFKA_REPLICATION_FACTOR=2',
    )
    expect(() =>
      loadSettings({ KAFKA_DEAD_LETTER_REPLICATION_FACTOR: '1', KAFKA_DEAD_LETTER_MIN_INSYNC_REPLICAS: '2' }),
    ).toThrow('KAFKA_DEAD_LETTER_MIN_INSYNC_REPLICAS=2 exceeds KAFKA_DEAD_LETTER_REPLICATION_FACTOR=1')
    expect(() => loadSettings({ KAFKA_REPLICATION_FACTOR: '0' })).toThrow(ConfigError)
  })

  it('should read the SASL password from a file, without its newline, and never print it', () => {
    const settings = loadSettings({
      KAFKA_SASL_MECHANISM: 'scram-sha-512',
      KAFKA_SASL_USERNAME: 'radstream',
      KAFKA_SASL_PASSWORD_FILE: file('password', 'p4ss-w0rd\n'),
    })
    expect(settings.kafka.sasl?.password.reveal()).toBe('p4ss-w0rd')
    expect(JSON.stringify(settings)).not.toContain('p4ss-w0rd')
    expect(inspect(settings, { depth: 10 })).not.toContain('p4ss-w0rd')
    expect(`${settings.kafka.sasl?.password}`).toBe('[redacted]')
  })

  it('should refuse an incomplete SASL setting, saying what is missing', () => {
    expect(() => loadSettings({ KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_PASSWORD: 'x' })).toThrow(
      'KAFKA_SASL_MECHANISM=plain needs KAFKA_SASL_USERNAME',
    )
    expect(() => loadSettings({ KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: 'u' })).toThrow(
      'needs KAFKA_SASL_PASSWORD or KAFKA_SASL_PASSWORD_FILE',
    )
    expect(() => loadSettings({ KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'x' })).toThrow(
      'KAFKA_SASL_MECHANISM is not',
    )
    expect(() => loadSettings({ KAFKA_SASL_MECHANISM: 'gssapi' })).toThrow(
      'KAFKA_SASL_MECHANISM="gssapi": expected one of plain, scram-sha-256, scram-sha-512',
    )
    expect(() =>
      loadSettings({
        KAFKA_SASL_MECHANISM: 'plain',
        KAFKA_SASL_USERNAME: 'u',
        KAFKA_SASL_PASSWORD: 'x',
        KAFKA_SASL_PASSWORD_FILE: '/x',
      }),
    ).toThrow('KAFKA_SASL_PASSWORD and KAFKA_SASL_PASSWORD_FILE are both set')
    expect(() =>
      loadSettings({
        KAFKA_SASL_MECHANISM: 'plain',
        KAFKA_SASL_USERNAME: 'u',
        KAFKA_SASL_PASSWORD_FILE: '/no/such/file',
      }),
    ).toThrow('KAFKA_SASL_PASSWORD_FILE="/no/such/file": cannot read the file (ENOENT)')
  })

  it('should turn TLS on with a CA file, read the PEM files once, and pair certificate and key', () => {
    expect(loadSettings({}).kafka.tls).toBeUndefined()
    const ca = file('ca.pem', '-----BEGIN CERTIFICATE-----\nca\n-----END CERTIFICATE-----\n')
    expect(loadSettings({ KAFKA_TLS_CA_FILE: ca }).kafka.tls?.ca).toContain('BEGIN CERTIFICATE')
    expect(loadSettings({ KAFKA_TLS: 'true' }).kafka.tls).toEqual({
      ca: undefined,
      cert: undefined,
      key: undefined,
      keyPassword: undefined,
    })
    expect(() => loadSettings({ KAFKA_TLS_CERT_FILE: ca })).toThrow('a client certificate needs its key')
    expect(() => loadSettings({ KAFKA_TLS: 'false', KAFKA_TLS_CA_FILE: ca })).toThrow('KAFKA_TLS=false but')
    expect(() => loadSettings({ KAFKA_TLS_CA_FILE: path.join(dir, 'missing.pem') })).toThrow(
      /^KAFKA_TLS_CA_FILE=".*missing\.pem": cannot read the file \(ENOENT\)$/,
    )
  })
})

describe('the sessionizer consumer group', () => {
  it('should default to one group per topic, keep the old name for the default topic, and let SESSIONIZER_GROUP_ID win', () => {
    expect(loadSettings({}).sessionizer.groupId).toBe('radstream-sessionizer')
    const a = loadSettings({ KAFKA_TOPIC: 'staging.accounting' }).sessionizer.groupId
    const b = loadSettings({ KAFKA_TOPIC: 'production.accounting' }).sessionizer.groupId
    expect(a).toBe('radstream-sessionizer.staging.accounting')
    expect(b).not.toBe(a)
    expect(loadSettings({ KAFKA_TOPIC: 'x', SESSIONIZER_GROUP_ID: 'mine' }).sessionizer.groupId).toBe('mine')
  })
})
