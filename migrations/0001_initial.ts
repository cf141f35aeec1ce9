import { sql, type Kysely } from 'kysely'

// Raw SQL on purpose: the schema uses PostgreSQL types (inet, cidr, numeric(20)) and partial
// indexes that read more plainly as SQL than through the schema builder.

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table nas_clients (
      id integer generated always as identity primary key,
      network cidr not null unique,
      secret text not null check (secret <> ''),
      name text,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    )`.execute(db)

  await sql`
    create table users (
      id integer generated always as identity primary key,
      username text not null unique,
      created_at timestamptz not null default now()
    )`.execute(db)

  // One row per session, as FreeRADIUS's radacct; session_key is its Acct-Unique-Session-Id.
  await sql`
    create table sessions (
      id bigint generated always as identity primary key,
      session_key text not null unique,
      user_id integer references users (id),
      username text,
      session_id text not null,
      nas_ip_address inet not null,
      nas_identifier text,
      nas_port_id text,
      nas_port_type text,
      start_time timestamptz not null,
      update_time timestamptz,
      stop_time timestamptz,
      session_time bigint,
      input_octets numeric(20, 0),
      output_octets numeric(20, 0),
      input_packets bigint,
      output_packets bigint,
      connect_info_start text,
      connect_info_stop text,
      calling_station_id text,
      called_station_id text,
      terminate_cause text,
      framed_ip_address inet,
      framed_ipv6_address inet,
      framed_ipv6_prefix cidr,
      delegated_ipv6_prefix cidr,
      created_at timestamptz not null default now()
    )`.execute(db)

  await sql`create index sessions_user_history on sessions (user_id, start_time desc, id desc)`.execute(db)
  await sql`create index sessions_open_by_nas on sessions (nas_ip_address, start_time) where stop_time is null`.execute(
    db,
  )
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop table sessions`.execute(db)
  await sql`drop table users`.execute(db)
  await sql`drop table nas_clients`.execute(db)
}
