import { aptInstall, commandExists } from './run'

/**
 * The independent RADIUS programs the tests talk to: radclient (Debian freeradius-utils) as a
 * NAS's client, and FreeRADIUS (Debian freeradius) as a NAS's Dynamic Authorization server.
 * Missing ones are installed in one apt run (two at once would fight over dpkg's lock).
 */
export async function ensureRadiusTools(log: (message: string) => void): Promise<void> {
  const tools = [
    { command: 'radclient', debianPackage: 'freeradius-utils' },
    { command: 'freeradius', debianPackage: 'freeradius' },
  ]
  const missing: string[] = []
  for (const tool of tools) if (!(await commandExists(tool.command))) missing.push(tool.debianPackage)
  if (missing.length > 0) await aptInstall(missing, log)
}
