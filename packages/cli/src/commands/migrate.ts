import { loadSettings } from '@radstream/config'
import { createDb, ensureDatabaseExists, migrateToLatest } from '@radstream/db'
export async function runMigrate(): Promise<void> {
  const settings = loadSettings()
  await ensureDatabaseExists(settings.database.url)
  const db = createDb({ url: settings.database.url, poolSize: 1, applicationName: 'radstream-migrate' })
  try {
    const results = await migrateToLatest(db)
    if (results.length === 0) console.log('migrations: up to date')
    for (const result of results) console.log(`migration ${result.migrationName}: ${result.status}`)
  } finally {
    await db.destroy()
  }
}
