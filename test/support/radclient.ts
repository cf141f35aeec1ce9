import { spawn } from 'node:child_process'

export interface RadclientResult {
  /** True when radclient received an Accounting-Response it could verify. */
  readonly answered: boolean
  readonly output: string
  readonly exitCode: number | null
}

/**
 * Sends one Accounting-Request (or, with `command: 'status'`, a Status-Server) with Debian's
 * radclient, an implementation independent of ours. `attributes` is radclient's input format,
 * one `Name = value` per line.
 */
export function radclient(
  port: number,
  secret: string,
  attributes: string,
  options: { timeoutSeconds?: number; retries?: number; command?: 'acct' | 'status' } = {},
): Promise<RadclientResult> {
  const args = [
    '-x',
    '-r',
    String(options.retries ?? 3),
    '-t',
    String(options.timeoutSeconds ?? 2),
    `127.0.0.1:${port}`,
    options.command ?? 'acct',
    secret,
  ]
  return new Promise((resolve, reject) => {
    const child = spawn('radclient', args, { stdio: ['pipe', 'pipe', 'pipe'] })
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
    child.on('error', reject)
    child.on('close', (code) =>
      resolve({ answered: code === 0 && /Received Accounting-Response/.test(output), output, exitCode: code }),
    )
    child.stdin.end(attributes)
  })
}
