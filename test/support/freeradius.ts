import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawnUntilReady } from './ready-process'

export interface RunningFreeradius {
  /** Everything it printed (-X): each request it received, attribute by attribute. */
  output(): string
  stop(): Promise<void>
}

/**
 * Runs Debian's FreeRADIUS 3.2 in the foreground (-X) on a configuration of the test's own:
 * `body` (clients, modules, listeners, virtual servers) after the settings every instance shares.
 * Resolves once it is ready to process requests; throws with its output if it cannot start.
 */
export async function startFreeradius(name: string, body: (dir: string) => string): Promise<RunningFreeradius> {
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
  start_servers = 1
  max_servers = 2
  min_spare_servers = 1
  max_spare_servers = 2
}
${body(dir)}
`,
  )
  writeFileSync(join(dir, 'dictionary'), '')
  const { child, output } = await spawnUntilReady('freeradius', ['-X', '-d', dir], {
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
