import { sql, type Kysely } from 'kysely'

// The services connect as radstream_app (created in 0004 without login): it may now log in, and
// the retention sweep removes expired audit events through a function that runs as the migrating
// role, since radstream_app has no DELETE on audit_events and must not get one. The function
// deletes only the oldest events past the retention (the append-only trigger refuses the rest).
// It may read which migrations ran.
// Later migrations that add tables grant radstream_app what it needs on them, table by table.

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create function purge_expired_audit_events(max_rows integer) returns integer
    language sql security definer set search_path = public, pg_temp as $$
      with gone as (
        delete from audit_events where id in (
          select id from audit_events
          where occurred_at < now() - make_interval(days => (select retention_days from audit_settings))
          order by chain_seq limit max_rows)
        returning 1)
      select count(*)::integer from gone
    $$`.execute(db)
  await sql`revoke all on function purge_expired_audit_events(integer) from public`.execute(db)
  await sql`
    do $$
    begin
      alter role radstream_app login;
      grant execute on function purge_expired_audit_events(integer) to radstream_app;
      -- So that a service (and radstream doctor) can tell whether the schema is current.
      grant select on kysely_migration to radstream_app;
    exception when insufficient_privilege then
      raise notice 'radstream_app not given login: the migrating role may not alter it';
    end
    $$`.execute(db)
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop function purge_expired_audit_events(integer)`.execute(db)
  await sql`alter role radstream_app nologin`.execute(db)
}
