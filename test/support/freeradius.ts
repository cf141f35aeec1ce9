import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawnUntilReady } from './ready-process'

export interface RunningFreeradius {
  /** Everything it printed (-X): each request it received, attribute by attribute. */
  output(): string
  stop(): Promise<void>
}

export interface FreeradiusOptions {
  /** -X: every request printed (the tests read it), single-threaded; off: -f, as deployed. */
  readonly debug?: boolean
  /** The thread pool: the tests' two threads, or Debian's stock pool (5 to 32) for benchmarks. */
  readonly stockThreadPool?: boolean
}

/**
 * Runs Debian's FreeRADIUS 3.2 in the foreground on a configuration of the caller's own: `body`
 * (clients, modules, listeners, virtual servers) after the settings every instance shares.
 * Resolves once it is ready to process requests; throws with its output if it cannot start.
 */
export async function startFreeradius(
  name: string,
  body: (dir: string) => string,
  options: FreeradiusOptions = {},
): Promise<RunningFreeradius> {
  const { debug = true, stockThreadPool = false } = options
  const dir = mkdtempSync(join(tmpdir(), `radstream-${name}-`))
  writeFileSync(
    join(dir, 'radiusd.conf'),
    `
prefix = /usr
raddbdir = ${dir}
confdir = ${dir}
dictdir = /usr/share/freeradius
libdir = /usr/lib/freeradius
logdir = ${dir}
run_dir = ${dir}
pidfile = ${dir}/radiusd.pid
name = ${name}
max_request_time = 5
cleanup_delay = 2
max_requests = 1024
hostname_lookups = no
log {
  destination = stdout
}
security {
  allow_core_dumps = no
}
thread pool {
${stockThreadPool ? '  start_servers = 5\n  max_servers = 32\n  min_spare_servers = 3\n  max_spare_servers = 10' : '  start_servers = 1\n  max_servers = 2\n  min_spare_servers = 1\n  max_spare_servers = 2'}
}
${body(dir)}
`,
  )
  writeFileSync(join(dir, 'dictionary'), '')
  const { child, output } = await spawnUntilReady('freeradius', [debug ? '-X' : '-f', '-d', dir], {
    ready: 'Ready to process requests',
    timeoutMs: 15_000,
  })
  return {
    output,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve))
        child.kill('SIGTERM')
        await exited
      }
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
