import { sql, type Kysely } from 'kysely'

// Dynamic Authorization (RFC 5176). The registry says where a NAS takes Disconnect- and
// CoA-Requests: its port, 3799 unless told otherwise, NULL for a NAS that takes none; and its address
// where that is not the address its accounting comes from (a DAE on another interface). Sessions
// keep the address their accounting came from: the registry entry the collector verified them with
// (the secret to sign with), and where the NAS is reached, whatever NAS-IP-Address it names itself by.
// Constant defaults and nullable columns: nothing is rewritten.

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    alter table nas_clients
      add column coa_port integer default 3799 check (coa_port between 1 and 65535),
      add column coa_address inet`.execute(db)
  await sql`alter table sessions add column nas_source_address inet`.execute(db)
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`alter table sessions drop column nas_source_address`.execute(db)
  await sql`alter table nas_clients drop column coa_port, drop column coa_address`.execute(db)
}
