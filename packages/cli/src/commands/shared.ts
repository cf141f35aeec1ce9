import { isIP } from 'node:net'
import { randomUUID } from 'node:crypto'
import { hostname, userInfo } from 'node:os'
import { parseArgs, type ParseArgsConfig } from 'node:util'
import { loadSettings } from '@radstream/config'
import { createDb, type Db, type Initiator } from '@radstream/db'

/**
 * A mistake in how a command was called (an unknown flag, a malformed value, a missing argument):
 * printed as one line with where to find the usage, exit code 2 (as getopt's tools do).
 */
export class UsageError extends Error {
  readonly code = 'RADSTREAM_USAGE'
  readonly exitCode = 2
}

/** A command called rightly that could not do what was asked (no such NAS, say): exit code 1. */
export class CommandError extends Error {
  readonly code = 'RADSTREAM_COMMAND'
  readonly exitCode = 1
}

/** Node's parseArgs, its complaints (unknown or malformed flags) turned into UsageErrors. */
export function parseCommandArgs<T extends ParseArgsConfig>(config: T): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs<T>(config)
  } catch (error) {
    const { code, message } = error as { code?: unknown; message?: string }
    if (typeof code !== 'string' || !code.startsWith('ERR_PARSE_ARGS')) throw error
    // Its first sentence says what is wrong; the rest is advice about '--' for positionals.
    throw new UsageError(/^[^.]*\./.exec(message ?? '')?.[0] ?? String(message))
  }
}

/** Runs `work` with a one-connection pool to DATABASE_URL, closed afterwards. */
export async function withDb<T>(work: (db: Db) => Promise<T>, applicationName = 'radstream-cli'): Promise<T> {
  const db = createDb({ url: loadSettings().database.url, poolSize: 1, applicationName })
  try {
    return await work(db)
  } finally {
    await db.destroy()
  }
}

/**
 * The operator at this shell, as audit events name them: the OS user and the host, and a request
 * id of the command's own; their address is the SSH client's when they came in over SSH.
 */
export function cliInitiator(): Initiator {
  const login = `${userInfo().username}@${hostname()}`
  const sshClient = process.env.SSH_CLIENT?.split(' ')[0]
  return {
    type: 'CLI',
    id: login,
    requestId: randomUUID(),
    name: login,
    publicIp: sshClient && isIP(sshClient) ? sshClient : null,
  }
}
