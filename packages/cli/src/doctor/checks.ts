import { readFile } from 'node:fs/promises'
import { sql } from 'kysely'
import type { Settings, TopicReplication } from '@radstream/config'
import {
  APPEND_AUDIT_EVENTS,
  learntCadences,
  migrationStatus,
  SERVICE_ROLE,
  type Db,
  type LearntCadence,
} from '@radstream/db'
import { createKafka, inspectTopic, resolveReplication, verifyKafkaAccess, type Kafka } from '@radstream/kafka'

export type Status = 'ok' | 'warn' | 'fail'

/** What one check found, and what to do about it. */
export interface Finding {
  readonly check: string
  readonly status: Status
  readonly detail: string
  readonly fix?: string
}

const ok = (check: string, detail: string): Finding => ({ check, status: 'ok', detail })
const warn = (check: string, detail: string, fix: string): Finding => ({ check, status: 'warn', detail, fix })
const fail = (check: string, detail: string, fix: string): Finding => ({ check, status: 'fail', detail, fix })

/** RFC 2865 section 3: the shared secret should be at least 16 octets. */
const MIN_SECRET_LENGTH = 16
/** Beyond this, event times, retention and token expiry disagree between hosts. */
const MAX_CLOCK_SKEW_MS = 2000

/** One topic: there, led, as many partitions as configured, replicated so an ack survives a broker. */
async function topicFindings(
  kafka: Kafka,
  check: string,
  topic: string,
  partitions: number,
  replication: TopicReplication,
  prefix: string,
): Promise<Finding[]> {
  const seen = await inspectTopic(kafka, topic)
  if (seen.found === 'missing')
    return [
      warn(check, `topic ${topic} does not exist`, 'the collector and sessionizer create it at their first start'),
    ]
  if (seen.found === 'leaderless')
    return [fail(check, `topic ${topic} has partitions without a leader`, 'bring the brokers holding them back')]
  const { state, brokers } = seen
  const findings: Finding[] = []
  if (state.minInsyncReplicas > state.replicationFactor) {
    findings.push(
      fail(
        check,
        `topic ${topic}: min.insync.replicas ${state.minInsyncReplicas} exceeds its ${state.replicationFactor} replica(s): every acks=all write is refused, so nothing is ever answered`,
        `kafka-configs.sh --alter --entity-type topics --entity-name ${topic} --add-config min.insync.replicas=${state.replicationFactor}`,
      ),
    )
  }
  let wanted: ReturnType<typeof resolveReplication> | undefined
  try {
    wanted = resolveReplication(replication, brokers, prefix)
  } catch (error) {
    findings.push(fail(check, (error as Error).message, `set ${prefix}REPLICATION_FACTOR to at most ${brokers}`))
  }
  if (wanted && state.replicationFactor < wanted.replicationFactor) {
    findings.push(
      warn(
        check,
        `topic ${topic} has ${state.replicationFactor} replica(s), ${wanted.replicationFactor} wanted on ${brokers} brokers`,
        "raise its replication factor with kafka-reassign-partitions.sh (Kafka's tools)",
      ),
    )
  } else if (state.replicationFactor === 1) {
    findings.push(
      warn(
        check,
        `topic ${topic} has one replica: losing that broker's disk loses acknowledged records`,
        'run three brokers or more (radstream stack up --brokers 3 shows how)',
      ),
    )
  }
  if (state.replicationFactor >= 2 && state.minInsyncReplicas < 2) {
    findings.push(
      warn(
        check,
        `topic ${topic}: min.insync.replicas 1 lets an acknowledged record live on one broker only`,
        `kafka-configs.sh --alter --entity-type topics --entity-name ${topic} --add-config min.insync.replicas=2`,
      ),
    )
  }
  if (state.partitions !== partitions) {
    findings.push(
      warn(
        check,
        `topic ${topic} has ${state.partitions} partitions, ${prefix}TOPIC_PARTITIONS says ${partitions}`,
        `set ${prefix}TOPIC_PARTITIONS=${state.partitions}, or add partitions with kafka-topics.sh --alter (never fewer)`,
      ),
    )
  }
  if (findings.length === 0) {
    findings.push(
      ok(
        check,
        `topic ${topic}: ${state.partitions} partitions, ${state.replicationFactor} replicas, min.insync.replicas ${state.minInsyncReplicas}`,
      ),
    )
  }
  return findings
}

