import { existsSync } from 'node:fs'
import { aptInstall, commandExists } from './run'

interface DebianTool {
  readonly present: () => Promise<boolean>
  readonly debianPackage: string
}

/** Installs the packages of the tools not present, in one apt run (two at once would fight over dpkg's lock). */
async function installMissing(tools: readonly DebianTool[], log: (message: string) => void): Promise<void> {
  const missing: string[] = []
  for (const tool of tools) if (!(await tool.present())) missing.push(tool.debianPackage)
  if (missing.length > 0) await aptInstall(missing, log)
}

const FREERADIUS: DebianTool = { present: () => commandExists('freeradius'), debianPackage: 'freeradius' }

/**
 * The independent programs the tests talk to: radclient (Debian freeradius-utils) as a NAS's
 * client; FreeRADIUS (freeradius) as a NAS's Dynamic Authorization server and as the VPN's
 * authentication server; OpenVPN with Debian's RADIUS plugin as a real NAS; Prometheus's promtool
 * (prometheus) to check and unit-test the alert rules; Chromium (chromium) for the console's
 * browser tests, since no browser can be downloaded here.
 */
export async function ensurePeerPrograms(log: (message: string) => void): Promise<void> {
  await installMissing(
    [
      { present: () => commandExists('radclient'), debianPackage: 'freeradius-utils' },
      FREERADIUS,
      { present: () => commandExists('openvpn'), debianPackage: 'openvpn' },
      { present: async () => existsSync(OPENVPN_RADIUS_PLUGIN), debianPackage: 'openvpn-auth-radius' },
      { present: () => commandExists('promtool'), debianPackage: 'prometheus' },
      { present: async () => existsSync(CHROMIUM), debianPackage: 'chromium' },
    ],
    log,
  )
}

/** Where Debian's openvpn-auth-radius puts the plugin. */
export const OPENVPN_RADIUS_PLUGIN = '/usr/lib/openvpn/radiusplugin.so'

/** Where Debian's chromium puts the browser. */
export const CHROMIUM = '/usr/bin/chromium'

/** Where Debian's freeradius-postgresql puts rlm_sql's PostgreSQL driver. */
export const FREERADIUS_POSTGRESQL_DRIVER = '/usr/lib/freeradius/rlm_sql_postgresql.so'

/**
 * FreeRADIUS with rlm_sql's PostgreSQL driver, for the benchmark that runs it side by side with
 * radstream (`npm run bench -- --compare freeradius`); installed when missing.
 */
export async function ensureFreeradiusWithSql(log: (message: string) => void): Promise<void> {
  await installMissing(
    [
      FREERADIUS,
      { present: async () => existsSync(FREERADIUS_POSTGRESQL_DRIVER), debianPackage: 'freeradius-postgresql' },
    ],
    log,
  )
}
