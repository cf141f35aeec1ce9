import { sql, type Kysely } from 'kysely'

// A dual-stack NAS names itself by NAS-IP-Address and NAS-IPv6-Address. The row keeps both, so that
// an Accounting-On/Off that carries either one finds the NAS's sessions. Nullable without a
// default: adding it rewrites nothing.

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table sessions add column nas_ipv6_address inet`.execute(db)
  await sql`create index sessions_open_by_nas_ipv6 on sessions (nas_ipv6_address, start_time) where stop_time is null and nas_ipv6_address is not null`.execute(
    db,
  )
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop index sessions_open_by_nas_ipv6`.execute(db)
  await sql`alter table sessions drop column nas_ipv6_address`.execute(db)
}
