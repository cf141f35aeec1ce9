import { createHash } from 'node:crypto'
import { sql } from 'kysely'
import { auditRetentionDays } from './audit-events'
import type { Db } from './connection'

/** A lane's head as a seal records it. */
export interface SealedLane {
  readonly lane: string
  readonly seq: string
  readonly hash: string
}

/**
 * A seal: every lane's head at one moment, their Merkle root, chained to the seal before by its
 * hash. Written to the database and to a Kafka topic (and a file, if configured): the database
 * alone cannot rewrite what the seals say, so a truncated tail or a rewritten chain is found.
 */
export interface AuditSeal {
  readonly seq: string
  readonly sealedAt: string
  readonly lanes: readonly SealedLane[]
  readonly root: string
  readonly prevHash: string
  readonly hash: string
}

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex')
const ZERO_HASH = '0'.repeat(64)

/** The Merkle root of lane heads in lane order: leaves sha256(lane|seq|hash), pairs hashed up, an odd one carried. */
export function merkleRoot(lanes: readonly SealedLane[]): string {
  let level = [...lanes]
    .sort((a, b) => (a.lane < b.lane ? -1 : a.lane > b.lane ? 1 : 0))
    .map((l) => sha256(`${l.lane}|${l.seq}|${l.hash}`))
  if (level.length === 0) return ZERO_HASH
  while (level.length > 1) {
    const next: string[] = []
    for (let i = 0; i < level.length; i += 2)
      next.push(i + 1 < level.length ? sha256(level[i]! + level[i + 1]!) : level[i]!)
    level = next
  }
  return level[0]!
}

/** A seal's hash: over the seal before's hash and its own canonical content. */
export function sealHash(seal: Omit<AuditSeal, 'hash'>): string {
  const lanes = [...seal.lanes].sort((a, b) => (a.lane < b.lane ? -1 : 1)).map((l) => [l.lane, l.seq, l.hash])
  return sha256(`${seal.prevHash}|${JSON.stringify([seal.seq, seal.sealedAt, lanes, seal.root])}`)
}

// "seal": one sealer at a time among the sessionizers.
const SEAL_LOCK = 0x7365_616c

/**
 * Seals every lane's head as committed now, unless nothing changed since the last seal: writes the
 * seal to audit_seals and hands it to `publish` (the Kafka topic, a file) before committing, so a
 * seal the database holds was published. Returns the seal, or undefined when another sessionizer
 * holds the sealer's lock or there was nothing new.
 */
export async function sealAuditLanes(
  db: Db,
  publish: (seal: AuditSeal) => Promise<void>,
): Promise<AuditSeal | undefined> {
  return db.transaction().execute(async (tx) => {
    const { rows: locked } = await sql<{
      locked: boolean
    }>`select pg_try_advisory_xact_lock(${SEAL_LOCK}) as locked`.execute(tx)
    if (!locked[0]?.locked) return undefined
    const { rows: heads } = await sql<SealedLane>`
      select lane, head_seq::text as seq, head_hash as hash from audit_lanes order by lane`.execute(tx)
    const { rows: last } = await sql<{ seq: string; lanes: SealedLane[]; hash: string }>`
      select seq::text, lanes, hash from audit_seals order by seq desc limit 1`.execute(tx)
    const previous = last[0]
    const flat = (lanes: readonly SealedLane[]) => lanes.map((l) => `${l.lane}|${l.seq}|${l.hash}`).join(',')
    if (previous && flat(previous.lanes) === flat(heads)) return undefined
    const unsealed = {
      seq: String(BigInt(previous?.seq ?? '0') + 1n),
      sealedAt: new Date().toISOString(),
      lanes: heads,
      root: merkleRoot(heads),
      prevHash: previous?.hash ?? ZERO_HASH,
    }
    const seal: AuditSeal = { ...unsealed, hash: sealHash(unsealed) }
    await sql`
      insert into audit_seals (seq, sealed_at, lanes, root, prev_hash, hash)
      values (${seal.seq}, ${seal.sealedAt}, ${JSON.stringify(seal.lanes)}, ${seal.root}, ${seal.prevHash}, ${seal.hash})`.execute(
      tx,
    )
    await publish(seal)
    return seal
  })
}

export interface SealBreak {
  readonly seal: string
  readonly lane?: string
  readonly reason: string
}

/**
 * Checks the audit lanes against seals read from where the database cannot rewrite them: each
 * seal's hash and its link to a seal before it; then, for each lane a seal names, the event at the
 * sealed position must be there with the sealed hash, unless retention removed it (older than
 * the oldest event the lane still holds, or the whole lane past its retention). A lane whose
 * newest event is before a sealed position lost its tail. Returns the first break found, if any.
 */
export async function verifySeals(db: Db, seals: readonly AuditSeal[]): Promise<SealBreak | undefined> {
  const hashes = new Map<string, Set<string>>()
  for (const seal of seals) {
    const { hash, ...unsealed } = seal
    if (sealHash(unsealed) !== hash) return { seal: seal.seq, reason: 'its content does not match its hash' }
    if (merkleRoot(seal.lanes) !== seal.root) return { seal: seal.seq, reason: 'its root does not match its lanes' }
    const before = hashes.get(String(BigInt(seal.seq) - 1n))
    if (seal.seq !== '1' && before && !before.has(seal.prevHash))
      return { seal: seal.seq, reason: 'it does not point at the seal before it' }
    hashes.set(seal.seq, (hashes.get(seal.seq) ?? new Set()).add(hash))
  }
  const retainedSince = Date.now() - (await auditRetentionDays(db)) * 86_400_000
  const extent = new Map<string, { first: bigint; last: bigint }>()
  for (const seal of seals) {
    for (const sealed of seal.lanes) {
      if (!extent.has(sealed.lane)) {
        const { rows } = await sql<{ first: string | null; last: string | null }>`
          select min(chain_seq)::text as first, max(chain_seq)::text as last from audit_events where lane = ${sealed.lane}`.execute(
          db,
        )
        extent.set(sealed.lane, { first: BigInt(rows[0]?.first ?? '0'), last: BigInt(rows[0]?.last ?? '0') })
      }
      const { first, last } = extent.get(sealed.lane)!
      const seq = BigInt(sealed.seq)
      if (seq === 0n) continue
      if (seq > last) {
        if (last === 0n && Date.parse(seal.sealedAt) < retainedSince) continue
        return {
          seal: seal.seq,
          lane: sealed.lane,
          reason: `the lane ends at event ${last}, but the seal of ${seal.sealedAt} saw it at ${seq}: its tail was removed`,
        }
      }
      if (seq < first) continue
      const { rows } = await sql<{ hash: string }>`
        select hash from audit_events where lane = ${sealed.lane} and chain_seq = ${sealed.seq}::bigint`.execute(db)
      if (!rows[0])
        return { seal: seal.seq, lane: sealed.lane, reason: `event ${sealed.seq}, which the seal saw, is missing` }
      if (rows[0].hash !== sealed.hash)
        return {
          seal: seal.seq,
          lane: sealed.lane,
          reason: `event ${sealed.seq} has another hash than the seal saw: the lane was rewritten`,
        }
    }
  }
  return undefined
}
