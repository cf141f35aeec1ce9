import { sql, type Kysely } from 'kysely'

// A role per service. radstream_app stays the API's (it signs tokens and keeps API clients). The
// collector faces the network and reads only the NAS registry: radstream_collector may read
// nas_clients and which migrations ran, nothing else, so a compromised collector cannot read the
// token signing key, the API clients' hashes or any session. The sessionizer gets what
// radstream_app has on the data path, without the API's tables (api_clients, api_settings) and
// without reading other sessions' activity. Later migrations grant each table to the roles that use it.

const API_ONLY = ['api_clients', 'api_settings']

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    do $$
    declare
      r record;
    begin
      if not exists (select 1 from pg_roles where rolname = 'radstream_collector') then
        create role radstream_collector login;
      end if;
      if not exists (select 1 from pg_roles where rolname = 'radstream_sessionizer') then
        create role radstream_sessionizer login;
      end if;
      execute format('grant connect on database %I to radstream_collector, radstream_sessionizer', current_database());
      grant usage on schema public to radstream_collector, radstream_sessionizer;
      grant select on nas_clients, kysely_migration to radstream_collector;
      for r in
        select table_name, string_agg(privilege_type, ', ') as privileges
        from information_schema.role_table_grants
        where grantee = 'radstream_app' and table_schema = 'public'
          and table_name <> all(array[${sql.raw(API_ONLY.map((t) => `'${t}'`).join(', '))}])
        group by table_name
      loop
        execute format('grant %s on %I to radstream_sessionizer', r.privileges, r.table_name);
      end loop;
      grant usage on all sequences in schema public to radstream_sessionizer;
      for r in
        select p.oid::regprocedure as fn from pg_proc p join pg_namespace n on n.oid = p.pronamespace
        where n.nspname = 'public' and has_function_privilege('radstream_app', p.oid, 'EXECUTE')
          and p.prosecdef
      loop
        execute format('grant execute on function %s to radstream_sessionizer', r.fn);
      end loop;
      -- Service roles keep the password the services share (DATABASE_APP_PASSWORD), set by migrate.
    exception when insufficient_privilege then
      raise notice 'per-service roles not set up: the migrating role may not create roles';
    end
    $$`.execute(db)
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const role of ['radstream_collector', 'radstream_sessionizer']) {
    await sql`drop owned by ${sql.id(role)}`.execute(db)
    await sql`drop role ${sql.id(role)}`.execute(db)
  }
}
