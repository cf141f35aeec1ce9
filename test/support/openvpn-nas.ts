import type { ChildProcess } from 'node:child_process'
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ensureCertificateAuthority, ensureServerKeystore, OPENVPN_RADIUS_PLUGIN, run } from '@radstream/stack'
import { startFreeradius, type RunningFreeradius } from './freeradius'
import { spawnUntilReady } from './ready-process'

/**
 * A real NAS on this machine: Debian's OpenVPN 2.6 server with Debian's RADIUS plugin
 * (openvpn-auth-radius), authenticating users against FreeRADIUS and sending accounting to
 * radstream, and an OpenVPN client in a network namespace of the test's own, joined to the server
 * by a veth pair. Every address is the test's own: 198.18.99.0/30 on the veth pair, the VPN's pool
 * 198.18.100.0/24 on the tun devices; nothing leaves the machine.
 */
export interface OpenvpnNas {
  /** What the plugin sends as NAS-IP-Address. */
  readonly nasIpAddress: string
  /** The address the client gets: the pool's first. */
  readonly clientAddress: string
  startServer(): Promise<void>
  /** SIGKILL of the server's main process alone: the plugin's helpers live on, as after a crash. */
  killServer(): Promise<void>
  connectClient(): Promise<void>
  /** The client's traffic through the tunnel: UDP datagrams to the server's tun address. */
  sendTraffic(datagrams: number): Promise<void>
  /** SIGTERM: the client says goodbye (explicit-exit-notify), the server disconnects it. */
  disconnectClient(): Promise<void>
  output(): string
  stop(): Promise<void>
}

const NAMESPACE = 'radstream-vpn'
const HOST_LINK = 'rsvpn-host'
const CLIENT_LINK = 'rsvpn-client'
const SERVER_ADDRESS = '198.18.99.1'
const CLIENT_LINK_ADDRESS = '198.18.99.2'
const NAS_IP_ADDRESS = '198.18.99.1'
const USER = { name: 'vpn-user', password: 'vpn-password' }

async function ip(...args: string[]): Promise<void> {
  await run('ip', args)
}

/** The namespace and veth pair, made afresh (a crashed earlier run may have left them). */
async function makeNetwork(): Promise<void> {
  await removeNetwork()
  await ip('netns', 'add', NAMESPACE)
  await ip('link', 'add', HOST_LINK, 'type', 'veth', 'peer', 'name', CLIENT_LINK)
  await ip('link', 'set', CLIENT_LINK, 'netns', NAMESPACE)
  await ip('addr', 'add', `${SERVER_ADDRESS}/30`, 'dev', HOST_LINK)
  await ip('link', 'set', HOST_LINK, 'up')
  await ip('netns', 'exec', NAMESPACE, 'ip', 'addr', 'add', `${CLIENT_LINK_ADDRESS}/30`, 'dev', CLIENT_LINK)
  await ip('netns', 'exec', NAMESPACE, 'ip', 'link', 'set', CLIENT_LINK, 'up')
  await ip('netns', 'exec', NAMESPACE, 'ip', 'link', 'set', 'lo', 'up')
}

async function removeNetwork(): Promise<void> {
  await ip('netns', 'del', NAMESPACE).catch(() => undefined)
  await ip('link', 'del', HOST_LINK).catch(() => undefined)
}

/** Starts an OpenVPN process (server, or client in the namespace) in a process group of its own. */
async function startOpenvpn(args: string[], log: (text: string) => void): Promise<ChildProcess> {
  const started = await spawnUntilReady(args[0]!, args.slice(1), {
    ready: 'Initialization Sequence Completed',
    timeoutMs: 30_000,
    detached: true,
    onOutput: log,
  })
  return started.child
}

/** Kills a process group (the server with its plugin helpers, or the client) and waits. */
async function killGroup(child: ChildProcess | undefined, signal: NodeJS.Signals): Promise<void> {
  if (!child?.pid) return
  const exited = child.exitCode === null ? new Promise((resolve) => child.once('exit', resolve)) : undefined
  try {
    process.kill(-child.pid, signal)
  } catch {
    return // already gone
  }
  await exited
}

