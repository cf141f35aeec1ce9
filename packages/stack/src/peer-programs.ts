import { existsSync } from 'node:fs'
import { aptInstall, commandExists } from './run'

/**
 * The independent programs the tests talk to: radclient (Debian freeradius-utils) as a NAS's
 * client; FreeRADIUS (freeradius) as a NAS's Dynamic Authorization server and as the VPN's
 * authentication server; OpenVPN with Debian's RADIUS plugin as a real NAS; Prometheus's promtool
 * (prometheus) to check and unit-test the alert rules. Missing ones are installed in one apt run
 * (two at once would fight over dpkg's lock).
 */
export async function ensurePeerPrograms(log: (message: string) => void): Promise<void> {
  const tools: { present: () => Promise<boolean>; debianPackage: string }[] = [
    { present: () => commandExists('radclient'), debianPackage: 'freeradius-utils' },
    { present: () => commandExists('freeradius'), debianPackage: 'freeradius' },
    { present: () => commandExists('openvpn'), debianPackage: 'openvpn' },
    { present: async () => existsSync(OPENVPN_RADIUS_PLUGIN), debianPackage: 'openvpn-auth-radius' },
    { present: () => commandExists('promtool'), debianPackage: 'prometheus' },
    { present: async () => existsSync(CHROMIUM), debianPackage: 'chromium' },
  ]
  const missing: string[] = []
  for (const tool of tools) if (!(await tool.present())) missing.push(tool.debianPackage)
  if (missing.length > 0) await aptInstall(missing, log)
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
  const missing: string[] = []
  if (!(await commandExists('freeradius'))) missing.push('freeradius')
  if (!existsSync(FREERADIUS_POSTGRESQL_DRIVER)) missing.push('freeradius-postgresql')
  if (missing.length > 0) await aptInstall(missing, log)
}
