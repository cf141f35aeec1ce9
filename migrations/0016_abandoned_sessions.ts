import { sql, type Kysely } from 'kysely'
import { grantToServices } from './grant-to-services'

// Sessions a NAS abandons (it died: no Stop, no Accounting-On).
//
// - nas_cadences: each NAS's cadence as its sessions show it, the median of the interim gaps of its
//   last 31 sessions that had two Interim-Updates; a session with fewer reports of its own is swept
//   by it, unless the NAS is registered with an interval (that wins). Keyed by the NAS's identity
//   (the sessions' nas_ip_address, the Kafka key): only its own partition's batches write its row.
// - session_liveness says which NAS a session belongs to (its identity, and the source address the
//   registry knows it by) and whether its cadence is borrowed (its NAS's, registered or learnt, not
//   its own): when either changes, those rows follow at once, found by indexes that hold only them.
// - sessions.stop_time_latest: a session closed because a successor took its address ends when it
//   was last heard of (stop_time); the successor's start, the latest it can have ended, stands beside.

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table nas_cadences (
      nas_identity inet primary key,
      -- The address its accounting last came from: where the registry and nas list place it.
      source_address inet not null,
      samples integer[] not null,
      cadence integer not null check (cadence > 0),
      updated_at timestamptz not null default now()
    )`.execute(db)
  await sql`alter table session_liveness add column nas_address inet, add column nas_identity inet,
    add column borrowed boolean not null default false`.execute(db)
  await sql`
    update session_liveness l set nas_address = coalesce(s.nas_source_address, s.nas_ip_address),
      nas_identity = s.nas_ip_address,
      borrowed = s.interim_interval is null and not coalesce(s.next_interim_session_time > s.least_interim_session_time, false)
    from sessions s where s.id = l.session_id`.execute(db)
  await sql`create index session_liveness_borrowed on session_liveness (nas_address) where borrowed`.execute(db)
  await sql`create index session_liveness_borrowed_by_identity on session_liveness (nas_identity) where borrowed`.execute(
    db,
  )
  await sql`alter table sessions add column stop_time_latest timestamptz`.execute(db)
  await grantToServices(db, 'nas_cadences', ['grant select, insert, update, delete on nas_cadences to %I'])
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`alter table sessions drop column stop_time_latest`.execute(db)
  await sql`drop index session_liveness_borrowed`.execute(db)
  await sql`drop index session_liveness_borrowed_by_identity`.execute(db)
  await sql`alter table session_liveness drop column nas_address, drop column nas_identity, drop column borrowed`.execute(
    db,
  )
  await sql`drop table nas_cadences`.execute(db)
}
