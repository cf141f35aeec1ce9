import { isIP } from 'node:net'
import { sql } from 'kysely'
import type { Db } from './connection'
import type { NasClientRow } from './schema'

/** Registers a NAS (an address or CIDR block) or, when it exists, replaces its secret and name. */
export async function upsertNasClient(
  db: Db,
  client: { network: string; secret: string; name?: string | undefined },
): Promise<NasClientRow> {
  return db
    .insertInto('nas_clients')
    .values({ network: client.network, secret: client.secret, name: client.name ?? null })
    .onConflict((oc) =>
      oc.column('network').doUpdateSet({
        secret: client.secret,
        name: sql`coalesce(${client.name ?? null}, nas_clients.name)`,
        updated_at: sql`now()`,
      }),
    )
    .returningAll()
    .executeTakeFirstOrThrow()
}

export async function listNasClients(db: Db): Promise<NasClientRow[]> {
  return db.selectFrom('nas_clients').selectAll().orderBy('network').execute()
}

export async function removeNasClient(db: Db, network: string): Promise<boolean> {
  const result = await db.deleteFrom('nas_clients').where('network', '=', network).executeTakeFirst()
  return result.numDeletedRows > 0n
}

/**
 * True for what `nas_clients.network` accepts: an IPv4 or IPv6 address, or a CIDR block whose
 * address has no bits set past the prefix (10.0.0.0/8, not 10.0.0.1/8).
 */
export function isNetwork(text: string): boolean {
  const [address = '', length, extra] = text.split('/')
  const family = isIP(address)
  if (family === 0 || extra !== undefined) return false
  if (length === undefined) return true
  if (!/^\d{1,3}$/.test(length) || Number(length) > (family === 4 ? 32 : 128)) return false
  if (family === 6) return true
  const value = address.split('.').reduce((n, octet) => n * 256 + Number(octet), 0)
  const hostBits = 32 - Number(length)
  return hostBits === 0 || value % 2 ** hostBits === 0
}
