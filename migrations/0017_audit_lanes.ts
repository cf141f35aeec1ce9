import { sql, type Kysely } from 'kysely'
import { grantToServices } from './grant-to-services'

// The audit chain per lane. One chain, linked under one lock held to commit, made every batch of
// every sessionizer wait for every other's. Now each writer appends to a lane of its own (a Kafka
// partition's sessionizer batches to `partition-<n>`, the API to `api`, the CLI to `cli`, the
// maintenance sweeps to `maintenance`): a hash-linked, gap-free sequence per lane, whose head is a
// row of audit_lanes, locked by the append and held to commit. Writers of different lanes never
// wait for each other. The events linked before this migration stay as they were, lane `main`,
// their hashes unchanged (their canonical form has no lane); `main` takes no new event.
//
// The audit log's order is (occurred_at, id) now that the chain position is per lane: only
// events older than every writer still open are served, so any tiebreaker keeps a cursor gap-free.
//
// Also the fields of OpenVPN Cloud Connexa's AuditLogResponse that radstream can fill:
// initiatorName, initiatorPublicIp, entityParentType/Id/Name. Lane events hash them.
//
// audit_seals: the seals, each a hash over every lane's head chained to the seal before; the
// sessionizer writes each to a Kafka topic too, where the database cannot rewrite it.

const APPEND_ARGS =
  'text, text[], text[], text[], text[], inet[], text[], text[], text[], text[], text[], text[], text[], text[], jsonb[], text[]'

/**
 * append_audit_events as 0017 made it; `since`, when given, is an expression over `u.key` for the
 * earliest time an event of that key can have been written, which bounds the replay probe.
 */
export const appendAuditEventsFunction = (since?: string) => `
    create or replace function append_audit_events(
      lane_name text, keys text[], initiator_types text[], initiator_ids text[], initiator_names text[],
      initiator_ips inet[], operations text[], entity_types text[], entity_ids text[], entity_names text[],
      parent_types text[], parent_ids text[], parent_names text[], descriptions text[], fields jsonb[],
      request_ids text[]
    ) returns table (appended integer, lock_wait_us bigint)
    language plpgsql security definer set search_path = pg_catalog, public as $$
    declare
      seq bigint;
      last_hash text;
      at timestamptz;
      asked timestamptz;
      b record;
      e audit_events;
      linked audit_events[] := '{}';
    begin
      if lane_name = 'main' then
        raise exception 'the lane main holds the chain from before lanes and takes no new event';
      end if;
      insert into audit_lanes (lane, head_seq, head_hash) values (lane_name, 0, repeat('0', 64))
        on conflict (lane) do nothing;
      -- The lane's lock, held to commit: its appends run one after another, other lanes' beside them.
      -- Tried without waiting first, so that what is reported as waited is waiting, not work.
      begin
        select l.head_seq, l.head_hash into seq, last_hash from audit_lanes l where l.lane = lane_name for update nowait;
        lock_wait_us := 0;
      exception when lock_not_available then
        asked := clock_timestamp();
        select l.head_seq, l.head_hash into seq, last_hash from audit_lanes l where l.lane = lane_name for update;
        lock_wait_us := (extract(epoch from clock_timestamp() - asked) * 1000000)::bigint;
      end;
      at := clock_timestamp();
      -- An event already written (a batch replayed), or twice in this batch, is left out: no
      -- position is taken and skipped. Read by unnest, never by subscript (keys[i] walks the array).
      for b in
        select d.* from (
          select distinct on (u.key) u.*${since ? `, ${since} as since` : ''} from unnest(keys, initiator_types, initiator_ids, initiator_names,
            initiator_ips, operations, entity_types, entity_ids, entity_names, parent_types, parent_ids,
            parent_names, descriptions, fields, request_ids) with ordinality
            as u(key, initiator_type, initiator_id, initiator_name, initiator_ip, operation, entity_type,
              entity_id, entity_name, parent_type, parent_id, parent_name, description, fields, request_id, n)
          order by u.key, u.n
        ) d
        where not exists (select 1 from audit_events a where a.event_key = d.key${since ? ' and a.occurred_at >= d.since' : ''})
        order by d.n
      loop
        seq := seq + 1;
        e.lane := lane_name;
        e.event_key := b.key;
        e.occurred_at := at;
        e.initiator_type := b.initiator_type;
        e.initiator_id := b.initiator_id;
        e.initiator_name := b.initiator_name;
        e.initiator_public_ip := b.initiator_ip;
        e.operation := b.operation;
        e.entity_type := b.entity_type;
        e.entity_id := b.entity_id;
        e.entity_name := b.entity_name;
        e.entity_parent_type := b.parent_type;
        e.entity_parent_id := b.parent_id;
        e.entity_parent_name := b.parent_name;
        e.description := b.description;
        e.fields := b.fields;
        e.request_id := b.request_id;
        e.chain_seq := seq;
        e.prev_hash := last_hash;
        last_hash := audit_event_hash(e);
        e.hash := last_hash;
        linked := linked || e;
      end loop;
      if cardinality(linked) > 0 then
        insert into audit_events (lane, event_key, occurred_at, initiator_type, initiator_id, initiator_name,
          initiator_public_ip, operation, entity_type, entity_id, entity_name, entity_parent_type, entity_parent_id,
          entity_parent_name, description, fields, request_id, chain_seq, prev_hash, hash)
        select l.lane, l.event_key, l.occurred_at, l.initiator_type, l.initiator_id, l.initiator_name,
          l.initiator_public_ip, l.operation, l.entity_type, l.entity_id, l.entity_name, l.entity_parent_type,
          l.entity_parent_id, l.entity_parent_name, l.description, l.fields, l.request_id, l.chain_seq, l.prev_hash,
          l.hash
        from unnest(linked) l;
        update audit_lanes l set head_seq = seq, head_hash = last_hash where l.lane = lane_name;
      end if;
      appended := cardinality(linked);
      return next;
    end
    $$`

