import { sql, type Kysely } from 'kysely'

// Address lookups whose cost does not grow with an address's history. whoHadIp and the
// supersession pass looked sessions up by address and start time, then filtered on how they
// ended: every session an address ever had (within the retention) was read. Each address kind now
// has a GiST index on (address, address_hold(...)), the span in which a session may hold its
// address: from its start to the latest it can have ended, unbounded while it is open or was
// closed as stale (a later claim on its address still marks it superseded). The span is inclusive
// and never empty, a superset of every exact condition the queries keep beside it, so an index
// probe for an instant or for "after this start" reads only the sessions that overlap it.

export async function up(db: Kysely<unknown>): Promise<void> {
  // btree_gist's inet class: the core one (inet_ops) is built for containment, and an equality
  // probe of it read some 75 pages of 200,000 sessions; btree_gist's reads about 6.
  await sql`
    do $$
    begin
      create extension if not exists btree_gist;
    exception when insufficient_privilege then
      raise exception 'migration 0018 needs the btree_gist extension: run CREATE EXTENSION btree_gist in this database as a superuser, then migrate again';
    end
    $$`.execute(db)
  await sql`
    create function address_hold(start_time timestamptz, stop_time timestamptz, stop_time_latest timestamptz,
      closed_by text) returns tstzrange
    language sql immutable parallel safe return tstzrange(start_time,
      case when stop_time is null or closed_by = 'stale' then null
        else greatest(start_time, stop_time, stop_time_latest) end, '[]')`.execute(db)
  const hold = sql.raw('address_hold(start_time, stop_time, stop_time_latest, closed_by)')
  // Addresses are looked up by equality (btree_gist's gist_inet_ops), prefixes by overlap and
  // containment (the core inet_ops).
  for (const [name, column, opclass] of [
    ['sessions_ipv4_holds', 'framed_ip_address', 'gist_inet_ops'],
    ['sessions_ipv6_holds', 'framed_ipv6_address', 'gist_inet_ops'],
    ['sessions_ipv6_prefix_holds', 'framed_ipv6_prefix', 'inet_ops'],
    ['sessions_delegated_prefix_holds', 'delegated_ipv6_prefix', 'inet_ops'],
  ] as const) {
    await sql`create index ${sql.raw(name)} on sessions using gist (${sql.raw(column)} ${sql.raw(opclass)}, ${hold})
      where ${sql.raw(column)} is not null`.execute(db)
  }
  // The prefix-only GiST indexes are the new ones' leading column; (address, stop_time) answered
  // the supersession probe the holds index answers now.
  await sql`drop index sessions_by_ipv6_prefix, sessions_by_delegated_prefix, sessions_framed_ipv4_by_stop`.execute(db)
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`create index sessions_framed_ipv4_by_stop on sessions (framed_ip_address, stop_time) where framed_ip_address is not null`.execute(
    db,
  )
  await sql`create index sessions_by_ipv6_prefix on sessions using gist (framed_ipv6_prefix inet_ops) where framed_ipv6_prefix is not null`.execute(
    db,
  )
  await sql`create index sessions_by_delegated_prefix on sessions using gist (delegated_ipv6_prefix inet_ops) where delegated_ipv6_prefix is not null`.execute(
    db,
  )
  await sql`drop index sessions_ipv4_holds, sessions_ipv6_holds, sessions_ipv6_prefix_holds, sessions_delegated_prefix_holds`.execute(
    db,
  )
  await sql`drop function address_hold`.execute(db)
}
