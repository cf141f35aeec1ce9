import { sql } from 'kysely'
import { verifyAuditChain, type ChainBreak, type Db } from '@radstream/db'

/** Older events re-verified per check: at the default 5 minutes, 14M events a day. */
const ROLLING_SLICE = 50_000n

export interface ChainCheck {
  readonly checked: number
  /** The first broken link found, while there is one. */
  readonly broken: ChainBreak | null
}

/**
 * Verifies the audit chain while it grows: at each check, every event written since the last one,
 * and the next slice of older events, from the first to the newest and round again, so an old
 * event changed by hand is found too, within one round. A break is found again at each check
 * until it is mended, so an alert on it does not clear by itself. `radstream audit verify` is
 * the full pass on demand.
 */
export class AuditChainWatch {
  private newest: bigint | undefined
  private rolling = 0n

  constructor(private readonly db: Db) {}

  async check(): Promise<ChainCheck> {
    this.newest ??= await this.newestSeq()
    const fresh = await verifyAuditChain(this.db, { afterSeq: this.newest.toString() })
    // Up to the last good event: a break is met again at the next check.
    if (fresh.lastSeq !== null) this.newest = BigInt(fresh.lastSeq)

    const through = this.rolling + ROLLING_SLICE < this.newest ? this.rolling + ROLLING_SLICE : this.newest
    const older = await verifyAuditChain(this.db, {
      afterSeq: this.rolling.toString(),
      throughSeq: through.toString(),
    })
    if (older.broken) this.rolling = older.lastSeq === null ? this.rolling : BigInt(older.lastSeq)
    else this.rolling = through >= this.newest ? 0n : through
    return { checked: fresh.checked + older.checked, broken: fresh.broken ?? older.broken }
  }

  private async newestSeq(): Promise<bigint> {
    const { rows } = await sql<{
      newest: string | null
    }>`select max(chain_seq)::text as newest from audit_events`.execute(this.db)
    return BigInt(rows[0]?.newest ?? '0')
  }
}
