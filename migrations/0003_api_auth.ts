import { randomBytes } from 'node:crypto'
import { sql, type Kysely } from 'kysely'

// Resellers own users (directly or through their realm, user@realm); API clients hold hashed
// secrets, scopes and the limits of their plan; the token signing key lives in the database so
// that every API instance accepts the tokens of every other.

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table resellers (
      id integer generated always as identity primary key,
      name text not null unique check (name <> ''),
      created_at timestamptz not null default now()
    )`.execute(db)
  await sql`alter table users add column reseller_id integer references resellers (id)`.execute(db)
  await sql`create index users_by_reseller on users (reseller_id, id)`.execute(db)
  await sql`
    create table realm_assignments (
      realm text primary key check (realm <> ''),
      reseller_id integer not null references resellers (id),
      created_at timestamptz not null default now()
    )`.execute(db)

  await sql`
    create table api_clients (
      id text primary key,
      name text not null unique,
      secret_hash text not null,
      scopes text[] not null check (scopes <@ array['admin', 'reseller', 'auditor']::text[] and cardinality(scopes) > 0),
      reseller_id integer references resellers (id),
      audit_history_days integer not null default 90 check (audit_history_days > 0),
      rate_limit_per_minute integer not null default 60 check (rate_limit_per_minute > 0),
      created_at timestamptz not null default now(),
      revoked_at timestamptz,
      check ((reseller_id is not null) = ('reseller' = any(scopes)))
    )`.execute(db)

  await sql`
    create table api_settings (
      name text primary key,
      value text not null
    )`.execute(db)
  const key = randomBytes(32).toString('base64')
  await sql`insert into api_settings (name, value) values ('token_signing_key', ${key})`.execute(db)
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop table api_settings`.execute(db)
  await sql`drop table api_clients`.execute(db)
  await sql`drop table realm_assignments`.execute(db)
  await sql`alter table users drop column reseller_id`.execute(db)
  await sql`drop table resellers`.execute(db)
}
