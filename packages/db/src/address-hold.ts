import { sql, type RawBuilder } from 'kysely'

/**
 * The span in which a session (the sessions row aliased `row`) may hold its address, as migration
 * 0018 indexes it with each address: a superset of every exact "held then" condition, so adding
 * it beside them turns a read of the address's whole history into a probe of the spans that
 * overlap. Written exactly as the indexes' expression, or PostgreSQL will not match them.
 */
export function addressHold(row: string): RawBuilder<unknown> {
  return sql.raw(`address_hold(${row}.start_time, ${row}.stop_time, ${row}.stop_time_latest, ${row}.closed_by)`)
}

/** The row may have held its address at `instant` (the SQL of a timestamptz). */
export function mayHoldAt(row: string, instant: RawBuilder<unknown> | Date): RawBuilder<boolean> {
  return sql<boolean>`${addressHold(row)} @> ${instant}::timestamptz`
}

/** The row may have held its address at some instant from `from` to `to` (unbounded when absent). */
export function mayHoldWithin(
  row: string,
  from: RawBuilder<unknown> | Date,
  to?: RawBuilder<unknown> | Date,
): RawBuilder<boolean> {
  return sql<boolean>`${addressHold(row)} && tstzrange(${from}::timestamptz, ${to ?? null}::timestamptz, '[]')`
}
