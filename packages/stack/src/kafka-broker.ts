import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, openSync, readFileSync, writeFileSync, rmSync } from 'node:fs'
import path from 'node:path'
import { createKafka, isKafkaReachable, portAccepts } from '@radstream/kafka'
import { ensureCertificateAuthority, ensureServerKeystore } from './certificates'
import { radstreamHome, REPO_ROOT } from './paths'
import { run } from './run'

const POM = path.join(REPO_ROOT, 'stack/kafka/pom.xml')

/** The broker version, pinned once in stack/kafka/pom.xml. */
export function pinnedKafkaVersion(): string {
  const match = /<kafka\.version>([^<]+)<\/kafka\.version>/.exec(readFileSync(POM, 'utf8'))
  if (!match?.[1]) throw new Error(`no <kafka.version> in ${POM}`)
  return match[1]
}

/** The SASL user every local secure listener knows, with PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512. */
export const LOCAL_SASL_USER = 'radstream'

/**
 * A local KRaft cluster on loopback: one combined broker-and-controller node per port. Node i
 * listens for plaintext clients on `ports[i]`, for its controller quorum on `ports[i] + 1` and,
 * when `secure`, for SASL_SSL clients on `ports[i] + 2`.
 */
export interface LocalClusterOptions {
  readonly ports: readonly number[]
  /** A SASL_SSL listener beside the plaintext one (CA made with openssl at setup); default: clusters of 2 or more. */
  readonly secure?: boolean
  readonly partitions: number
  readonly log: (message: string) => void
  /** Start only these of the cluster's nodes (a test bringing one node back); default: all. */
  readonly only?: readonly number[]
}

/** One loopback broker on `port` (controller on `controllerPort`): the single-node stack of `npm start`. */
export interface LocalBrokerOptions {
  readonly port: number
  readonly controllerPort: number
  readonly partitions: number
  readonly log: (message: string) => void
}

/** What a client needs to reach a local cluster's SASL_SSL listeners. */
export interface SecureListeners {
  readonly brokers: readonly string[]
  readonly caFile: string
  readonly username: string
  readonly passwordFile: string
}

interface NodePaths {
  readonly libs: string
  readonly state: string
  readonly data: string
  readonly logFile: string
  readonly pidFile: string
}

function nodePaths(version: string, port: number): NodePaths {
  const home = radstreamHome()
  const state = path.join(home, `kafka-${port}`)
  return {
    libs: path.join(home, 'cache', `kafka-${version}`, 'libs'),
    state,
    data: path.join(state, 'data'),
    logFile: path.join(state, 'broker.log'),
    pidFile: path.join(state, 'broker.pid'),
  }
}

/** Where a cluster keeps what its nodes share: its id and the SASL password. */
function clusterDir(ports: readonly number[]): string {
  return path.join(radstreamHome(), `cluster-${ports[0]}`)
}

function tlsDir(): string {
  return path.join(radstreamHome(), 'tls')
}

/** Copies the broker and its runtime dependencies from Maven into the cache, once per version. */
async function fetchBrokerJars(version: string, libs: string, log: (m: string) => void): Promise<void> {
  const marker = path.join(libs, '.complete')
  if (existsSync(marker)) return
  log(`fetching Apache Kafka ${version} broker jars with Maven into ${libs}`)
  rmSync(libs, { recursive: true, force: true })
  await run('mvn', ['-q', '-B', '-f', POM, 'dependency:copy-dependencies', `-DoutputDirectory=${libs}`])
  writeFileSync(marker, `${version}\n`)
}

/** A value written once into `file` by `make` and read back by every later run. */
function persistent(file: string, make: () => string): string {
  if (!existsSync(file)) {
    mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 })
    writeFileSync(file, `${make()}\n`, { mode: 0o600 })
  }
  return readFileSync(file, 'utf8').trim()
}

/** A single node without a secure listener keeps the dynamic-quorum (--standalone) layout it always had. */
const isStandalone = (node: NodeConfig) => node.ports.length === 1 && !node.security

interface NodeConfig {
  readonly id: number
  readonly port: number
  readonly ports: readonly number[]
  readonly partitions: number
  readonly security: { keystoreFile: string; keystorePassword: string; saslPassword: string } | undefined
}

