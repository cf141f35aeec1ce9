import { spawn, type ChildProcess } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { serviceNodeFlags } from '@radstream/config'

const BIN = fileURLToPath(new URL('../../packages/cli/bin/radstream.js', import.meta.url))
const TICKS_PER_SECOND = 100

/** Starts `radstream <service>` as its own process, as production runs it. */
export function startService(service: string, env: NodeJS.ProcessEnv): ChildProcess {
  // BENCH_CPU_PROFILE=<dir> writes a V8 CPU profile of each service when it stops.
  const profile = process.env.BENCH_CPU_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROFILE}`] : []
  const serviceEnv = { ...process.env, ...env }
  return spawn(process.execPath, [...profile, ...serviceNodeFlags(service, serviceEnv), BIN, service], {
    env: serviceEnv,
    // BENCH_SERVICE_LOGS=1 shows the services' own logs (set LOG_LEVEL too: runs default to quiet).
    stdio: ['ignore', process.env.BENCH_SERVICE_LOGS ? 'inherit' : 'ignore', 'inherit'],
  })
}

/**
 * Runs a benchmark script of bench/ in a process of its own (through tsx, stderr shown) and
 * resolves with the JSON of the last line it printed, its result.
 */
export function runScript<T>(script: string, args: readonly string[]): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', fileURLToPath(new URL(`../${script}`, import.meta.url)), ...args],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    )
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`bench/${script} ${args.join(' ')} exited with ${code}:\n${output}`))
      else resolve(JSON.parse(output.trim().split('\n').at(-1) ?? '') as T)
    })
  })
}

/** Polls `url` every 100 ms until it answers 200; `what` names the service in the error after 30 s. */
export async function waitUntilOk(url: string, what: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const status = await fetch(url).then(
      (response) => response.status,
      () => 0,
    )
    if (status === 200) return
    if (attempt > 300) throw new Error(`${what} did not answer 200 at ${url} within 30 s`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

export async function stopService(child: ChildProcess): Promise<void> {
  // A child killed by a signal has no exit code but a signal code; waiting for its exit would wait for ever.
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise((resolve) => child.once('exit', resolve))
  child.kill('SIGTERM')
  await exited
}

function cpuTicks(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return Number(fields[11]) + Number(fields[12]) // utime + stime
  } catch {
    return 0
  }
}

/** The most memory a process has held (VmHWM), in MB; 0 once it is gone. */
export function peakRssMb(pid: number): number {
  try {
    const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return match ? Number(match[1]) / 1024 : 0
  } catch {
    return 0
  }
}

/** PIDs of processes whose command name is `name` (PostgreSQL's backends, for example). */
export function pidsNamed(name: string): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .map(Number)
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === name
      } catch {
        return false
      }
    })
}

/**
 * CPU (in cores used, averaged over the measured interval) and peak RSS of named groups of
 * processes, sampled from /proc.
 */
export class ResourceMeter {
  private readonly start = new Map<number, number>()
  private readonly peak = new Map<string, number>()
  private startedAt = 0
  private timer: NodeJS.Timeout | undefined

  constructor(private readonly groups: Record<string, () => number[]>) {}

  begin(): void {
    this.startedAt = Date.now()
    for (const pids of Object.values(this.groups)) for (const pid of pids()) this.start.set(pid, cpuTicks(pid))
    this.timer = setInterval(() => this.sample(), 500)
  }

  private sample(): void {
    for (const [group, pids] of Object.entries(this.groups)) {
      const rss = pids().reduce((sum, pid) => sum + peakRssMb(pid), 0)
      this.peak.set(group, Math.max(this.peak.get(group) ?? 0, rss))
    }
  }

  end(): Record<string, { cpuCores: number; peakRssMb: number }> {
    clearInterval(this.timer)
    this.sample()
    const seconds = (Date.now() - this.startedAt) / 1000
    const result: Record<string, { cpuCores: number; peakRssMb: number }> = {}
    for (const [group, pids] of Object.entries(this.groups)) {
      const ticks = pids().reduce((sum, pid) => sum + cpuTicks(pid) - (this.start.get(pid) ?? 0), 0)
      result[group] = { cpuCores: ticks / TICKS_PER_SECOND / seconds, peakRssMb: this.peak.get(group) ?? 0 }
    }
    return result
  }
}
