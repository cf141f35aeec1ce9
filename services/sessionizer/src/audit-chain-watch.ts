import { sql } from 'kysely'
import { auditLaneNames, verifyAuditLane, type ChainBreak, type Db } from '@radstream/db'

/** Older events re-verified per lane and check: at the default 5 minutes, 14M events a day a lane. */
const ROLLING_SLICE = 50_000n

export interface ChainCheck {
  readonly checked: number
  /** The first broken link found, while there is one. */
  readonly broken: ChainBreak | null
}

/**
 * Verifies every lane of the audit chain while it grows: at each check, every event written to a
 * lane since the last one, and the next slice of the lane's older events, from its first to its
 * newest and round again, so an old event changed by hand is found too, within one round. A break
 * is found again at each check until it is mended, so an alert on it does not clear by itself.
 * `radstream audit verify` is the full pass on demand.
 */
export class AuditChainWatch {
  private readonly lanes = new Map<string, { newest: bigint; rolling: bigint }>()

  constructor(private readonly db: Db) {}

  async check(): Promise<ChainCheck> {
    let checked = 0
    let broken: ChainBreak | null = null
    for (const lane of await auditLaneNames(this.db)) {
      const position = this.lanes.get(lane) ?? { newest: await this.newestSeq(lane), rolling: 0n }
      this.lanes.set(lane, position)
      const fresh = await verifyAuditLane(this.db, lane, { afterSeq: position.newest.toString() })
      // Up to the last good event: a break is met again at the next check.
      if (fresh.lastSeq !== null) position.newest = BigInt(fresh.lastSeq)
      const through =
        position.rolling + ROLLING_SLICE < position.newest ? position.rolling + ROLLING_SLICE : position.newest
      const older = await verifyAuditLane(this.db, lane, {
        afterSeq: position.rolling.toString(),
        throughSeq: through.toString(),
      })
      if (older.broken) position.rolling = older.lastSeq === null ? position.rolling : BigInt(older.lastSeq)
      else position.rolling = through >= position.newest ? 0n : through
      checked += fresh.checked + older.checked
      broken ??= fresh.broken ?? older.broken
    }
    return { checked, broken }
  }

  private async newestSeq(lane: string): Promise<bigint> {
    const { rows } = await sql<{ newest: string | null }>`
      select max(chain_seq)::text as newest from audit_events where lane = ${lane}`.execute(this.db)
    return BigInt(rows[0]?.newest ?? '0')
  }
}
