import { Migrator, type MigrationResult } from 'kysely'
import { migrations } from '../../../migrations'
import type { Db } from './connection'

export class MigrationError extends Error {
  override readonly name = 'MigrationError'
  readonly code = 'RADSTREAM_MIGRATION_FAILED'
}

/** Applies every pending migration in order; throws naming the migration that failed. */
export async function migrateToLatest(db: Db): Promise<MigrationResult[]> {
  const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } })
  const { error, results = [] } = await migrator.migrateToLatest()
  if (error) {
    const failed = results.find((r) => r.status === 'Error')
    throw new MigrationError(`migration ${failed?.migrationName ?? '(unknown)'} failed: ${String(error)}`, {
      cause: error,
    })
  }
  return results
}
