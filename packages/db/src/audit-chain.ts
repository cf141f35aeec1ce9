import { sql } from 'kysely'
import type { Db } from './connection'

export interface ChainBreak {
  readonly lane: string
  readonly chainSeq: string
  readonly id: string
  readonly reason: string
}

export interface ChainReport {
  readonly lane: string
  readonly checked: number
  readonly firstSeq: string | null
  readonly lastSeq: string | null
  /** Set when events before the first one checked are gone (retention); they cannot be checked. */
  readonly startsAfterRemoved: boolean
  readonly broken: ChainBreak | null
}

interface ChainRow {
  chain_seq: string
  id: string
  prev_hash: string
  hash: string
  recomputed: string
}

const CHUNK = 5000

/**
 * Every lane of the audit chain: those with a head in audit_lanes and those that hold events (a
 * lane's head row deleted by hand must not hide its events from verification), read by a skip
 * over the (lane, chain_seq) index.
 */
export async function auditLaneNames(db: Db): Promise<string[]> {
  const { rows } = await sql<{ lane: string }>`
    with recursive held(lane) as (
      (select lane from audit_events order by lane limit 1)
      union all
      select (select e.lane from audit_events e where e.lane > h.lane order by e.lane limit 1) from held h
      where h.lane is not null
    )
    select lane from held where lane is not null
    union
    select lane from audit_lanes
    order by lane`.execute(db)
  return rows.map((r) => r.lane)
}

/**
 * Recomputes one lane of the audit hash chain (optionally only events from `from`, inclusive, to
 * `to`, exclusive, or after a position) and reports the first broken link: an event whose content
 * no longer matches its hash, one that does not point at its predecessor's hash, or a missing event.
 */
export async function verifyAuditLane(
  db: Db,
  lane: string,
  range: {
    from?: string | undefined
    to?: string | undefined
    /** Only events after this position of the lane (the first one is still linked to its predecessor)... */
    afterSeq?: string | undefined
    /** ...and up to this one. */
    throughSeq?: string | undefined
  } = {},
  onProgress: (checked: number) => void = () => undefined,
): Promise<ChainReport> {
  const inRange = sql`${range.from ? sql`and occurred_at >= ${range.from}::timestamptz` : sql``}
    ${range.to ? sql`and occurred_at < ${range.to}::timestamptz` : sql``}
    ${range.throughSeq ? sql`and chain_seq <= ${range.throughSeq}::bigint` : sql``}`
  let previous: { seq: bigint; hash: string } | undefined
  let after = range.afterSeq === undefined ? -1n : BigInt(range.afterSeq)
  let checked = 0
  let firstSeq: string | null = null
  let lastSeq: string | null = null
  let startsAfterRemoved = false

  for (;;) {
    const { rows } = await sql<ChainRow>`
      select chain_seq::text, id::text, prev_hash, hash, audit_event_hash(e) as recomputed
      from audit_events e where lane = ${lane} and chain_seq > ${after.toString()}::bigint ${inRange}
      order by e.chain_seq limit ${CHUNK}`.execute(db)
    for (const row of rows) {
      const seq = BigInt(row.chain_seq)
      if (previous === undefined) {
        firstSeq = row.chain_seq
        const before = await sql<{ hash: string }>`
          select hash from audit_events where lane = ${lane} and chain_seq = ${(seq - 1n).toString()}::bigint`.execute(
          db,
        )
        if (before.rows[0]) previous = { seq: seq - 1n, hash: before.rows[0].hash }
        else if (seq !== 1n) startsAfterRemoved = true
      }
      const broken = (reason: string): ChainReport => ({
        lane,
        checked,
        firstSeq,
        lastSeq,
        startsAfterRemoved,
        broken: { lane, chainSeq: row.chain_seq, id: row.id, reason },
      })
      if (row.recomputed !== row.hash) return broken('its content does not match its hash (the event was changed)')
      if (previous && previous.seq + 1n !== seq) return broken(`events ${previous.seq + 1n} to ${seq - 1n} are missing`)
      if (previous && row.prev_hash !== previous.hash) return broken("it does not point at its predecessor's hash")
      if (!previous && seq === 1n && row.prev_hash !== '0'.repeat(64))
        return broken('the first event does not start the chain')
      previous = { seq, hash: row.hash }
      lastSeq = row.chain_seq
      checked++
    }
    onProgress(checked)
    if (rows.length < CHUNK) return { lane, checked, firstSeq, lastSeq, startsAfterRemoved, broken: null }
    after = previous!.seq
  }
}
