import { readdirSync } from 'node:fs'
import { ensureDatabaseExists, redactUrl, serverRefusal } from '@radstream/db'
import { aptInstall, commandExists, run } from './run'

const serverAnswers = async (url: string) => (await serverRefusal(url)) === undefined

function isLoopback(url: string): boolean {
  const host = new URL(url).hostname
  return host === '127.0.0.1' || host === 'localhost' || host === '[::1]'
}

/** Starts the Debian cluster(s) on this machine, installing Debian's PostgreSQL if there is none. */
async function startDebianPostgres(log: (message: string) => void): Promise<void> {
  if (!(await commandExists('pg_ctlcluster'))) {
    log('no PostgreSQL server installed: installing Debian postgresql')
    await aptInstall(['postgresql'], log)
  }
  for (const version of readdirSync('/etc/postgresql')) {
    log(`starting PostgreSQL ${version}/main`)
    await run('pg_ctlcluster', ['--skip-systemctl-redirect', version, 'main', 'start']).catch((error: Error) => {
      if (!/already running/i.test(error.message)) throw error
    })
  }
}

async function allowTrustOnLoopback(log: (message: string) => void): Promise<void> {
  // A freshly installed Debian cluster asks for passwords on TCP; the local stack runs with trust
  // on loopback only, as the machines this project targets are set up.
  for (const version of readdirSync('/etc/postgresql')) {
    const hba = `/etc/postgresql/${version}/main/pg_hba.conf`
    await run('sh', [
      '-c',
      `grep -q '^host all all 127.0.0.1/32 trust' ${hba} || sed -i '1i host all all 127.0.0.1/32 trust\\nhost all all ::1/128 trust' ${hba}`,
    ])
    await run('pg_ctlcluster', ['--skip-systemctl-redirect', version, 'main', 'reload'])
    log(`PostgreSQL ${version}: trust on loopback`)
  }
}

/**
 * Makes sure the database in `url` exists on a running server. Only a server on this machine
 * (loopback URL) is started or installed; a remote one must already answer.
 */
export async function ensurePostgres(url: string, log: (message: string) => void): Promise<void> {
  if (!(await serverAnswers(url))) {
    if (!isLoopback(url)) throw new Error(`PostgreSQL at ${redactUrl(url)} does not answer`)
    await startDebianPostgres(log)
    if (!(await serverAnswers(url))) await allowTrustOnLoopback(log)
    const deadline = Date.now() + 60_000
    while (!(await serverAnswers(url))) {
      if (Date.now() > deadline) throw new Error(`PostgreSQL at ${redactUrl(url)} did not answer within 60 s`)
      await new Promise((resolve) => setTimeout(resolve, 500))
    }
  }
  if (await ensureDatabaseExists(url)) log(`created database ${new URL(url).pathname.slice(1)}`)
}
