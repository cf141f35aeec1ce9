import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, openSync, readFileSync, writeFileSync, rmSync } from 'node:fs'
import path from 'node:path'
import { createKafka, isKafkaReachable } from '@radstream/kafka'
import { radstreamHome, REPO_ROOT } from './paths'
import { run } from './run'

const POM = path.join(REPO_ROOT, 'stack/kafka/pom.xml')

/** The broker version, pinned once in stack/kafka/pom.xml. */
export function pinnedKafkaVersion(): string {
  const match = /<kafka\.version>([^<]+)<\/kafka\.version>/.exec(readFileSync(POM, 'utf8'))
  if (!match?.[1]) throw new Error(`no <kafka.version> in ${POM}`)
  return match[1]
}

export interface LocalBrokerOptions {
  readonly port: number
  readonly controllerPort: number
  readonly partitions: number
  readonly log: (message: string) => void
}

interface BrokerPaths {
  readonly libs: string
  readonly state: string
  readonly data: string
  readonly logFile: string
  readonly pidFile: string
}

export function brokerPaths(version: string, port: number): BrokerPaths {
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

/** Copies the broker and its runtime dependencies from Maven into the cache, once per version. */
async function fetchBrokerJars(version: string, libs: string, log: (m: string) => void): Promise<void> {
  const marker = path.join(libs, '.complete')
  if (existsSync(marker)) return
  log(`fetching Apache Kafka ${version} broker jars with Maven into ${libs}`)
  rmSync(libs, { recursive: true, force: true })
  await run('mvn', ['-q', '-B', '-f', POM, 'dependency:copy-dependencies', `-DoutputDirectory=${libs}`])
  writeFileSync(marker, `${version}\n`)
}

function writeBrokerConfig(paths: BrokerPaths, options: LocalBrokerOptions): string {
  const properties = path.join(paths.state, 'server.properties')
  writeFileSync(
    properties,
    [
      '# Written by radstream: a single combined KRaft node on loopback for development and tests.',
      'process.roles=broker,controller',
      'node.id=1',
      `controller.quorum.bootstrap.servers=127.0.0.1:${options.controllerPort}`,
      `listeners=PLAINTEXT://127.0.0.1:${options.port},CONTROLLER://127.0.0.1:${options.controllerPort}`,
      `advertised.listeners=PLAINTEXT://127.0.0.1:${options.port}`,
      'controller.listener.names=CONTROLLER',
      'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
      'inter.broker.listener.name=PLAINTEXT',
      `log.dirs=${paths.data}`,
      `num.partitions=${options.partitions}`,
      'default.replication.factor=1',
      'min.insync.replicas=1',
      'offsets.topic.replication.factor=1',
      'offsets.topic.num.partitions=4',
      'transaction.state.log.replication.factor=1',
      'transaction.state.log.min.isr=1',
      'share.coordinator.state.topic.replication.factor=1',
      'share.coordinator.state.topic.min.isr=1',
      'group.initial.rebalance.delay.ms=0',
      '',
    ].join('\n'),
  )
  const log4j = path.join(paths.state, 'log4j2.yaml')
  writeFileSync(
    log4j,
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

function java(paths: BrokerPaths, mainClass: string, args: readonly string[]): string[] {
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

/**
 * Makes sure a broker answers on 127.0.0.1:<port>: reuses one that does, else fetches the pinned
 * jars, formats KRaft storage once and starts the broker detached, logging to a file. Idempotent.
 */
export async function ensureLocalKafka(options: LocalBrokerOptions): Promise<{ started: boolean; logFile: string }> {
  const version = pinnedKafkaVersion()
  const paths = brokerPaths(version, options.port)
  const brokers = [`127.0.0.1:${options.port}`]
  const kafka = createKafka({ brokers, clientId: 'radstream-stack' })
  if (await isKafkaReachable(kafka, brokers)) return { started: false, logFile: paths.logFile }

  await fetchBrokerJars(version, paths.libs, options.log)
  mkdirSync(paths.data, { recursive: true })
  const properties = writeBrokerConfig(paths, options)
  if (!existsSync(path.join(paths.data, 'meta.properties'))) {
    options.log(`formatting KRaft storage in ${paths.data}`)
    await run(
      'java',
      java(paths, 'kafka.tools.StorageTool', [
        'format',
        '--standalone',
        '-t',
        randomBytes(16).toString('base64url'),
        '-c',
        properties,
        '--ignore-formatted',
      ]),
    )
  }

  if (runningPid(paths.pidFile) === undefined) {
    options.log(`starting Kafka ${version} on 127.0.0.1:${options.port} (log: ${paths.logFile})`)
    const out = openSync(path.join(paths.state, 'broker.stdout'), 'a')
    const child = spawn('java', java(paths, 'kafka.Kafka', [properties]), {
      detached: true,
      stdio: ['ignore', out, out],
    })
    child.unref()
    writeFileSync(paths.pidFile, `${child.pid}\n`)
  }
  const ready = await waitUntil(
    () => isKafkaReachable(kafka, brokers),
    120_000,
    () => {
      if (runningPid(paths.pidFile) === undefined) {
        throw new Error(
          `Kafka broker exited during start-up; last log lines:\n${tail(paths.logFile, 30)}\n${tail(path.join(paths.state, 'broker.stdout'), 10)}`,
        )
      }
    },
  )
  if (!ready)
    throw new Error(`Kafka broker did not answer on 127.0.0.1:${options.port} within 120 s; see ${paths.logFile}`)
  return { started: true, logFile: paths.logFile }
}

/**
 * Stops the broker this project started (SIGTERM, then SIGKILL after 30 s). `crash` sends SIGKILL
 * at once, as a power cut would, for tests of the recovery that follows.
 */
export async function stopLocalKafka(
  port: number,
  log: (message: string) => void,
  { crash = false }: { crash?: boolean } = {},
): Promise<boolean> {
  const paths = brokerPaths(pinnedKafkaVersion(), port)
  const pid = runningPid(paths.pidFile)
  if (pid === undefined) return false
  log(`${crash ? 'killing' : 'stopping'} Kafka broker (pid ${pid})`)
  process.kill(pid, crash ? 'SIGKILL' : 'SIGTERM')
  const stopped = await waitUntil(async () => runningPid(paths.pidFile) === undefined, 30_000)
  if (!stopped) process.kill(pid, 'SIGKILL')
  rmSync(paths.pidFile, { force: true })
  return true
}
