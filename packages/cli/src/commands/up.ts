import { spawn, type ChildProcess } from 'node:child_process'
import { loadSettings, serviceNodeFlags } from '@radstream/config'
import { migrateDatabase, SERVICE_ROLES, serviceRoleUrl } from '@radstream/db'
import { requireDependencies } from './dependencies'
import { loadLocalStack, localStackWanted } from './local-stack'
import type { ServiceName } from './service'
import { parseCommandArgs } from './shared'

/** The services run from the entry this process runs from: compiled dist/radstream.js, or bin/ under tsx. */
const ENTRY = process.argv[1]!
const FORM = import.meta.url.endsWith('.ts') ? 'from TypeScript sources (tsx)' : `compiled (${ENTRY})`
const SERVICES: readonly ServiceName[] = ['sessionizer', 'api', 'collector']

/**
 * The whole pipeline in the foreground: the database migrated, then one process per service (as
 * in production) sharing this terminal. Ctrl-C drains and stops all; if one dies, the rest stop
 * too. With --local the machine's stack is made ready first (PostgreSQL and Kafka started,
 * installed when missing); without it nothing on the host is touched, and a database or broker
 * that does not answer is an error naming the variable to set.
 */
export async function runUp(args: readonly string[]): Promise<void> {
  const { values } = parseCommandArgs({ args: [...args], options: { local: { type: 'boolean' } }, strict: true })
  const settings = loadSettings()
  const log = (message: string) => console.error(`stack: ${message}`)
  if (localStackWanted(values.local)) {
    await (await loadLocalStack()).ensureStack({ settings, log })
  } else {
    await requireDependencies(settings, { kafka: true })
    await migrateDatabase({ url: settings.database.url, appPassword: settings.database.appPassword?.reveal(), log })
  }
  const children = new Map<ServiceName, ChildProcess>()
  let stopping = false

  const stopAll = (exitCode: number) => {
    if (stopping) return
    stopping = true
    process.exitCode = exitCode
    for (const child of children.values()) child.kill('SIGTERM')
  }

  // Migrated as DATABASE_URL's role; each service runs as its own least-privileged one.
  const envOf = (name: ServiceName) => ({
    ...process.env,
    DATABASE_URL: serviceRoleUrl(settings.database.url, settings.database.appPassword?.reveal(), SERVICE_ROLES[name]),
  })
  for (const name of SERVICES) {
    const child = spawn(process.execPath, [...process.execArgv, ...serviceNodeFlags(name), ENTRY, name], {
      stdio: 'inherit',
      env: envOf(name),
    })
    children.set(name, child)
    child.on('exit', (code, signal) => {
      children.delete(name)
      if (!stopping) {
        console.error(`radstream up: ${name} exited (${signal ?? code}); stopping the others`)
        stopAll(code === 0 ? 0 : 1)
      }
    })
  }
  const { collector, sessionizer, api } = settings
  console.error(
    [
      `radstream up, ${FORM}, services connecting to PostgreSQL each as its own role (${Object.values(SERVICE_ROLES).join(', ')}):`,
      `  collector udp/${collector.port} (metrics http://${collector.metricsHost}:${collector.metricsPort}/metrics)`,
      `  sessionizer (metrics http://${sessionizer.metricsHost}:${sessionizer.metricsPort}/metrics)`,
      `  api http://${api.host}:${api.port}/graphql, /api/v1/audit-log, /metrics`,
      `  console http://${api.host === '0.0.0.0' ? '127.0.0.1' : api.host}:${api.port}/console (sign in with a client from: npx radstream client create --name ops --scope admin)`,
      '  Ctrl-C to stop',
    ].join('\n'),
  )
  // The children get Ctrl-C's SIGINT from the terminal themselves (they are in its process group):
  // a SIGTERM from here as well would be their second signal, which stops them without draining.
  // SIGTERM, sent to this process alone, must be passed on.
  process.on('SIGINT', () => {
    stopping = true
  })
  process.on('SIGTERM', () => stopAll(0))
  await new Promise<void>((resolve) => {
    const check = setInterval(() => {
      if (children.size === 0) {
        clearInterval(check)
        resolve()
      }
    }, 100)
  })
}