export async function startOpenvpnNas(options: {
  /** radstream's collector: the plugin reads at most four digits of a port number. */
  readonly accountingPort: number
  readonly authPort: number
  readonly secret: string
  /** Acct-Interim-Interval in FreeRADIUS's Access-Accept (not in accounting, as many NAS do). */
  readonly interimIntervalSeconds: number
}): Promise<OpenvpnNas> {
  if (options.accountingPort > 9999 || options.authPort > 9999) {
    throw new RangeError('the OpenVPN RADIUS plugin reads at most four digits of a port number')
  }
  const dir = mkdtempSync(join(tmpdir(), 'radstream-openvpn-'))
  let output = ''
  const log = (text: string) => (output += text)
  const ca = await ensureCertificateAuthority(join(dir, 'pki'), 'radstream-openvpn-test-ca')
  const certificate = await ensureServerKeystore(join(dir, 'pki'), ca)
  mkdirSync(join(dir, 'ccd'))
  writeFileSync(join(dir, 'credentials'), `${USER.name}\n${USER.password}\n`)
  chmodSync(join(dir, 'credentials'), 0o600)
  writeFileSync(
    join(dir, 'radiusplugin.cnf'),
    [
      'NAS-Identifier=radstream-openvpn',
      'Service-Type=5',
      'Framed-Protocol=1',
      'NAS-Port-Type=5',
      `NAS-IP-Address=${NAS_IP_ADDRESS}`,
      `OpenVPNConfig=${join(dir, 'server.conf')}`,
      'subnet=255.255.255.0',
      'overwriteccfiles=true',
      'nonfatalaccounting=false',
      'server',
      '{',
      `acctport=${options.accountingPort}`,
      `authport=${options.authPort}`,
      'name=127.0.0.1',
      'retry=3',
      'wait=1',
      `sharedsecret=${options.secret}`,
      '}',
      '',
    ].join('\n'),
  )
  writeFileSync(
    join(dir, 'server.conf'),
    [
      'dev rsvpn-tun-s',
      'dev-type tun',
      'proto udp',
      `local ${SERVER_ADDRESS}`,
      'port 1194',
      `ca ${ca.caFile}`,
      `cert ${certificate.certFile}`,
      `key ${certificate.keyFile}`,
      'dh none',
      'topology subnet',
      'server 198.18.100.0 255.255.255.0',
      'verify-client-cert none',
      'username-as-common-name',
      `client-config-dir ${join(dir, 'ccd')}`,
      `status ${join(dir, 'status.log')} 1`,
      'status-version 1',
      'keepalive 1 5',
      `plugin ${OPENVPN_RADIUS_PLUGIN} ${join(dir, 'radiusplugin.cnf')}`,
      'verb 3',
      '',
    ].join('\n'),
  )
  writeFileSync(
    join(dir, 'client.conf'),
    [
      'client',
      'dev rsvpn-tun-c',
      'dev-type tun',
      'proto udp',
      `remote ${SERVER_ADDRESS} 1194`,
      'nobind',
      `ca ${ca.caFile}`,
      'remote-cert-tls server',
      `auth-user-pass ${join(dir, 'credentials')}`,
      'keepalive 1 5',
      'explicit-exit-notify 1',
      'verb 3',
      '',
    ].join('\n'),
  )

  let authServer: RunningFreeradius | undefined
  let server: ChildProcess | undefined
  const orphans: ChildProcess[] = []
  let client: ChildProcess | undefined
  try {
    authServer = await startFreeradius(
      'openvpn-auth',
      () => `
modules {
  pap {
  }
}
client openvpn {
  ipaddr = 127.0.0.1
  secret = ${options.secret}
}
listen {
  type = auth
  ipaddr = 127.0.0.1
  port = ${options.authPort}
  virtual_server = vpn
}
server vpn {
  authorize {
    if (&User-Name == "${USER.name}") {
      update control {
        &Cleartext-Password := "${USER.password}"
      }
      update reply {
        &Acct-Interim-Interval := ${options.interimIntervalSeconds}
      }
    }
    pap
  }
  authenticate {
    Auth-Type PAP {
      pap
    }
  }
}
`,
    )
    await makeNetwork()
  } catch (error) {
    await authServer?.stop()
    rmSync(dir, { recursive: true, force: true })
    throw error
  }

  return {
    nasIpAddress: NAS_IP_ADDRESS,
    clientAddress: '198.18.100.2',
    async startServer() {
      server = await startOpenvpn(['openvpn', '--config', join(dir, 'server.conf')], log)
    },
    async killServer() {
      if (!server?.pid) return
      const exited = new Promise((resolve) => server!.once('exit', resolve))
      process.kill(server.pid, 'SIGKILL')
      await exited
      // Its helpers (the plugin's forks) share its process group: killed with it at the end.
      orphans.push(server)
      server = undefined
    },
    async connectClient() {
      client = await startOpenvpn(
        ['ip', 'netns', 'exec', NAMESPACE, 'openvpn', '--config', join(dir, 'client.conf')],
        log,
      )
    },
    async sendTraffic(datagrams: number) {
      const payload = 'radstream test traffic '.repeat(20)
      for (let i = 0; i < datagrams; i++) {
        await run('ip', ['netns', 'exec', NAMESPACE, 'bash', '-c', `echo '${payload}' > /dev/udp/198.18.100.1/9`])
      }
    },
    async disconnectClient() {
      await killGroup(client, 'SIGTERM')
      client = undefined
    },
    output: () => `${output}\n--- FreeRADIUS (authentication) ---\n${authServer?.output() ?? ''}`,
    async stop() {
      await killGroup(client, 'SIGKILL')
      await killGroup(server, 'SIGKILL')
      for (const orphan of orphans)
        if (orphan.pid) await run('pkill', ['-9', '-g', String(orphan.pid)]).catch(() => undefined)
      await removeNetwork()
      await authServer?.stop()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