/** The audit retention before month partitions (0021): the oldest events deleted, a chunk at a time. */
export const PURGE_EXPIRED_AUDIT_EVENTS = `
    create or replace function purge_expired_audit_events(max_rows integer) returns integer
    language sql security definer set search_path = public, pg_temp as $$
      with gone as (
        delete from audit_events where id in (
          select id from audit_events
          where occurred_at < now() - make_interval(days => (select retention_days from audit_settings))
          order by occurred_at, id limit max_rows)
        returning 1)
      select count(*)::integer from gone
    $$`

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    alter table audit_events
      add column lane text not null default 'main',
      add column initiator_name text,
      add column initiator_public_ip inet,
      add column entity_parent_type text,
      add column entity_parent_id text,
      add column entity_parent_name text`.execute(db)
  // Events inserted bare (by a superuser, not through append_audit_events) are linked into `manual`.
  await sql`alter table audit_events alter column lane set default 'manual'`.execute(db)
  await sql`drop index audit_events_chain`.execute(db)
  await sql`create unique index audit_events_lane_seq on audit_events (lane, chain_seq)`.execute(db)
  await sql`create index audit_events_by_time_id on audit_events (occurred_at, id)`.execute(db)
  await sql`create index audit_events_by_initiator_id on audit_events (initiator_id, occurred_at, id)`.execute(db)
  await sql`drop index audit_events_by_time_seq`.execute(db)
  await sql`drop index audit_events_by_initiator_seq`.execute(db)

  await sql`
    create table audit_lanes (
      lane text primary key,
      head_seq bigint not null,
      head_hash text not null
    )`.execute(db)
  await sql`
    insert into audit_lanes (lane, head_seq, head_hash)
    select 'main', chain_seq, hash from audit_events order by chain_seq desc limit 1`.execute(db)

  await sql`
    create table audit_seals (
      seq bigint primary key,
      sealed_at timestamptz not null,
      lanes jsonb not null,
      root text not null,
      prev_hash text not null,
      hash text not null
    )`.execute(db)

  // The canonical content of a lane event names its lane and the Connexa fields; that of an event of
  // the chain before lanes is what it always was, so its hash still verifies.
  await sql`
    create or replace function audit_event_canonical(e audit_events) returns text
    language sql stable as $$
      select case when e.lane = 'main' then
        jsonb_build_array(
          e.chain_seq, to_char(e.occurred_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
          e.event_key, e.initiator_type, e.initiator_id, e.operation, e.entity_type, e.entity_id,
          e.entity_name, e.description, e.fields, e.request_id)::text
      else
        jsonb_build_array(
          e.lane, e.chain_seq, to_char(e.occurred_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
          e.event_key, e.initiator_type, e.initiator_id, e.initiator_name, host(e.initiator_public_ip),
          e.operation, e.entity_type, e.entity_id, e.entity_name, e.entity_parent_type, e.entity_parent_id,
          e.entity_parent_name, e.description, e.fields, e.request_id)::text
      end
    $$`.execute(db)

  await sql`drop function append_audit_events(text[], text[], text[], text[], text[], text[], text[], text[], jsonb[], text[])`.execute(
    db,
  )
  await sql.raw(appendAuditEventsFunction()).execute(db)

  // A bare insert (a superuser's, bypassing the function) is linked into lane `manual`, one row at a time.
  await sql`
    create or replace function audit_events_link() returns trigger
    language plpgsql as $$
    declare
      last_seq bigint;
      last_hash text;
    begin
      if new.lane = 'main' then new.lane := 'manual'; end if;
      insert into audit_lanes (lane, head_seq, head_hash) values (new.lane, 0, repeat('0', 64))
        on conflict (lane) do nothing;
      select head_seq, head_hash into last_seq, last_hash from audit_lanes where lane = new.lane for update;
      new.chain_seq := last_seq + 1;
      new.prev_hash := last_hash;
      new.occurred_at := clock_timestamp();
      new.hash := audit_event_hash(new);
      update audit_lanes set head_seq = new.chain_seq, head_hash = new.hash where lane = new.lane;
      return new;
    end
    $$`.execute(db)

  // Retention takes the oldest events whatever their lane; each lane's chain verifies from its oldest left.
  await sql.raw(PURGE_EXPIRED_AUDIT_EVENTS).execute(db)

  await grantToServices(db, 'the audit lanes', [
    `grant execute on function append_audit_events(${APPEND_ARGS}) to %I`,
    'grant select on audit_lanes, audit_seals to %I',
  ])
  await sql`
    do $$
    begin
      grant insert on audit_seals to radstream_sessionizer;
    exception when insufficient_privilege or undefined_object then
      raise notice 'audit_seals not granted: the migrating role may not grant this';
    end
    $$`.execute(db)
  await sql`revoke all on function append_audit_events(${sql.raw(APPEND_ARGS)}) from public`.execute(db)
}

export async function down(): Promise<void> {
  throw new Error('0017_audit_lanes cannot be undone: lane events do not fit the single chain')
}