export async function kafkaFindings(settings: Settings): Promise<Finding[]> {
  try {
    await verifyKafkaAccess(settings.kafka)
  } catch (error) {
    return [fail('kafka', (error as Error).message, 'check KAFKA_BROKERS, TLS and SASL settings, and the brokers')]
  }
  const kafka = createKafka({ ...settings.kafka, clientId: `${settings.kafka.clientId}-doctor` })
  return [
    ok('kafka', `brokers ${settings.kafka.brokers.join(', ')} answer`),
    ...(await topicFindings(
      kafka,
      'kafka topic',
      settings.kafka.topic,
      settings.kafka.partitions,
      settings.kafka.replication,
      'KAFKA_',
    )),
    ...(await topicFindings(
      kafka,
      'kafka dead-letter topic',
      settings.sessionizer.deadLetterTopic,
      1,
      settings.kafka.deadLetterReplication,
      'KAFKA_DEAD_LETTER_',
    )),
  ]
}

/** The privileges the services' role needs, and the ones it must not have. */
const NEEDED = [
  ['sessions', 'INSERT'],
  ['sessions', 'UPDATE'],
  ['session_history', 'INSERT'],
  ['session_records', 'SELECT'],
  ['nas_clients', 'SELECT'],
  ['api_clients', 'UPDATE'],
] as const
const FORBIDDEN = [
  // Events enter the chain only through append_audit_events (migration 0013).
  ['audit_events', 'INSERT'],
  ['audit_events', 'UPDATE'],
  ['audit_events', 'DELETE'],
] as const

export async function postgresFindings(db: Db): Promise<Finding[]> {
  const findings: Finding[] = []
  const sent = Date.now()
  let server: { now: Date; role: string; superuser: boolean }
  try {
    const { rows } = await sql<{ now: Date; role: string; superuser: boolean }>`
      select clock_timestamp() as now, current_user as role,
        (select rolsuper from pg_roles where rolname = current_user) as superuser`.execute(db)
    server = rows[0]!
  } catch (error) {
    return [fail('postgres', (error as Error).message, 'check DATABASE_URL and that PostgreSQL runs')]
  }
  const received = Date.now()
  findings.push(ok('postgres', `connected as ${server.role}`))

  const skewMs = server.now.getTime() - (sent + received) / 2
  findings.push(
    Math.abs(skewMs) > MAX_CLOCK_SKEW_MS
      ? warn(
          'clock',
          `this host's clock and PostgreSQL's differ by ${(skewMs / 1000).toFixed(1)} s`,
          'run NTP (chrony, systemd-timesyncd) on both',
        )
      : ok('clock', `within ${Math.ceil(Math.abs(skewMs))} ms of PostgreSQL's`),
  )

  const { pending, unknown } = await migrationStatus(db)
  if (unknown.length > 0) {
    findings.push(
      fail(
        'migrations',
        `the database has migrations this radstream does not know: ${unknown.join(', ')}`,
        'run the radstream version that migrated it, or a newer one',
      ),
    )
  } else if (pending.length > 0) {
    findings.push(
      fail('migrations', `${pending.length} pending: ${pending.join(', ')}`, 'radstream migrate (as the owner)'),
    )
    return findings
  } else {
    findings.push(ok('migrations', 'current'))
  }

  const privilege = async (table: string, kind: string) =>
    (await sql<{ has: boolean }>`select has_table_privilege(${table}, ${kind}) as has`.execute(db)).rows[0]!.has
  const missing: string[] = []
  for (const [table, kind] of NEEDED) if (!(await privilege(table, kind))) missing.push(`${kind} on ${table}`)
  const appends = await sql<{ has: boolean }>`
    select has_function_privilege(${APPEND_AUDIT_EVENTS}, 'EXECUTE') as has`.execute(db)
  if (!appends.rows[0]!.has) missing.push(`EXECUTE on ${APPEND_AUDIT_EVENTS}`)
  const excess: string[] = []
  for (const [table, kind] of FORBIDDEN) if (await privilege(table, kind)) excess.push(`${kind} on ${table}`)
  if (missing.length > 0) {
    findings.push(
      fail('database role', `${server.role} lacks ${missing.join(', ')}`, `connect as ${SERVICE_ROLE}, or grant them`),
    )
  } else if (server.superuser || excess.length > 0) {
    findings.push(
      warn(
        'database role',
        `DATABASE_URL connects as ${server.role}, ${server.superuser ? 'a superuser' : `allowed ${excess.join(', ')}`}: services run with it could rewrite the audit log (radstream up runs its own as ${SERVICE_ROLE})`,
        `connect the services as ${SERVICE_ROLE} (DATABASE_APP_PASSWORD sets its password at migration)`,
      ),
    )
  } else {
    findings.push(ok('database role', `${server.role} has what the services need and no more`))
  }

  const nas = await db.selectFrom('nas_clients').select(['network', 'secret']).execute()
  const weak = nas.filter((n) => Buffer.byteLength(n.secret) < MIN_SECRET_LENGTH).map((n) => n.network)
  if (nas.length === 0) {
    findings.push(
      warn('nas registry', 'no NAS registered: every Accounting-Request is dropped', 'radstream nas add --ip --secret'),
    )
  } else if (weak.length > 0) {
    findings.push(
      warn(
        'nas registry',
        `${weak.length} of ${nas.length} NAS have a secret shorter than ${MIN_SECRET_LENGTH} octets: ${weak.slice(0, 5).join(', ')}${weak.length > 5 ? ', ...' : ''}`,
        'give each a long random secret (RFC 2865 section 3), on the NAS and with radstream nas add',
      ),
    )
  } else {
    findings.push(ok('nas registry', `${nas.length} NAS registered`))
  }
  findings.push(...cadenceFindings(await learntCadences(db)))
  return findings
}

