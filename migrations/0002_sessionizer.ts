import { sql, type Kysely } from 'kysely'

// Sessions grow what the sessionizer needs to be order-independent and to close zombies; audit
// events get their table; NAS-wide events (Accounting-On/Off) are remembered so a late packet of a
// session that began before a reboot is closed at that reboot, whatever the arrival order.

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    alter table sessions
      add column closed_by text check (closed_by in ('Stop', 'Accounting-On', 'Accounting-Off', 'stale')),
      add column interim_interval integer`.execute(db)
  await sql`update sessions set closed_by = 'Stop' where stop_time is not null`.execute(db)

  // "Who had IP X at time T": equality on the address, range on the start.
  await sql`create index sessions_by_framed_ipv4 on sessions (framed_ip_address, start_time) where framed_ip_address is not null`.execute(
    db,
  )
  await sql`create index sessions_by_framed_ipv6 on sessions (framed_ipv6_address, start_time) where framed_ipv6_address is not null`.execute(
    db,
  )
  await sql`create index sessions_by_ipv6_prefix on sessions using gist (framed_ipv6_prefix inet_ops) where framed_ipv6_prefix is not null`.execute(
    db,
  )
  await sql`create index sessions_by_delegated_prefix on sessions using gist (delegated_ipv6_prefix inet_ops) where delegated_ipv6_prefix is not null`.execute(
    db,
  )
  // Stale sweep: open sessions by their last sign of life.
  await sql`create index sessions_open_by_update on sessions (update_time) where stop_time is null`.execute(db)
  // Retention: oldest sessions first.
  await sql`create index sessions_by_start on sessions (start_time)`.execute(db)

  await sql`
    create table nas_accounting_events (
      nas_ip_address inet not null,
      event_time timestamptz not null,
      status text not null check (status in ('Accounting-On', 'Accounting-Off')),
      terminate_cause text not null,
      primary key (nas_ip_address, event_time)
    )`.execute(db)

  // Modelled on the published audit log; event_key makes every write idempotent under replay.
  await sql`
    create table audit_events (
      id bigint generated always as identity primary key,
      event_key text not null unique,
      occurred_at timestamptz not null default clock_timestamp(),
      initiator_type text not null,
      initiator_id text not null default '',
      operation text not null,
      entity_type text not null,
      entity_id text not null,
      entity_name text not null default '',
      description text not null,
      fields jsonb not null default '[]'::jsonb,
      request_id text not null default ''
    )`.execute(db)
  await sql`create index audit_events_by_time on audit_events (occurred_at, id)`.execute(db)
  await sql`create index audit_events_by_initiator on audit_events (initiator_id, occurred_at, id)`.execute(db)
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop table audit_events`.execute(db)
  await sql`drop table nas_accounting_events`.execute(db)
  for (const index of [
    'sessions_by_framed_ipv4',
    'sessions_by_framed_ipv6',
    'sessions_by_ipv6_prefix',
    'sessions_by_delegated_prefix',
    'sessions_open_by_update',
    'sessions_by_start',
  ]) {
    await sql`drop index ${sql.raw(index)}`.execute(db)
  }
  await sql`alter table sessions drop column closed_by, drop column interim_interval`.execute(db)
}
