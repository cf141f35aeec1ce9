import { loadSettings } from '@radstream/config'
import { migrateDatabase } from '@radstream/db'

export async function runMigrate(): Promise<void> {
  const { database } = loadSettings()
  const applied = await migrateDatabase({
    url: database.url,
    appPassword: database.appPassword?.reveal(),
    log: console.log,
  })
  if (applied.length === 0) console.log('migrations: up to date')
}