/**
 * server.properties of one node. A single node without security keeps the dynamic-quorum layout
 * it always had (storage formatted with --standalone); a cluster names its voters statically.
 * Replication of the internal topics follows the cluster's size: 3 (2 in sync) from 3 nodes on.
 */
function brokerProperties(paths: NodePaths, node: NodeConfig): string[] {
  const single = isStandalone(node)
  const replicas = Math.min(3, node.ports.length)
  const inSync = replicas >= 3 ? 2 : 1
  const listeners = [`PLAINTEXT://127.0.0.1:${node.port}`]
  const protocols = ['PLAINTEXT:PLAINTEXT', 'CONTROLLER:PLAINTEXT']
  if (node.security) {
    listeners.push(`SASL_SSL://127.0.0.1:${node.port + 2}`)
    protocols.push('SASL_SSL:SASL_SSL')
  }
  const lines = [
    `# Written by radstream: node ${node.id} of a local KRaft cluster of ${node.ports.length} on loopback.`,
    'process.roles=broker,controller',
    `node.id=${node.id}`,
    single
      ? `controller.quorum.bootstrap.servers=127.0.0.1:${node.port + 1}`
      : `controller.quorum.voters=${node.ports.map((p, i) => `${i + 1}@127.0.0.1:${p + 1}`).join(',')}`,
    `listeners=${[...listeners, `CONTROLLER://127.0.0.1:${node.port + 1}`].join(',')}`,
    `advertised.listeners=${listeners.join(',')}`,
    'controller.listener.names=CONTROLLER',
    `listener.security.protocol.map=${protocols.join(',')}`,
    'inter.broker.listener.name=PLAINTEXT',
    `log.dirs=${paths.data}`,
    `num.partitions=${node.partitions}`,
    `default.replication.factor=${replicas}`,
    `min.insync.replicas=${inSync}`,
    `offsets.topic.replication.factor=${replicas}`,
    'offsets.topic.num.partitions=4',
    `transaction.state.log.replication.factor=${replicas}`,
    `transaction.state.log.min.isr=${inSync}`,
    `share.coordinator.state.topic.replication.factor=${replicas}`,
    `share.coordinator.state.topic.min.isr=${inSync}`,
    'group.initial.rebalance.delay.ms=0',
  ]
  if (node.security) {
    const scram = 'org.apache.kafka.common.security.scram.ScramLoginModule required;'
    lines.push(
      'sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512',
      `listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_${LOCAL_SASL_USER}="${node.security.saslPassword}";`,
      `listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=${scram}`,
      `listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=${scram}`,
      'ssl.keystore.type=PKCS12',
      `ssl.keystore.location=${node.security.keystoreFile}`,
      `ssl.keystore.password=${node.security.keystorePassword}`,
      `ssl.key.password=${node.security.keystorePassword}`,
      'ssl.client.auth=none',
    )
  }
  return [...lines, '']
}

function writeNodeConfig(paths: NodePaths, node: NodeConfig): string {
  const properties = path.join(paths.state, 'server.properties')
  writeFileSync(properties, brokerProperties(paths, node).join('\n'), { mode: 0o600 })
  writeFileSync(
    path.join(paths.state, 'log4j2.yaml'),
    [
      'Configuration:',
      '  Appenders:',
      '    RollingFile:',
      '      name: file',
      `      fileName: ${paths.logFile}`,
      `      filePattern: ${paths.logFile}.%i`,
      '      PatternLayout: { pattern: "[%d] %p %m (%c)%n" }',
      '      Policies: { SizeBasedTriggeringPolicy: { size: 50MB } }',
      '      DefaultRolloverStrategy: { max: 3 }',
      '  Loggers:',
      '    Root: { level: INFO, AppenderRef: { ref: file } }',
      '',
    ].join('\n'),
  )
  return properties
}

function java(paths: NodePaths, mainClass: string, args: readonly string[]): string[] {
  return [
    '-Xms256m',
    '-Xmx1g',
    '-XX:+UseG1GC',
    `-Dlog4j2.configurationFile=${path.join(paths.state, 'log4j2.yaml')}`,
    '-cp',
    `${paths.libs}/*`,
    mainClass,
    ...args,
  ]
}

