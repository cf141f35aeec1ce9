import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { loadSettings } from '@radstream/config'

const BIN = fileURLToPath(new URL('../../packages/cli/bin/radstream.js', import.meta.url))

async function answers(url: string): Promise<boolean> {
  return fetch(url).then(
    (response) => response.status === 200,
    () => false,
  )
}

/**
 * What a developer has running while they run `npm test`: `npm start`'s pipeline with its default
 * settings (database `radstream`, topic, consumer group and ports). The suite runs beside it, so a
 * test that shares a group, a topic or a port with a running radstream fails here rather than on
 * a user's machine. Reuses one that already runs; resolves with a stop for the one it started.
 */
export async function ensureBackgroundStack(log: (message: string) => void): Promise<() => Promise<void>> {
  const defaults = loadSettings({ LOG_LEVEL: 'warn' })
  const collectorReady = `http://127.0.0.1:${defaults.collector.metricsPort}/readyz`
  const sessionizerReady = `http://127.0.0.1:${defaults.sessionizer.metricsPort}/readyz`
  if (await answers(collectorReady)) {
    log('a radstream stack is already running (npm start): the tests run beside it')
    return async () => undefined
  }
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, LOG_LEVEL: 'warn' }
  const up: ChildProcess = spawn(process.execPath, [BIN, 'up'], {
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true,
  })
  let output = ''
  up.stderr!.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000)))
  const exited = new Promise<number | null>((resolve) => up.on('exit', resolve))
  const deadline = Date.now() + 90_000
  while (!((await answers(collectorReady)) && (await answers(sessionizerReady)))) {
    if (up.exitCode !== null || Date.now() > deadline) {
      if (up.exitCode === null) process.kill(-up.pid!, 'SIGKILL')
      throw new Error(`the background stack (radstream up with default settings) did not become ready:\n${output}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
  log('started a radstream stack with default settings (as npm start): the tests run beside it')
  return async () => {
    if (up.exitCode === null) process.kill(-up.pid!, 'SIGINT')
    await exited
  }
}
