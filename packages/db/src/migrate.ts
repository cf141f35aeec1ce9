import { Migrator, sql, type MigrationResult } from 'kysely'
import { migrations } from '../../../migrations'
import { createDb, type Db } from './connection'
import { ensureDatabaseExists } from './ensure-database'

export class MigrationError extends Error {
  override readonly name = 'MigrationError'
  readonly code = 'RADSTREAM_MIGRATION_FAILED'
}

const migratorOf = (db: Db) => new Migrator({ db, provider: { getMigrations: async () => migrations } })

/** The migrations this code has and the database has not, and those the database has that this code does not. */
export async function migrationStatus(db: Db): Promise<{ pending: string[]; unknown: string[] }> {
  const known = await migratorOf(db).getMigrations()
  const { rows } = await sql<{ name: string }>`select name from kysely_migration`
    .execute(db)
    .catch(() => ({ rows: [] as { name: string }[] }))
  const names = new Set(known.map((m) => m.name))
  return {
    pending: known.filter((m) => m.executedAt === undefined).map((m) => m.name),
    unknown: rows.map((r) => r.name).filter((name) => !names.has(name)),
  }
}

/** Applies every pending migration in order; throws naming the migration that failed. */
export async function migrateToLatest(db: Db): Promise<MigrationResult[]> {
  const { error, results = [] } = await migratorOf(db).migrateToLatest()
  if (error) {
    const failed = results.find((r) => r.status === 'Error')
    throw new MigrationError(`migration ${failed?.migrationName ?? '(unknown)'} failed: ${String(error)}`, {
      cause: error,
    })
  }
  return results
}

/** The API's role, and the default of the services': no UPDATE or DELETE on audit events, no DDL. */
export const SERVICE_ROLE = 'radstream_app'

/**
 * The role each service connects as (migration 0015): the collector, which faces the network,
 * reads only the NAS registry; the sessionizer has the data path but not the API's keys and clients.
 */
export const SERVICE_ROLES = {
  collector: 'radstream_collector',
  sessionizer: 'radstream_sessionizer',
  api: SERVICE_ROLE,
} as const

/**
 * `url` as a service's role: the same server and database, that user with `password` (none: the
 * server's trust or peer rules decide).
 */
export function serviceRoleUrl(url: string, password: string | undefined, role: string = SERVICE_ROLE): string {
  const service = new URL(url)
  service.username = role
  service.password = password ?? ''
  return service.toString()
}

export interface DatabaseMigration {
  /** Where to migrate, as a role that may create tables and roles (the database's owner). */
  readonly url: string
  /** Set on the services' role when given. */
  readonly appPassword?: string | undefined
  readonly log: (message: string) => void
}

/**
 * Creates the database when missing, applies pending migrations (each logged), and sets the
 * services' password; returns the migrations applied.
 */
export async function migrateDatabase({ url, appPassword, log }: DatabaseMigration): Promise<MigrationResult[]> {
  await ensureDatabaseExists(url)
  const db = createDb({ url, poolSize: 1, applicationName: 'radstream-migrate' })
  try {
    const results = await migrateToLatest(db)
    for (const result of results) log(`migration ${result.migrationName}: ${result.status}`)
    if (appPassword !== undefined) {
      for (const role of Object.values(SERVICE_ROLES))
        await sql`alter role ${sql.id(role)} password ${sql.lit(appPassword)}`.execute(db)
      log(`${Object.values(SERVICE_ROLES).join(', ')}: password set`)
    }
    return results
  } finally {
    await db.destroy()
  }
}
