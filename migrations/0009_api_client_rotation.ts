import { sql, type Kysely } from 'kysely'

// An API client's secret can be rotated: the new one works at once, the old one until the grace
// period it was given ends, so a deployment can roll the new secret out without a gap.

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table api_clients
    add column previous_secret_hash text,
    add column previous_secret_expires_at timestamptz,
    add column secret_rotated_at timestamptz,
    add constraint api_clients_previous_secret_check
      check ((previous_secret_hash is null) = (previous_secret_expires_at is null))`.execute(db)
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`alter table api_clients
    drop column previous_secret_hash, drop column previous_secret_expires_at, drop column secret_rotated_at`.execute(db)
}
