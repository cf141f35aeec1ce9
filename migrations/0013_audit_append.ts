import { sql, type Kysely } from 'kysely'
import { AUDIT_CHAIN_LOCK } from './0004_audit_chain'

// Audit events are appended a batch at a time: append_audit_events takes the chain lock once,
// reads the chain's head once and links the batch's events in one loop, then inserts them in one
// statement, instead of a trigger call per row that locked and looked the head up again for each.
// What is linked is what 0004's trigger linked (the same hash of the same canonical content, one
// chain_seq after another, the timestamp read under the lock), so `radstream audit verify` and the
// audit log's cursors are unchanged. The function is the services' one way in: radstream_app loses
// INSERT on audit_events, so no event can enter the chain beside it; the trigger still links rows
// that a superuser inserts bare, and skips only rows that arrive linked.

export async function up(db: Kysely<unknown>): Promise<void> {
  // STABLE, as their bodies are (to_char): declared IMMUTABLE, PostgreSQL would not inline them, and
  // each hash cost a call of the SQL-function machinery, 79 us of the 143 an event cost in all.
  await sql`alter function audit_event_canonical(audit_events) stable`.execute(db)
  await sql`alter function audit_event_hash(audit_events) stable`.execute(db)
  await sql`
    create function append_audit_events(
      keys text[], initiator_types text[], initiator_ids text[], operations text[], entity_types text[],
      entity_ids text[], entity_names text[], descriptions text[], fields jsonb[], request_ids text[]
    ) returns integer
    language plpgsql security definer set search_path = pg_catalog, public as $$
    declare
      head_seq bigint;
      head_hash text;
      at timestamptz;
      b record;
      e audit_events;
      linked audit_events[] := '{}';
    begin
      perform pg_advisory_xact_lock(${sql.raw(String(AUDIT_CHAIN_LOCK))});
      select chain_seq, hash into head_seq, head_hash from audit_events order by chain_seq desc limit 1;
      head_seq := coalesce(head_seq, 0);
      head_hash := coalesce(head_hash, repeat('0', 64));
      at := clock_timestamp();
      -- Under the lock every earlier writer has committed: an event already in the chain (a batch
      -- replayed), or twice in this batch, is left out here, so no chain_seq is taken and skipped. The
      -- arrays are read by unnest, never by subscript: keys[i] walks the array up to i.
      for b in
        select d.* from (
          select distinct on (u.key) u.* from unnest(keys, initiator_types, initiator_ids, operations, entity_types,
            entity_ids, entity_names, descriptions, fields, request_ids) with ordinality
            as u(key, initiator_type, initiator_id, operation, entity_type, entity_id, entity_name, description, fields, request_id, n)
          order by u.key, u.n
        ) d
        where not exists (select 1 from audit_events a where a.event_key = d.key)
        order by d.n
      loop
        head_seq := head_seq + 1;
        -- In the table's column order: id (the identity assigns it), ..., chain_seq, prev_hash, hash.
        e := row(null, b.key, at, b.initiator_type, b.initiator_id, b.operation, b.entity_type, b.entity_id,
          b.entity_name, b.description, b.fields, b.request_id, head_seq, head_hash, null)::audit_events;
        head_hash := audit_event_hash(e);
        e.hash := head_hash;
        linked := linked || e;
      end loop;
      insert into audit_events (event_key, occurred_at, initiator_type, initiator_id, operation, entity_type,
        entity_id, entity_name, description, fields, request_id, chain_seq, prev_hash, hash)
      select l.event_key, l.occurred_at, l.initiator_type, l.initiator_id, l.operation, l.entity_type,
        l.entity_id, l.entity_name, l.description, l.fields, l.request_id, l.chain_seq, l.prev_hash, l.hash
      from unnest(linked) l;
      return cardinality(linked);
    end
    $$`.execute(db)
  await sql`drop trigger audit_events_link on audit_events`.execute(db)
  await sql`create trigger audit_events_link before insert on audit_events for each row when (new.hash is null) execute function audit_events_link()`.execute(
    db,
  )
  await sql`
    do $$
    begin
      revoke insert on audit_events from radstream_app;
      grant execute on function append_audit_events(text[], text[], text[], text[], text[], text[], text[], text[], jsonb[], text[]) to radstream_app;
    exception when insufficient_privilege or undefined_object then
      raise notice 'radstream_app not changed: the migrating role may not grant this';
    end
    $$`.execute(db)
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop trigger audit_events_link on audit_events`.execute(db)
  await sql`create trigger audit_events_link before insert on audit_events for each row execute function audit_events_link()`.execute(
    db,
  )
  await sql`drop function append_audit_events(text[], text[], text[], text[], text[], text[], text[], text[], jsonb[], text[])`.execute(
    db,
  )
  await sql`alter function audit_event_canonical(audit_events) immutable`.execute(db)
  await sql`alter function audit_event_hash(audit_events) immutable`.execute(db)
  await sql`
    do $$
    begin
      grant insert on audit_events to radstream_app;
    exception when insufficient_privilege or undefined_object then
      raise notice 'radstream_app not changed';
    end
    $$`.execute(db)
}
