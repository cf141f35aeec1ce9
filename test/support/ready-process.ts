import { spawn, type ChildProcess } from 'node:child_process'

export interface ReadyProcess {
  readonly child: ChildProcess
  /** Everything it printed so far, stdout and stderr. */
  output(): string
}

/**
 * Spawns a real program and resolves once its output contains `ready`; rejects with the tail of
 * its output if it exits, cannot be run, or is not ready within `timeoutMs`.
 */
export function spawnUntilReady(
  command: string,
  args: readonly string[],
  options: { ready: string; timeoutMs: number; detached?: boolean; onOutput?: (text: string) => void },
): Promise<ReadyProcess> {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: options.detached ?? false })
  let output = ''
  const collect = (chunk: Buffer) => {
    output += chunk.toString()
    options.onOutput?.(chunk.toString())
  }
  child.stdout!.on('data', collect)
  child.stderr!.on('data', collect)
  return new Promise((resolve, reject) => {
    const fail = (message: string) => {
      clearTimeout(timer)
      reject(new Error(`${command}: ${message}:\n${output.slice(-3000)}`))
    }
    const timer = setTimeout(() => fail(`not ready in ${options.timeoutMs / 1000} s`), options.timeoutMs)
    child.stdout!.on('data', () => {
      if (!output.includes(options.ready)) return
      clearTimeout(timer)
      resolve({ child, output: () => output })
    })
    child.on('error', (error) => fail(`could not be run: ${error.message}`))
    child.on('exit', (code) => fail(`exited with ${code} before it was ready`))
  })
}
