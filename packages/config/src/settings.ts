import { CONSOLE_BUILD_DIR } from './paths'
import { ConfigError, EnvReader, type Env, type Secret } from './env'
import { LOG_FORMATS, type LogFormat } from './logger'

export const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/radstream'
export const DEFAULT_TOPIC = 'radius.accounting.v1'

/**
 * The sessionizers' consumer group unless SESSIONIZER_GROUP_ID says otherwise: one per topic, so
 * two deployments on one Kafka with different topics never share a group by accident (a group
 * whose members read different topics leaves some of them without partitions, silently). The
 * default topic keeps the group it always had.
 */
export function defaultGroupId(topic: string): string {
  return topic === DEFAULT_TOPIC ? 'radstream-sessionizer' : `radstream-sessionizer.${topic}`
}

export interface DatabaseSettings {
  readonly url: string
  readonly poolSize: number
  /**
   * The password migrations give the services' role (radstream_app), and `radstream up` connects
   * the services with; unset: the role keeps the one it has (none: trust or peer auth only).
   */
  readonly appPassword: Secret | undefined
  /**
   * The API runs its statements as named prepared statements (planned once a connection, for any
   * values). Off for a connection pooler that cannot keep them (PgBouncer in transaction mode
   * before 1.21).
   */
  readonly preparedStatements: boolean
}

export const KAFKA_SASL_MECHANISMS = ['plain', 'scram-sha-256', 'scram-sha-512'] as const
export type KafkaSaslMechanism = (typeof KAFKA_SASL_MECHANISMS)[number]

/** TLS to the brokers; the broker's certificate and name are always checked. */
export interface KafkaTlsSettings {
  /** PEM CA bundle; unset: Node's public CAs. */
  readonly ca: string | undefined
  /** PEM client certificate and key, for brokers that ask for one (mutual TLS). */
  readonly cert: string | undefined
  readonly key: string | undefined
  readonly keyPassword: Secret | undefined
}

export interface KafkaSaslSettings {
  readonly mechanism: KafkaSaslMechanism
  readonly username: string
  readonly password: Secret
}

/** How a topic radstream creates is replicated; unset: chosen from the cluster's size. */
export interface TopicReplication {
  readonly replicationFactor: number | undefined
  readonly minInsyncReplicas: number | undefined
}

/** Where the brokers are and how to reach them: all a Kafka client needs. */
export interface KafkaConnection {
  readonly brokers: readonly string[]
  readonly tls: KafkaTlsSettings | undefined
  readonly sasl: KafkaSaslSettings | undefined
}

export interface KafkaSettings extends KafkaConnection {
  readonly clientId: string
  readonly topic: string
  readonly partitions: number
  readonly replication: TopicReplication
  readonly deadLetterReplication: TopicReplication
}

export interface CollectorSettings {
  readonly host: string
  readonly port: number
  /** How often the NAS registry is re-read from PostgreSQL. */
  readonly nasRefreshMs: number
  /** How long a record waits for others to share its Kafka produce request. */
  readonly lingerMs: number
  readonly maxBatch: number
  /** Records awaiting Kafka's ack at most; beyond it new packets are dropped, never queued. */
  readonly maxInFlight: number
  /** How long a retransmission is answered from the duplicate cache (RFC 5080 2.2.2). */
  readonly duplicateTtlMs: number
  readonly metricsHost: string
  readonly metricsPort: number
  /** SO_RCVBUF of the accounting socket; the kernel caps it at net.core.rmem_max. */
  readonly receiveBufferBytes: number
  /**
   * The Kafka record value: binary (schema v2, the packet behind a small header) or json (v1).
   * Sessionizers read both; json is for consumers of the topic that read only v1.
   */
  readonly recordFormat: RecordFormat
}

export const RECORD_FORMATS = ['binary', 'json'] as const
export type RecordFormat = (typeof RECORD_FORMATS)[number]