function runningPid(pidFile: string): number | undefined {
  if (!existsSync(pidFile)) return undefined
  const pid = Number(readFileSync(pidFile, 'utf8').trim())
  try {
    process.kill(pid, 0)
    return pid
  } catch {
    return undefined
  }
}

async function waitUntil(check: () => Promise<boolean>, timeoutMs: number, onTick?: () => void): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (await check()) return true
    onTick?.()
    await new Promise((resolve) => setTimeout(resolve, 500))
  }
  return false
}

function tail(file: string, lines: number): string {
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n') : '(no log)'
}

/** Formats a node's storage once and starts it detached unless it runs; resolves when it answers. */
async function ensureNode(
  version: string,
  node: NodeConfig,
  clusterId: string,
  log: (message: string) => void,
): Promise<boolean> {
  const paths = nodePaths(version, node.port)
  const brokers = [`127.0.0.1:${node.port}`]
  const kafka = createKafka({ brokers, clientId: 'radstream-stack' })
  if (await isKafkaReachable(kafka, brokers)) return false

  mkdirSync(paths.data, { recursive: true })
  const properties = writeNodeConfig(paths, node)
  if (!existsSync(path.join(paths.data, 'meta.properties'))) {
    log(`formatting KRaft storage in ${paths.data}`)
    const single = isStandalone(node)
    const scram = node.security
      ? ['SCRAM-SHA-256', 'SCRAM-SHA-512'].flatMap((m) => [
          '--add-scram',
          `${m}=[name=${LOCAL_SASL_USER},password=${node.security!.saslPassword}]`,
        ])
      : []
    await run(
      'java',
      java(paths, 'kafka.tools.StorageTool', [
        'format',
        ...(single ? ['--standalone'] : []),
        '-t',
        clusterId,
        '-c',
        properties,
        '--ignore-formatted',
        ...scram,
      ]),
    )
  }

  // A node whose port is open is starting or recovering (its pid file may be another run's): wait for it.
  if (runningPid(paths.pidFile) === undefined && !(await portAccepts(brokers[0]!, 1000))) {
    log(`starting Kafka ${version} node ${node.id} on 127.0.0.1:${node.port} (log: ${paths.logFile})`)
    const out = openSync(path.join(paths.state, 'broker.stdout'), 'a')
    const child = spawn('java', java(paths, 'kafka.Kafka', [properties]), {
      detached: true,
      stdio: ['ignore', out, out],
    })
    child.unref()
    writeFileSync(paths.pidFile, `${child.pid}\n`)
  }
  // A cluster node answers only once a quorum of its voters runs: the caller starts them all at once.
  const ready = await waitUntil(
    () => isKafkaReachable(kafka, brokers),
    120_000,
    () => {
      if (runningPid(paths.pidFile) === undefined) {
        throw new Error(
          `Kafka node ${node.id} exited during start-up; last log lines:\n${tail(paths.logFile, 30)}\n${tail(path.join(paths.state, 'broker.stdout'), 10)}`,
        )
      }
    },
  )
  if (!ready)
    throw new Error(`Kafka node ${node.id} did not answer on 127.0.0.1:${node.port} within 120 s; see ${paths.logFile}`)
  return true
}

/**
 * Makes sure every node of a local cluster answers: reuses the nodes that do, else fetches the
 * pinned jars, formats each node's storage once (one cluster id, SCRAM users when secure) and
 * starts the missing nodes detached, logging to files. Idempotent; also restarts a killed node.
 * Returns the secure listeners' client settings when `secure`.
 */
