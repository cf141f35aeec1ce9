import { sql, type Kysely } from 'kysely'

// Which packet's value a session row keeps, decided by what the packets say rather than by the
// order they arrive in. start_time_from_start: the start time is a Start's own event time (which
// wins over a start derived from Acct-Session-Time). <framed column>_time: the event time of the
// packet whose framed address the row holds (the latest wins, as FreeRADIUS's interim and stop
// queries keep the last one). Rows written before keep their values, as if from the oldest packet.

const FRAMED = ['framed_ip_address', 'framed_ipv6_address', 'framed_ipv6_prefix', 'delegated_ipv6_prefix']

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    alter table sessions
      add column start_time_from_start boolean not null default false,
      ${sql.raw(FRAMED.map((column) => `add column ${column}_time timestamptz`).join(', '))}`.execute(db)
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    alter table sessions
      drop column start_time_from_start,
      ${sql.raw(FRAMED.map((column) => `drop column ${column}_time`).join(', '))}`.execute(db)
}