export interface SessionizerSettings {
  readonly groupId: string
  readonly metricsHost: string
  readonly metricsPort: number
  readonly deadLetterTopic: string
  /** A fetch waits for this many bytes (or fetchWaitMs) so that batches, and transactions, are larger. */
  readonly fetchMinBytes: number
  readonly fetchWaitMs: number
  /** How soon the group notices a dead sessionizer and gives its partitions to the others. */
  readonly sessionTimeoutMs: number
  /** Kafka partitions whose batches are written at the same time, each in its own transaction. */
  readonly partitionsConcurrently: number
  /** Records one batch (one PostgreSQL transaction) holds at most. */
  readonly maxBatch: number
  /** An open session is stale after this many of its interim intervals without accounting... */
  readonly staleInterimMultiplier: number
  /** ...or after this long when its interim interval is unknown... */
  readonly staleWithoutInterimSeconds: number
  /** ...but never when heard from within this long. */
  readonly staleMinSilenceSeconds: number
  readonly staleSweepIntervalMs: number
  /** Sessions and audit events older than this are removed. */
  readonly retentionDays: number
  /** Counter reports of a session closed this long ago are removed; its usage split is then final. */
  readonly usageReportsRetentionHours: number
  /** A session's share of a day (session_usage_days) is kept this long: its month's partition is then dropped. */
  readonly usageDaysRetentionDays: number
  /** Each user's daily rollup (usage_daily) is kept this long, by month partitions too. */
  readonly usageDailyRetentionDays: number
  /** Each user's monthly totals (usage_monthly) and quota crossings are kept this long, by month partitions. */
  readonly usageMonthlyRetentionDays: number
  readonly retentionSweepIntervalMs: number
  /** How often the audit chain's newest events are verified (radstream_sessionizer_audit_chain_broken). */
  readonly auditVerifyIntervalMs: number
  /** How often every audit lane's head is sealed (a seal is written only when a lane moved). */
  readonly auditSealIntervalMs: number
  /** The Kafka topic the seals are written to, where the database cannot rewrite them. */
  readonly auditSealTopic: string
  /** A file each seal is appended to as well (a JSON line), for a copy off the cluster; unset: none. */
  readonly auditSealFile: string | undefined
}

export interface ApiSettings {
  readonly host: string
  readonly port: number
  readonly graphiql: boolean
  /** HS256 key for access tokens, at least 32 octets; unset: the random key stored in the database at migration. */
  readonly tokenSecret: Secret | undefined
  readonly tokenTtlSeconds: number
  /** Failed token requests a window allows from one address for one client id, and for any. */
  readonly tokenFailuresPerClientAndAddress: number
  readonly tokenFailuresPerAddress: number
  readonly tokenFailureWindowSeconds: number
  /** The built console (index.html and assets/), served at /console. */
  readonly consoleDir: string
  readonly limits: ApiLimits
  /** Where GET /metrics is served (not on the API's own port). */
  readonly metricsHost: string
  readonly metricsPort: number
}

/** What one API client may ask of one API process (each instance counts on its own). */
export interface ApiLimits {
  /** The most rows one GraphQL request may make the database read (query-cost.ts). */
  readonly graphqlMaxCost: number
  readonly graphqlRequestsPerMinute: number
  /** Exports one client may stream at once. */
  readonly exportsPerClient: number
  /** PostgreSQL connections the exports have, apart from the API's pool: slow readers cannot starve it. */
  readonly exportPoolSize: number
}

/** Disconnect- and CoA-Requests (RFC 5176) that the API and the CLI send to a NAS. */
export interface DynamicAuthorizationSettings {
  /** The first wait for an answer; each retransmission doubles it. */
  readonly timeoutMs: number
  /** Transmissions in all: the whole wait is timeoutMs * (2^attempts - 1). */
  readonly attempts: number
  /** Requests an API client may send a minute. */
  readonly rateLimitPerMinute: number
}