export async function ensureLocalCluster(
  options: LocalClusterOptions,
): Promise<{ started: number; secure?: SecureListeners }> {
  const version = pinnedKafkaVersion()
  const { ports, log } = options
  if (ports.length === 0) throw new Error('a local Kafka cluster needs at least one port')
  await fetchBrokerJars(version, nodePaths(version, ports[0]!).libs, log)
  const shared = clusterDir(ports)
  const wantSecure = options.secure ?? ports.length > 1
  const single = ports.length === 1 && !wantSecure
  // A KRaft cluster id is 16 bytes, base64url. Every node of a cluster formats with the same one.
  // One that starts with '-' reads as an option to kafka-storage (its own random-uuid never gives
  // one): 1 format in 64 failed so.
  const newClusterId = (): string => {
    const id = randomBytes(16).toString('base64url')
    return id.startsWith('-') ? newClusterId() : id
  }
  const clusterId = single ? newClusterId() : persistent(path.join(shared, 'cluster.id'), newClusterId)
  let security: NodeConfig['security']
  let secure: SecureListeners | undefined
  if (wantSecure) {
    const ca = await ensureCertificateAuthority(tlsDir(), 'radstream local CA')
    const keystore = await ensureServerKeystore(tlsDir(), ca)
    const passwordFile = path.join(shared, 'sasl-password')
    const saslPassword = persistent(passwordFile, () => randomBytes(18).toString('base64url'))
    security = { keystoreFile: keystore.keystoreFile, keystorePassword: keystore.password, saslPassword }
    secure = {
      brokers: ports.map((p) => `127.0.0.1:${p + 2}`),
      caFile: ca.caFile,
      username: LOCAL_SASL_USER,
      passwordFile,
    }
  }
  const started = await Promise.all(
    ports.map((port, i) =>
      options.only && !options.only.includes(port)
        ? false
        : ensureNode(version, { id: i + 1, port, ports, partitions: options.partitions, security }, clusterId, log),
    ),
  )
  return { started: started.filter(Boolean).length, ...(secure && { secure }) }
}

/** The single loopback broker of `npm start` (a cluster of one). */
export async function ensureLocalKafka(options: LocalBrokerOptions): Promise<{ started: boolean; logFile: string }> {
  const { started } = await ensureLocalCluster({
    ports: [options.port],
    partitions: options.partitions,
    log: options.log,
  })
  return { started: started > 0, logFile: nodePaths(pinnedKafkaVersion(), options.port).logFile }
}

/** The pid of the local node on `port`, when it runs. */
export function localNodePid(port: number): number | undefined {
  return runningPid(nodePaths(pinnedKafkaVersion(), port).pidFile)
}

/**
 * Stops the node this project started on `port` (SIGTERM, then SIGKILL after 30 s). `crash` sends
 * SIGKILL at once, as a power cut would, for tests of the recovery that follows.
 */
export async function stopLocalKafka(
  port: number,
  log: (message: string) => void,
  { crash = false }: { crash?: boolean } = {},
): Promise<boolean> {
  const paths = nodePaths(pinnedKafkaVersion(), port)
  const pid = runningPid(paths.pidFile)
  if (pid === undefined) return false
  log(`${crash ? 'killing' : 'stopping'} Kafka node on 127.0.0.1:${port} (pid ${pid})`)
  process.kill(pid, crash ? 'SIGKILL' : 'SIGTERM')
  const stopped = await waitUntil(async () => runningPid(paths.pidFile) === undefined, 30_000)
  if (!stopped) process.kill(pid, 'SIGKILL')
  rmSync(paths.pidFile, { force: true })
  return true
}

/** Stops every node of a local cluster; resolves with how many were running. */
export async function stopLocalCluster(ports: readonly number[], log: (message: string) => void): Promise<number> {
  const stopped = await Promise.all(ports.map((port) => stopLocalKafka(port, log)))
  return stopped.filter(Boolean).length
}

/**
 * The plaintext port of the node that leads a local cluster's controller quorum, from the
 * quorum-state file each running voter keeps: the leader of the highest epoch any of them saw.
 */
export function activeControllerPort(ports: readonly number[]): number | undefined {
  const version = pinnedKafkaVersion()
  let best: { epoch: number; leader: number } | undefined
  for (const port of ports) {
    const paths = nodePaths(version, port)
    if (runningPid(paths.pidFile) === undefined) continue
    try {
      const state = JSON.parse(readFileSync(path.join(paths.data, '__cluster_metadata-0', 'quorum-state'), 'utf8')) as {
        leaderId: number
        leaderEpoch: number
      }
      if (state.leaderId > 0 && (!best || state.leaderEpoch > best.epoch))
        best = { epoch: state.leaderEpoch, leader: state.leaderId }
    } catch {
      // a node that has not written its state yet knows no leader
    }
  }
  return best ? ports[best.leader - 1] : undefined
}
