import { sql, type Transaction } from 'kysely'
import type { Database } from '@radstream/db'

// "keyl": the lock that orders batches keyed the way the topic was keyed before NAS keying.
const LEGACY_KEYING_LOCK = 0x6b65_796c

/**
 * Takes the keying lock for the rest of the batch's transaction; returns how long it waited for it
 * (0 when it was free).
 *
 * Records are keyed by their NAS (the identity the session rows' nas_ip_address holds), so every
 * packet that supersession and Accounting-On/Off compare lands in one partition, and a batch decides
 * them alone. Records keyed as before (`<NAS>|<Acct-Session-Id>`: one NAS's sessions over every
 * partition) may still wait in the topic after an upgrade; a batch that holds any takes this lock
 * exclusively, as every batch once took the audit chain's, and every other batch takes it shared.
 * So while old records drain, a batch that holds them runs alone and sees what the others
 * committed; once they are gone no batch waits for another: shared holders never do.
 */
export async function lockForKeying(tx: Transaction<Database>, legacyKeys: boolean): Promise<number> {
  // Tried first: when no other batch holds it in a conflicting mode, nothing was waited for.
  const { rows } = await (
    legacyKeys
      ? sql<{ got: boolean }>`select pg_try_advisory_xact_lock(${LEGACY_KEYING_LOCK}) as got`
      : sql<{ got: boolean }>`select pg_try_advisory_xact_lock_shared(${LEGACY_KEYING_LOCK}) as got`
  ).execute(tx)
  if (rows[0]?.got) return 0
  const asked = performance.now()
  await (
    legacyKeys
      ? sql`select pg_advisory_xact_lock(${LEGACY_KEYING_LOCK})`
      : sql`select pg_advisory_xact_lock_shared(${LEGACY_KEYING_LOCK})`
  ).execute(tx)
  return performance.now() - asked
}

/** A record key of the keying before NAS keying: `<NAS address>|<Acct-Session-Id>`. */
export const isLegacyKey = (key: Buffer | string | null | undefined): boolean =>
  key !== null && key !== undefined && key.includes('|')
