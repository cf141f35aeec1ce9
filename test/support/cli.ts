import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { inject } from 'vitest'

export const CLI_BIN = fileURLToPath(new URL('../../packages/cli/bin/radstream.js', import.meta.url))

/** The environment of a CLI run against this test run's database and topic. */
export function cliEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    DATABASE_URL: inject('databaseUrl'),
    KAFKA_BROKERS: inject('kafkaBrokers'),
    KAFKA_TOPIC: inject('topic'),
    KAFKA_TOPIC_PARTITIONS: '4',
    LOG_LEVEL: 'warn',
    // Beside the stack the tests run with (npm start's ports): an API started here takes any free ops port.
    API_METRICS_PORT: '0',
    ...extra,
  }
}

/** Runs `radstream <args>` as an operator would, to completion; `input` is written to its stdin. */
export function runCli(
  args: string[],
  extraEnv: Record<string, string> = {},
  { input, bin = CLI_BIN }: { input?: string; bin?: string } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { env: cliEnv(extraEnv) })
    child.stdin.end(input ?? '')
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, stdout, stderr }))
  })
}
