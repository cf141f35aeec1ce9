import { spawn } from 'node:child_process'

/** Runs a command to completion; rejects with its exit code and the tail of its output. */
export function run(
  command: string,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv } = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: options.env ?? process.env })
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
    child.on('error', reject)
    child.on('close', (code) => {
      if (code === 0) resolve(output)
      else reject(new Error(`${command} ${args.join(' ')} exited with ${code}:\n${output.slice(-3000)}`))
    })
  })
}

export async function commandExists(command: string): Promise<boolean> {
  try {
    await run('sh', ['-c', `command -v ${command}`])
    return true
  } catch {
    return false
  }
}

let aptUpdated = false

/** Installs Debian packages (as root, which this project's machines are). */
export async function aptInstall(packages: readonly string[], log: (message: string) => void): Promise<void> {
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
  if (!aptUpdated) {
    log('apt-get update')
    await run('apt-get', ['update', '-qq'], { env })
    aptUpdated = true
  }
  log(`apt-get install ${packages.join(' ')}`)
  await run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...packages], { env })
}
