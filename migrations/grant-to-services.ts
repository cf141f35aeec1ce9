import { sql, type Kysely } from 'kysely'

/**
 * Runs each `grants` statement (with `%I` for the role) for the services' roles that exist:
 * radstream_app (the API) and radstream_sessionizer. A migrating role that may not grant leaves a
 * notice instead, as the earlier migrations do: the owner of a managed database may not be able to.
 */
export async function grantToServices(db: Kysely<unknown>, what: string, grants: readonly string[]): Promise<void> {
  const statements = grants.map((g) => `execute format(${quote(g)}, role);`).join('\n')
  await sql`
    do $$
    declare
      role text;
    begin
      foreach role in array array['radstream_app', 'radstream_sessionizer'] loop
        if exists (select 1 from pg_roles where rolname = role) then
          ${sql.raw(statements)}
        end if;
      end loop;
    exception when insufficient_privilege then
      raise notice '${sql.raw(what)} not granted: the migrating role may not grant this';
    end
    $$`.execute(db)
}

const quote = (text: string) => `'${text.replaceAll("'", "''")}'`
