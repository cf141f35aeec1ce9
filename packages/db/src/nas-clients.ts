import { isIP, isIPv4 } from 'node:net'
import { sql } from 'kysely'
import type { Db } from './connection'
import type { NasClientRow } from './schema'

/** A NAS to register; `undefined` leaves a field as it is (or, for a new NAS, at its default). */
export interface NasClientInput {
  readonly network: string
  readonly secret: string
  readonly name?: string | undefined
  /** Its Dynamic Authorization port; null: it takes no Disconnect or CoA. New NAS: 3799. */
  readonly coaPort?: number | null | undefined
  /** Where its Dynamic Authorization server listens; null: at the session's NAS address. */
  readonly coaAddress?: string | null | undefined
  /** The interim interval it is configured with, in seconds; null: not known. */
  readonly interimInterval?: number | null | undefined
}

/** Registers a NAS (an address or CIDR block) or, when it exists, replaces what is given. */
export async function upsertNasClient(db: Db, client: NasClientInput): Promise<NasClientRow> {
  const dae = {
    ...(client.coaPort !== undefined && { coa_port: client.coaPort }),
    ...(client.coaAddress !== undefined && { coa_address: client.coaAddress }),
    ...(client.interimInterval !== undefined && { interim_interval: client.interimInterval }),
  }
  const row = await db
    .insertInto('nas_clients')
    .values({
      network: client.network,
      secret: client.secret,
      name: client.name ?? null,
      ...dae,
    })
    .onConflict((oc) =>
      oc.column('network').doUpdateSet({
        secret: client.secret,
        name: sql`coalesce(${client.name ?? null}, nas_clients.name)`,
        ...dae,
        updated_at: sql`now()`,
      }),
    )
    .returningAll()
    .executeTakeFirstOrThrow()
  if (client.interimInterval !== undefined) await refreshRegisteredCadences(db, row.network)
  return row
}

/**
 * The cadence a NAS lends its sessions that have none of their own, as SQL on its source address
 * and identity expressions: its registered interval (longest prefix of the source), else the
 * cadence learnt from its sessions, else 0 (none known).
 */
export const borrowedCadence = (source: string, identity: string) => `coalesce((
    select n.interim_interval from nas_clients n
    where n.interim_interval is not null and n.network >>= ${source}
    order by masklen(n.network) desc limit 1),
  (select c.cadence from nas_cadences c where c.nas_identity = ${identity}), 0)`

/**
 * The stale sweep's cadence of the open sessions under `network` that borrow their NAS's, from
 * the registry as it now stands (the batches set it when a session is heard of: this catches the
 * sessions a changed registration applies to before their next packet), by the index of borrowing
 * sessions.
 */
async function refreshRegisteredCadences(db: Db, network: string): Promise<void> {
  await sql`
    update session_liveness l set cadence = ${sql.raw(borrowedCadence('l.nas_address', 'l.nas_identity'))}
    where l.borrowed and l.nas_address <<= ${network}::inet`.execute(db)
}

/** Node reports IPv4 senders on a dual-stack socket as ::ffff:a.b.c.d; the registry stores a.b.c.d. */
export function normalizeAddress(address: string): string {
  return address.startsWith('::ffff:') && isIPv4(address.slice(7)) ? address.slice(7) : address
}

/**
 * The registered NAS an address belongs to, by longest prefix as the collector matches senders;
 * undefined when none covers it.
 */
export async function nasClientForAddress(db: Db, address: string): Promise<NasClientRow | undefined> {
  return db
    .selectFrom('nas_clients')
    .selectAll()
    .where(sql<boolean>`network >>= ${address}::inet`)
    .orderBy(sql`masklen(network)`, 'desc')
    .limit(1)
    .executeTakeFirst()
}

/** A registry row as operators see it, in the CLI and the API: everything but the secret. */
export function nasClientView(row: NasClientRow) {
  return {
    network: row.network,
    name: row.name,
    coaPort: row.coa_port,
    coaAddress: row.coa_address,
    interimInterval: row.interim_interval,
    updatedAt: row.updated_at,
  }
}

export async function listNasClients(db: Db): Promise<NasClientRow[]> {
  return db.selectFrom('nas_clients').selectAll().orderBy('network').execute()
}

/** A NAS's cadence as its sessions show it, with the registry entry its accounting comes from (if any). */
export interface LearntCadence {
  /** The NAS's identity: the address its sessions hold as nas_ip_address. */
  readonly nas: string
  readonly seconds: number
  /** How many sessions' interim gaps the median is of (at most 31). */
  readonly sessions: number
  readonly network: string | null
  readonly registeredInterval: number | null
}

/** Every NAS's learnt cadence, by address. */
export async function learntCadences(db: Db): Promise<LearntCadence[]> {
  const { rows } = await sql<LearntCadence>`
    select host(c.nas_identity) as nas, c.cadence as seconds, cardinality(c.samples) as sessions,
      n.network, n.interim_interval as "registeredInterval"
    from nas_cadences c
    left join lateral (
      select network, interim_interval from nas_clients where network >>= c.source_address
      order by masklen(network) desc limit 1
    ) n on true
    order by c.nas_identity`.execute(db)
  return rows
}

/** Removes a registered NAS; returns its network as the registry writes it (10.0.0.1/32), if there was one. */
export async function removeNasClient(db: Db, network: string): Promise<string | undefined> {
  const row = await db.deleteFrom('nas_clients').where('network', '=', network).returning('network').executeTakeFirst()
  if (row) await refreshRegisteredCadences(db, row.network)
  return row?.network
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
