import { aptInstall, commandExists } from './run'

/** radclient (Debian freeradius-utils) is the independent client the end-to-end tests use. */
export async function ensureRadclient(log: (message: string) => void): Promise<void> {
  if (await commandExists('radclient')) return
  await aptInstall(['freeradius-utils'], log)
}
