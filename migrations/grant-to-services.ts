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

/** Gives `to` the privileges every role but the owner has on `from` (a table rebuilt in its place). */
export async function copyTableGrants(db: Kysely<unknown>, from: string, to: string): Promise<void> {
  const { rows } = await sql<{ grantee: string; privilege: string }>`
    select case when a.grantee = 0 then 'public' else quote_ident(a.grantee::regrole::text) end as grantee,
      a.privilege_type as privilege
    from pg_class c cross join lateral aclexplode(c.relacl) a
    where c.oid = ${from}::regclass and a.grantee <> c.relowner`.execute(db)
  for (const { grantee, privilege } of rows) await sql.raw(`grant ${privilege} on ${to} to ${grantee}`).execute(db)
}
