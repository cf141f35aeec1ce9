import { sql, type Kysely } from 'kysely'
import { createOneRowTable } from './one-row-table'

// Tamper evidence for audit events. A trigger links every new event to the one before it: under
// a transaction-scoped advisory lock it assigns the next chain_seq, the timestamp and
// hash = sha256(prev_hash | canonical content). The lock is held until commit, so chain order is
// commit order: an auditor paging by (occurred_at, chain_seq) never sees an earlier event commit
// after a later one. Another trigger refuses UPDATE always and DELETE except of the chain's oldest
// events past the retention in audit_settings (the retention sweep); the application role has no
// UPDATE or DELETE grant either.

export const AUDIT_CHAIN_LOCK = 0x61756474 // "audt"

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    alter table audit_events
      add column chain_seq bigint,
      add column prev_hash text,
      add column hash text`.execute(db)

  await createOneRowTable(
    db,
    'audit_settings',
    'retention_days integer not null default 400 check (retention_days > 0)',
    'default values',
  )

  // The canonical content an event's hash covers: a JSON array, whose text form PostgreSQL fixes.
  await sql`
    create function audit_event_canonical(e audit_events) returns text
    language sql immutable as $$
      select jsonb_build_array(
        e.chain_seq, to_char(e.occurred_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
        e.event_key, e.initiator_type, e.initiator_id, e.operation, e.entity_type, e.entity_id,
        e.entity_name, e.description, e.fields, e.request_id)::text
    $$`.execute(db)
  await sql`
    create function audit_event_hash(e audit_events) returns text
    language sql immutable as $$
      select encode(sha256(convert_to(e.prev_hash || '|' || audit_event_canonical(e), 'UTF8')), 'hex')
    $$`.execute(db)

  await sql`
    create function audit_events_link() returns trigger
    language plpgsql as $$
    declare
      last_seq bigint;
      last_hash text;
    begin
      perform pg_advisory_xact_lock(${sql.raw(String(AUDIT_CHAIN_LOCK))});
      select chain_seq, hash into last_seq, last_hash from audit_events order by chain_seq desc limit 1;
      new.chain_seq := coalesce(last_seq, 0) + 1;
      new.prev_hash := coalesce(last_hash, repeat('0', 64));
      new.occurred_at := clock_timestamp();
      new.hash := audit_event_hash(new);
      return new;
    end
    $$`.execute(db)

  // Events written before this migration are linked in id order, once.
  await sql`
    do $$
    declare
      r record;
      prev text := repeat('0', 64);
      seq bigint := 0;
      linked audit_events;
    begin
      for r in select * from audit_events order by occurred_at, id loop
        seq := seq + 1;
        linked := r;
        linked.chain_seq := seq;
        linked.prev_hash := prev;
        prev := audit_event_hash(linked);
        update audit_events set chain_seq = seq, prev_hash = linked.prev_hash, hash = prev where id = r.id;
      end loop;
    end
    $$`.execute(db)
  await sql`alter table audit_events alter column chain_seq set not null, alter column prev_hash set not null, alter column hash set not null`.execute(
    db,
  )
  await sql`create unique index audit_events_chain on audit_events (chain_seq)`.execute(db)
  await sql`create index audit_events_by_time_seq on audit_events (occurred_at, chain_seq)`.execute(db)
  await sql`create index audit_events_by_initiator_seq on audit_events (initiator_id, occurred_at, chain_seq)`.execute(
    db,
  )
  await sql`drop index audit_events_by_time`.execute(db)
  await sql`drop index audit_events_by_initiator`.execute(db)

  await sql`create trigger audit_events_link before insert on audit_events for each row execute function audit_events_link()`.execute(
    db,
  )

  await sql`
    create function audit_events_guard() returns trigger
    language plpgsql as $$
    begin
      if tg_op = 'DELETE' and old.occurred_at < now() - make_interval(days => (select retention_days from audit_settings)) then
        return old; -- the retention sweep; radstream audit verify starts from the oldest event left
      end if;
      raise exception 'audit events are append-only: % refused', tg_op using errcode = 'insufficient_privilege';
    end
    $$`.execute(db)
  await sql`create trigger audit_events_guard before update or delete on audit_events for each row execute function audit_events_guard()`.execute(
    db,
  )
  await sql`
    create function audit_events_refuse_truncate() returns trigger
    language plpgsql as $$
    begin
      raise exception 'audit events are append-only: TRUNCATE refused' using errcode = 'insufficient_privilege';
    end
    $$`.execute(db)
  await sql`create trigger audit_events_no_truncate before truncate on audit_events for each statement execute function audit_events_refuse_truncate()`.execute(
    db,
  )

  // The role the services should connect as in production: no UPDATE or DELETE on audit events.
  await sql`
    do $$
    begin
      if not exists (select 1 from pg_roles where rolname = 'radstream_app') then
        create role radstream_app nologin;
      end if;
      execute format('grant connect on database %I to radstream_app', current_database());
      grant usage on schema public to radstream_app;
      grant select, insert, update, delete on sessions, users, nas_clients, nas_accounting_events,
        resellers, realm_assignments, api_clients to radstream_app;
      grant select on api_settings, audit_settings to radstream_app;
      grant select, insert on audit_events to radstream_app;
      grant usage on all sequences in schema public to radstream_app;
      -- The audit log's freshness horizon reads other sessions' transaction starts.
      grant pg_read_all_stats to radstream_app;
    exception when insufficient_privilege then
      raise notice 'radstream_app not fully set up: the migrating role may not grant this';
    end
    $$`.execute(db)
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop trigger audit_events_no_truncate on audit_events`.execute(db)
  await sql`drop trigger audit_events_guard on audit_events`.execute(db)
  await sql`drop trigger audit_events_link on audit_events`.execute(db)
  await sql`drop function audit_events_refuse_truncate, audit_events_guard, audit_events_link, audit_event_hash(audit_events), audit_event_canonical(audit_events)`.execute(
    db,
  )
  await sql`drop table audit_settings`.execute(db)
  await sql`alter table audit_events drop column chain_seq, drop column prev_hash, drop column hash`.execute(db)
  await sql`create index audit_events_by_time on audit_events (occurred_at, id)`.execute(db)
  await sql`create index audit_events_by_initiator on audit_events (initiator_id, occurred_at, id)`.execute(db)
}
