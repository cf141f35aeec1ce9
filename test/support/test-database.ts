import { DEFAULT_DATABASE_URL } from '@radstream/config'

/**
 * Tests use their own database beside the one `npm start` uses: TEST_DATABASE_URL if set, else
 * DATABASE_URL (or the default) with the database name radstream_test.
 */
export function testDatabaseUrl(env: NodeJS.ProcessEnv = process.env): string {
  if (env.TEST_DATABASE_URL) return env.TEST_DATABASE_URL
  const url = new URL(env.DATABASE_URL || DEFAULT_DATABASE_URL)
  url.pathname = '/radstream_test'
  return url.toString()
}
