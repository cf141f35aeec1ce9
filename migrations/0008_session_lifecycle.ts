import { sql, type Kysely } from 'kysely'

// How sessions end when the NAS does not say so. A session whose address a newer session on the
// same NAS holds is closed as 'superseded' (the NAS crashed and gave the address out again);
// finding the older holders of an IPv4 address, open or closed after the newer one began, is an
// index range on (address, stop_time). The stale sweep learns a session's interim cadence from the
// two least Acct-Session-Times of its Interim-Updates (their gap; kept as the two least so that any
// order of packets keeps the same two), or takes the interval a NAS is registered with.

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table sessions drop constraint sessions_closed_by_check`.execute(db)
  await sql`alter table sessions add constraint sessions_closed_by_check
    check (closed_by in ('Stop', 'Accounting-On', 'Accounting-Off', 'stale', 'superseded'))`.execute(db)
  await sql`create index sessions_framed_ipv4_by_stop on sessions (framed_ip_address, stop_time) where framed_ip_address is not null`.execute(
    db,
  )
  await sql`alter table sessions add column least_interim_session_time bigint, add column next_interim_session_time bigint`.execute(
    db,
  )
  await sql`alter table nas_clients add column interim_interval integer check (interim_interval between 1 and 2147483647)`.execute(
    db,
  )
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`alter table nas_clients drop column interim_interval`.execute(db)
  await sql`alter table sessions drop column least_interim_session_time, drop column next_interim_session_time`.execute(
    db,
  )
  await sql`drop index sessions_framed_ipv4_by_stop`.execute(db)
  await sql`update sessions set closed_by = 'stale' where closed_by = 'superseded'`.execute(db)
  await sql`alter table sessions drop constraint sessions_closed_by_check`.execute(db)
  await sql`alter table sessions add constraint sessions_closed_by_check
    check (closed_by in ('Stop', 'Accounting-On', 'Accounting-Off', 'stale'))`.execute(db)
}
