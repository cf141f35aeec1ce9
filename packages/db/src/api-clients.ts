import { randomBytes } from 'node:crypto'
import { sql } from 'kysely'
import type { Db } from './connection'
import type { ApiClientRow, ApiScope } from './schema'
import { hashSecret, verifySecret } from './secret-hash'

export const API_SCOPES: readonly ApiScope[] = ['admin', 'reseller', 'auditor']

/** The reseller's id, creating the reseller when it does not exist yet. */
export async function ensureReseller(db: Db, name: string): Promise<{ id: number; created: boolean }> {
  const inserted = await db
    .insertInto('resellers')
    .values({ name })
    .onConflict((oc) => oc.column('name').doNothing())
    .returning('id')
    .executeTakeFirst()
  if (inserted) return { id: inserted.id, created: true }
  const existing = await db.selectFrom('resellers').select('id').where('name', '=', name).executeTakeFirstOrThrow()
  return { id: existing.id, created: false }
}

export interface NewApiClient {
  readonly name: string
  readonly scopes: readonly ApiScope[]
  readonly resellerName?: string | undefined
  readonly auditHistoryDays?: number | undefined
  readonly rateLimitPerMinute?: number | undefined
}

const newSecret = () => randomBytes(32).toString('base64url')

/** Creates an API client; the secret is returned this once and only its scrypt hash is kept. */
export async function createApiClient(
  db: Db,
  client: NewApiClient,
): Promise<{ clientId: string; clientSecret: string }> {
  const clientId = `rsc_${randomBytes(12).toString('base64url')}`
  const clientSecret = newSecret()
  const resellerId = client.resellerName ? (await ensureReseller(db, client.resellerName)).id : null
  await db
    .insertInto('api_clients')
    .values({
      id: clientId,
      name: client.name,
      secret_hash: await hashSecret(clientSecret),
      scopes: sql`${[...client.scopes]}::text[]` as unknown as ApiScope[],
      reseller_id: resellerId,
      ...(client.auditHistoryDays !== undefined && { audit_history_days: client.auditHistoryDays }),
      ...(client.rateLimitPerMinute !== undefined && { rate_limit_per_minute: client.rateLimitPerMinute }),
    })
    .execute()
  return { clientId, clientSecret }
}

/**
 * The client when the id and secret match a client that is not revoked: its secret, or the one
 * before its last rotation while that one's grace period lasts.
 */
export async function authenticateApiClient(
  db: Db,
  clientId: string,
  clientSecret: string,
): Promise<ApiClientRow | undefined> {
  const client = await findApiClient(db, clientId)
  if (!client) {
    // Hash anyway, so a wrong id costs as long as a wrong secret and reveals nothing.
    await hashSecret(clientSecret)
    return undefined
  }
  if (await verifySecret(clientSecret, client.secret_hash)) return client
  const previousValid =
    client.previous_secret_hash !== null &&
    client.previous_secret_expires_at !== null &&
    client.previous_secret_expires_at.getTime() > Date.now()
  return previousValid && (await verifySecret(clientSecret, client.previous_secret_hash!)) ? client : undefined
}

export async function findApiClient(db: Db, clientId: string): Promise<ApiClientRow | undefined> {
  return db
    .selectFrom('api_clients')
    .selectAll()
    .where('id', '=', clientId)
    .where('revoked_at', 'is', null)
    .executeTakeFirst()
}

/** Every API client, oldest first; or only the one with `only.id`. */
export async function listApiClients(db: Db, only: { id?: string } = {}) {
  let query = db.selectFrom('api_clients')
  if (only.id !== undefined) query = query.where('api_clients.id', '=', only.id)
  return query
    .leftJoin('resellers', 'resellers.id', 'api_clients.reseller_id')
    .select([
      'api_clients.id',
      'api_clients.name',
      'api_clients.scopes',
      'resellers.name as reseller',
      'api_clients.audit_history_days',
      'api_clients.rate_limit_per_minute',
      'api_clients.created_at',
      'api_clients.secret_rotated_at',
      'api_clients.previous_secret_expires_at',
      'api_clients.revoked_at',
    ])
    .orderBy('api_clients.created_at')
    .execute()
}

export async function revokeApiClient(db: Db, clientId: string): Promise<boolean> {
  const result = await db
    .updateTable('api_clients')
    .set({ revoked_at: new Date() })
    .where('id', '=', clientId)
    .where('revoked_at', 'is', null)
    .executeTakeFirst()
  return result.numUpdatedRows > 0n
}

export interface RotatedSecret {
  readonly clientSecret: string
  /** Until when the secret it replaced still works; null: it stopped at once. */
  readonly previousSecretValidUntil: Date | null
}

/**
 * A new secret for an active client, returned this once. The old one keeps working for
 * `graceSeconds` (0: not at all); a secret older than that, from an earlier rotation, stops now.
 */
export async function rotateApiClientSecret(
  db: Db,
  clientId: string,
  graceSeconds: number,
): Promise<RotatedSecret | undefined> {
  const clientSecret = newSecret()
  const secretHash = await hashSecret(clientSecret)
  const graceful = graceSeconds > 0
  const row = await db
    .updateTable('api_clients')
    .set((eb) => ({
      previous_secret_hash: graceful ? eb.ref('secret_hash') : null,
      previous_secret_expires_at: graceful ? sql<Date>`now() + make_interval(secs => ${graceSeconds})` : null,
      secret_hash: secretHash,
      secret_rotated_at: sql<Date>`now()`,
    }))
    .where('id', '=', clientId)
    .where('revoked_at', 'is', null)
    .returning('previous_secret_expires_at')
    .executeTakeFirst()
  return row && { clientSecret, previousSecretValidUntil: row.previous_secret_expires_at }
}