export interface Settings {
  readonly logLevel: string
  /** pretty on a terminal, JSON otherwise (auto); JSON always with NODE_ENV=production. */
  readonly logFormat: LogFormat
  readonly database: DatabaseSettings
  readonly kafka: KafkaSettings
  readonly collector: CollectorSettings
  readonly sessionizer: SessionizerSettings
  readonly api: ApiSettings
  readonly dynamicAuthorization: DynamicAuthorizationSettings
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const

/**
 * Every setting radstream reads, validated once at start: a bad value throws ConfigError naming
 * the variable. The defaults run against the local stack that `radstream up` starts.
 */
export function loadSettings(env: Env = process.env): Settings {
  const read = new EnvReader(env)
  const topic = read.string('KAFKA_TOPIC', DEFAULT_TOPIC)
  const settings: Settings = {
    logLevel: read.oneOf('LOG_LEVEL', 'info', LOG_LEVELS),
    logFormat: read.oneOf('LOG_FORMAT', 'auto', LOG_FORMATS),
    database: {
      url: read.url('DATABASE_URL', DEFAULT_DATABASE_URL),
      poolSize: read.integer('DATABASE_POOL_SIZE', 10, { min: 1, max: 1000 }),
      appPassword: read.secret('DATABASE_APP_PASSWORD'),
      preparedStatements: read.boolean('DATABASE_PREPARED_STATEMENTS', true),
    },
    kafka: readKafka(read, topic),
    collector: {
      host: read.string('RADIUS_ACCT_HOST', '0.0.0.0'),
      port: read.port('RADIUS_ACCT_PORT', 1813),
      nasRefreshMs: read.integer('NAS_REFRESH_MS', 5000, { min: 100, max: 3_600_000 }),
      lingerMs: read.integer('KAFKA_LINGER_MS', 2, { min: 0, max: 1000 }),
      maxBatch: read.integer('KAFKA_MAX_BATCH', 500, { min: 1, max: 100_000 }),
      maxInFlight: read.integer('COLLECTOR_MAX_IN_FLIGHT', 20_000, { min: 1, max: 1_000_000 }),
      duplicateTtlMs: read.integer('DUPLICATE_TTL_MS', 30_000, { min: 0, max: 600_000 }),
      // Loopback unless configured: the ops ports are for the local scraper, not the network.
      metricsHost: read.string('COLLECTOR_METRICS_HOST', '127.0.0.1'),
      metricsPort: read.port('COLLECTOR_METRICS_PORT', 9813),
      receiveBufferBytes: read.integer('RADIUS_RECV_BUFFER_BYTES', 8 * 1024 * 1024, { min: 65_536, max: 1 << 30 }),
      recordFormat: read.oneOf('KAFKA_RECORD_FORMAT', 'binary', RECORD_FORMATS),
    },
    sessionizer: {
      groupId: read.string('SESSIONIZER_GROUP_ID', defaultGroupId(topic)),
      metricsHost: read.string('SESSIONIZER_METRICS_HOST', '127.0.0.1'),
      metricsPort: read.port('SESSIONIZER_METRICS_PORT', 9814),
      deadLetterTopic: read.string('KAFKA_DEAD_LETTER_TOPIC', `${topic}.dead-letter`),
      fetchMinBytes: read.integer('SESSIONIZER_FETCH_MIN_BYTES', 65_536, { min: 1, max: 64 * 1024 * 1024 }),
      fetchWaitMs: read.integer('SESSIONIZER_FETCH_WAIT_MS', 100, { min: 0, max: 10_000 }),
      sessionTimeoutMs: read.integer('SESSIONIZER_SESSION_TIMEOUT_MS', 30_000, { min: 6000, max: 300_000 }),
      partitionsConcurrently: read.integer('SESSIONIZER_PARTITIONS_CONCURRENTLY', 1, { min: 1, max: 64 }),
      maxBatch: read.integer('SESSIONIZER_MAX_BATCH', 5000, { min: 1, max: 100_000 }),
      staleInterimMultiplier: read.integer('STALE_INTERIM_MULTIPLIER', 3, { min: 1, max: 100 }),
      staleWithoutInterimSeconds: read.integer('STALE_WITHOUT_INTERIM_SECONDS', 86_400, { min: 1, max: 31_536_000 }),
      staleMinSilenceSeconds: read.integer('STALE_MIN_SILENCE_SECONDS', 60, { min: 1, max: 31_536_000 }),
      staleSweepIntervalMs: read.integer('STALE_SWEEP_INTERVAL_MS', 60_000, { min: 100, max: 86_400_000 }),
      retentionDays: read.integer('RETENTION_DAYS', 400, { min: 1, max: 36_500 }),
      usageReportsRetentionHours: read.integer('USAGE_REPORTS_RETENTION_HOURS', 168, { min: 1, max: 876_000 }),
      usageDaysRetentionDays: read.integer('USAGE_DAYS_RETENTION_DAYS', 400, { min: 31, max: 36_500 }),
      usageDailyRetentionDays: read.integer('USAGE_DAILY_RETENTION_DAYS', 800, { min: 31, max: 36_500 }),
      usageMonthlyRetentionDays: read.integer('USAGE_MONTHLY_RETENTION_DAYS', 1100, { min: 62, max: 36_500 }),
      retentionSweepIntervalMs: read.integer('RETENTION_SWEEP_INTERVAL_MS', 3_600_000, { min: 1000, max: 86_400_000 }),
      auditVerifyIntervalMs: read.integer('AUDIT_VERIFY_INTERVAL_MS', 300_000, { min: 1000, max: 86_400_000 }),
      auditSealIntervalMs: read.integer('AUDIT_SEAL_INTERVAL_MS', 60_000, { min: 100, max: 86_400_000 }),
      auditSealTopic: read.string('AUDIT_SEAL_TOPIC', `${topic}.audit-seals`),
      auditSealFile: read.optionalString('AUDIT_SEAL_FILE'),
    },
    api: {
      host: read.string('HOST', '0.0.0.0'),
      port: read.port('PORT', 3000),
      graphiql: read.boolean('GRAPHIQL', false),
      tokenSecret: tokenSecret(read),
      tokenTtlSeconds: read.integer('AUTH_TOKEN_TTL_SECONDS', 3600, { min: 60, max: 86_400 }),
      tokenFailuresPerClientAndAddress: read.integer('AUTH_FAILURES_PER_CLIENT_AND_ADDRESS', 5, {
        min: 1,
        max: 10_000,
      }),
      tokenFailuresPerAddress: read.integer('AUTH_FAILURES_PER_ADDRESS', 30, { min: 1, max: 100_000 }),
      tokenFailureWindowSeconds: read.integer('AUTH_FAILURE_WINDOW_SECONDS', 60, { min: 1, max: 3600 }),
      consoleDir: read.string('CONSOLE_DIR', CONSOLE_BUILD_DIR),
      metricsHost: read.string('API_METRICS_HOST', '127.0.0.1'),
      metricsPort: read.port('API_METRICS_PORT', 9815),
      limits: {
        graphqlMaxCost: read.integer('GRAPHQL_MAX_COST', 20_000, { min: 100, max: 10_000_000 }),
        graphqlRequestsPerMinute: read.integer('GRAPHQL_RATE_LIMIT_PER_MINUTE', 600, { min: 1, max: 1_000_000 }),
        exportsPerClient: read.integer('EXPORTS_PER_CLIENT', 2, { min: 1, max: 100 }),
        exportPoolSize: read.integer('EXPORT_POOL_SIZE', 4, { min: 1, max: 100 }),
      },
    },
    dynamicAuthorization: {
      timeoutMs: read.integer('DAE_TIMEOUT_MS', 1000, { min: 50, max: 10_000 }),
      attempts: read.integer('DAE_ATTEMPTS', 3, { min: 1, max: 5 }),
      rateLimitPerMinute: read.integer('DAE_RATE_LIMIT_PER_MINUTE', 30, { min: 1, max: 100_000 }),
    },
  }
  return deepFreeze(settings)
}

/** HS256 keys shorter than the hash (32 octets) are weaker than the signature; RFC 7518 3.2 requires at least that. */
const MIN_TOKEN_SECRET_OCTETS = 32

function tokenSecret(read: EnvReader): Secret | undefined {
  const secret = read.secret('AUTH_TOKEN_SECRET')
  if (secret !== undefined && Buffer.byteLength(secret.reveal()) < MIN_TOKEN_SECRET_OCTETS)
    throw new ConfigError(
      `AUTH_TOKEN_SECRET (or AUTH_TOKEN_SECRET_FILE) must be at least ${MIN_TOKEN_SECRET_OCTETS} octets (RFC 7518 3.2); try: openssl rand -base64 48`,
    )
  return secret
}

const REPLICAS = { min: 1, max: 32 }

/** Both given, the minimum in sync must not exceed the replicas: no write could ever be acknowledged. */
function checkedReplication(replication: TopicReplication, prefix: string): TopicReplication {
  const { replicationFactor, minInsyncReplicas } = replication
  if (replicationFactor !== undefined && minInsyncReplicas !== undefined && minInsyncReplicas > replicationFactor) {
    throw new ConfigError(
      `${prefix}MIN_INSYNC_REPLICAS=${minInsyncReplicas} exceeds ${prefix}REPLICATION_FACTOR=${replicationFactor}: no write could ever be acknowledged`,
    )
  }
  return replication
}

function readKafkaTls(read: EnvReader): KafkaTlsSettings | undefined {
  const ca = read.fileContents('KAFKA_TLS_CA_FILE')
  const cert = read.fileContents('KAFKA_TLS_CERT_FILE')
  const key = read.fileContents('KAFKA_TLS_KEY_FILE')
  const keyPassword = read.secret('KAFKA_TLS_KEY_PASSWORD')
  if ((cert === undefined) !== (key === undefined)) {
    throw new ConfigError(
      'KAFKA_TLS_CERT_FILE and KAFKA_TLS_KEY_FILE: a client certificate needs its key, and a key its certificate',
    )
  }
  const enabled = read.boolean('KAFKA_TLS', ca !== undefined || cert !== undefined)
  if (!enabled) {
    if (ca !== undefined || cert !== undefined) {
      throw new ConfigError('KAFKA_TLS=false but KAFKA_TLS_CA_FILE or KAFKA_TLS_CERT_FILE is set: say which you mean')
    }
    return undefined
  }
  return { ca, cert, key, keyPassword }
}

function readKafkaSasl(read: EnvReader): KafkaSaslSettings | undefined {
  const mechanism = read.optionalOneOf('KAFKA_SASL_MECHANISM', KAFKA_SASL_MECHANISMS)
  const username = read.optionalString('KAFKA_SASL_USERNAME')
  const password = read.secret('KAFKA_SASL_PASSWORD')
  if (mechanism === undefined) {
    if (username !== undefined || password !== undefined) {
      throw new ConfigError('KAFKA_SASL_USERNAME or KAFKA_SASL_PASSWORD is set but KAFKA_SASL_MECHANISM is not')
    }
    return undefined
  }
  if (username === undefined) throw new ConfigError(`KAFKA_SASL_MECHANISM=${mechanism} needs KAFKA_SASL_USERNAME`)
  if (password === undefined) {
    throw new ConfigError(`KAFKA_SASL_MECHANISM=${mechanism} needs KAFKA_SASL_PASSWORD or KAFKA_SASL_PASSWORD_FILE`)
  }
  return { mechanism, username, password }
}

function readKafka(read: EnvReader, topic: string): KafkaSettings {
  const replication = checkedReplication(
    {
      replicationFactor: read.optionalInteger('KAFKA_REPLICATION_FACTOR', REPLICAS),
      minInsyncReplicas: read.optionalInteger('KAFKA_MIN_INSYNC_REPLICAS', REPLICAS),
    },
    'KAFKA_',
  )
  return {
    brokers: read.list('KAFKA_BROKERS', ['127.0.0.1:9092']),
    tls: readKafkaTls(read),
    sasl: readKafkaSasl(read),
    clientId: read.string('KAFKA_CLIENT_ID', 'radstream'),
    topic,
    partitions: read.integer('KAFKA_TOPIC_PARTITIONS', 6, { min: 1, max: 1000 }),
    replication,
    // Unset, the dead-letter topic is replicated as the accounting topic: it holds what was acked too.
    deadLetterReplication: checkedReplication(
      {
        replicationFactor:
          read.optionalInteger('KAFKA_DEAD_LETTER_REPLICATION_FACTOR', REPLICAS) ?? replication.replicationFactor,
        minInsyncReplicas:
          read.optionalInteger('KAFKA_DEAD_LETTER_MIN_INSYNC_REPLICAS', REPLICAS) ?? replication.minInsyncReplicas,
      },
      'KAFKA_DEAD_LETTER_',
    ),
  }
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const child of Object.values(value)) deepFreeze(child)
    Object.freeze(value)
  }
  return value
}
