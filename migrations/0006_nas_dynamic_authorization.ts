import { sql, type Kysely } from 'kysely'

// Where a NAS takes Disconnect- and CoA-Requests (RFC 5176): its port, 3799 unless told otherwise,
// NULL for a NAS that has none; and its address where that is not the session's NAS address (a NAS
// behind NAT, or a DAE on another interface). A constant default adds the column without a rewrite.

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    alter table nas_clients
      add column coa_port integer default 3799 check (coa_port between 1 and 65535),
      add column coa_address inet`.execute(db)
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`alter table nas_clients drop column coa_port, drop column coa_address`.execute(db)
}
