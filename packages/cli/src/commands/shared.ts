import { isIP } from 'node:net'
import { randomUUID } from 'node:crypto'
import { hostname, userInfo } from 'node:os'
import { loadSettings } from '@radstream/config'
import { createDb, type Db, type Initiator } from '@radstream/db'

/** A mistake in how a command was called: printed as its message alone, exit code 1. */
export class UsageError extends Error {
  readonly code = 'RADSTREAM_USAGE'
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
