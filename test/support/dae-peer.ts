import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** Acct-Session-Ids the peer knows: it ACKs requests for these and NAKs (503) all others. */
export const KNOWN_SESSION_PREFIX = 'live-'

export interface DaePeer {
  /** Answers requests signed with `secret`. */
  readonly port: number
  /** Shares another secret with radstream: it drops radstream's requests, as a NAS would. */
  readonly wrongSecretPort: number
  /** Everything FreeRADIUS printed (-X): the requests it received, attribute by attribute. */
  output(): string
  stop(): Promise<void>
}

/**
 * The site a NAS's Dynamic Authorization server runs, as FreeRADIUS 3.2 does it (sites-available/coa):
 * Disconnect-ACK / CoA-ACK for a known session, NAK with Error-Cause 503 for an unknown one, and
 * 402 Missing-Attribute for a request that does not say which session on which NAS.
 */
function radiusdConf(dir: string, secret: string, port: number, wrongSecretPort: number): string {
  return `
prefix = /usr
raddbdir = ${dir}
confdir = ${dir}
dictdir = /usr/share/freeradius
libdir = /usr/lib/freeradius
logdir = ${dir}
run_dir = ${dir}
pidfile = ${dir}/radiusd.pid
name = radstream-dae-peer
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
modules {
  always ok {
    rcode = ok
  }
  always reject {
    rcode = reject
  }
}
client radstream {
  ipaddr = 127.0.0.1
  secret = ${secret}
  require_message_authenticator = yes
}
clients other_secret {
  client radstream {
    ipaddr = 127.0.0.1
    secret = ${secret}-but-not-quite
  }
}
listen {
  type = coa
  ipaddr = 127.0.0.1
  port = ${port}
  virtual_server = nas
}
listen {
  type = coa
  ipaddr = 127.0.0.1
  port = ${wrongSecretPort}
  virtual_server = nas
  clients = other_secret
}
server nas {
  recv-coa {
    if (!&User-Name || !&Acct-Session-Id || !(&NAS-IP-Address || &NAS-IPv6-Address || &NAS-Identifier) || !&Event-Timestamp) {
      update reply {
        &Error-Cause := Missing-Attribute
      }
      reject
    }
    elsif (&Acct-Session-Id =~ /^${KNOWN_SESSION_PREFIX}/) {
      ok
    }
    else {
      update reply {
        &Error-Cause := Session-Context-Not-Found
      }
      reject
    }
  }
  send-coa {
    ok
  }
}
`
}

/** Starts Debian's FreeRADIUS as a Dynamic Authorization server on loopback; throws if it cannot. */
export async function startDaePeer(options: {
  secret: string
  port: number
  wrongSecretPort: number
}): Promise<DaePeer> {
  const dir = mkdtempSync(join(tmpdir(), 'radstream-dae-peer-'))
  writeFileSync(join(dir, 'radiusd.conf'), radiusdConf(dir, options.secret, options.port, options.wrongSecretPort))
  writeFileSync(join(dir, 'dictionary'), '')
  const child: ChildProcess = spawn('freeradius', ['-X', '-d', dir], { stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()))
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()))
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`FreeRADIUS did not start in 15 s:\n${output.slice(-3000)}`)),
      15_000,
    )
    const check = () => {
      if (output.includes('Ready to process requests')) {
        clearTimeout(timer)
        resolve()
      }
    }
    child.stdout!.on('data', check)
    child.on('error', (error) => {
      clearTimeout(timer)
      reject(new Error(`FreeRADIUS could not be run: ${error.message}`))
    })
    child.on('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`FreeRADIUS exited with ${code} before it was ready:\n${output.slice(-3000)}`))
    })
  })
  return {
    port: options.port,
    wrongSecretPort: options.wrongSecretPort,
    output: () => output,
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