/**
 * Each NAS's cadence as its sessions show it, against the interval it is registered with (which
 * wins for the stale sweep): a registration far from what the NAS does keeps dead sessions open
 * too long, or closes live ones.
 */
export function cadenceFindings(cadences: readonly LearntCadence[]): Finding[] {
  return cadences.map((c) => {
    const seen = `NAS ${c.nas} reports every ${c.seconds} s (median of ${c.sessions} sessions)`
    const registered = c.registeredInterval
    if (registered !== null && (registered > 2 * c.seconds || 2 * registered < c.seconds))
      return warn(
        'nas cadence',
        `${seen}, but ${c.network} is registered with ${registered} s, which the stale sweep uses for its sessions without two Interim-Updates`,
        `radstream nas add --ip ${c.network} --interim-interval ${c.seconds} (or none, to use the learnt one)`,
      )
    return ok(
      'nas cadence',
      registered === null ? `${seen}; its silent sessions close by it` : `${seen}; registered ${registered} s`,
    )
  })
}

/** The collector's SO_RCVBUF request against the kernel's cap on it. */
export async function udpBufferFindings(
  settings: Settings,
  rmemMaxPath = '/proc/sys/net/core/rmem_max',
): Promise<Finding[]> {
  const wanted = settings.collector.receiveBufferBytes
  let cap: number
  try {
    cap = Number((await readFile(rmemMaxPath, 'utf8')).trim())
  } catch {
    return [ok('udp receive buffer', `${rmemMaxPath} not readable (not Linux): not checked`)]
  }
  return [
    cap < wanted
      ? warn(
          'udp receive buffer',
          `RADIUS_RECV_BUFFER_BYTES=${wanted} but the kernel caps it at net.core.rmem_max=${cap}: bursts beyond it are dropped by the kernel`,
          `sysctl -w net.core.rmem_max=${wanted} (and in /etc/sysctl.d to keep it)`,
        )
      : ok('udp receive buffer', `${wanted} bytes, within net.core.rmem_max=${cap}`),
  ]
}
