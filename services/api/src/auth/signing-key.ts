import type { Db } from '@radstream/db'

/**
 * The HS256 key tokens are signed with: AUTH_TOKEN_SECRET when set, else the random key the
 * migrations stored in the database, shared by every API instance.
 */
export async function tokenSigningKey(db: Db, configured: string | undefined): Promise<string> {
  if (configured) return configured
  const row = await db
    .selectFrom('api_settings')
    .select('value')
    .where('name', '=', 'token_signing_key')
    .executeTakeFirstOrThrow()
  return row.value
}
