import { loadSettings } from '@radstream/config'
import { migrateDatabase } from '@radstream/db'
import { parseCommandArgs } from './shared'

export async function runMigrate(args: readonly string[]): Promise<void> {
  parseCommandArgs({ args: [...args], options: {}, strict: true })
  const { database } = loadSettings()
  const applied = await migrateDatabase({
    url: database.url,
    appPassword: database.appPassword?.reveal(),
    log: console.log,
  })
  if (applied.length === 0) console.log('migrations: up to date')
}
