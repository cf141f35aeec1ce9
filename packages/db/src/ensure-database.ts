import pg from 'pg'
import { pgConnectionConfig } from './connection'

/**
 * Creates the database named in `url` when it is missing, connecting to the server's `postgres`
 * database to do so. Safe to run concurrently: a lost creation race is not an error.
 */
export async function ensureDatabaseExists(url: string): Promise<boolean> {
  const target = new URL(url)
  const name = decodeURIComponent(target.pathname.replace(/^\//, ''))
  if (!name) throw new Error(`DATABASE_URL names no database: ${redactUrl(url)}`)
  const admin = new URL(url)
  admin.pathname = '/postgres'
  const client = new pg.Client(pgConnectionConfig(admin.toString()))
  await client.connect()
  try {
    const found = await client.query('select 1 from pg_database where datname = $1', [name])
    if (found.rowCount) return false
    try {
      await client.query(`create database ${pg.escapeIdentifier(name)}`)
    } catch (error) {
      if ((error as { code?: string }).code === '42P04') return false // created meanwhile
      throw error
    }
    return true
  } finally {
    await client.end()
  }
}

/** The URL without its password, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url)
    if (parsed.password) parsed.password = '***'
    return parsed.toString()
  } catch {
    return '(unparseable URL)'
  }
}
