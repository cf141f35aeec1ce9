import { sql, type Kysely } from 'kysely'

// Usage for billing and fair use. Each Interim-Update and Stop that reports counters is kept as a
// point on its session's own clock (start + Acct-Session-Time), once per Acct-Session-Time, so a
// replay adds nothing and any arrival order gives the same set. From its points a session's traffic
// and time are split over the UTC days it spans (session_usage_days); the per-user daily and
// monthly rollups are the sums of those splits, changed by the difference whenever a session's
// split changes, in the sessionizer's batch transaction. Rollups outlive the sessions' retention.

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table session_usage_points (
      session_id bigint not null references sessions (id) on delete cascade,
      session_time bigint not null check (session_time >= 0),
      input_octets numeric(20) not null check (input_octets >= 0),
      output_octets numeric(20) not null check (output_octets >= 0),
      primary key (session_id, session_time)
    )`.execute(db)
  await sql`
    create table session_usage_days (
      session_id bigint not null references sessions (id) on delete cascade,
      day date not null,
      user_id bigint not null,
      input_octets numeric(20) not null,
      output_octets numeric(20) not null,
      session_time bigint not null,
      sessions integer not null,
      primary key (session_id, day)
    )`.execute(db)
  for (const [table, period] of [
    ['usage_daily', 'day'],
    ['usage_monthly', 'month'],
  ] as const) {
    await sql`
      create table ${sql.table(table)} (
        user_id bigint not null references users (id) on delete cascade,
        ${sql.id(period)} date not null,
        input_octets numeric(20) not null default 0,
        output_octets numeric(20) not null default 0,
        session_time bigint not null default 0,
        sessions integer not null default 0,
        primary key (user_id, ${sql.id(period)})
      )`.execute(db)
    // topUsers: the heaviest users of one day or month, by traffic or by time.
    await sql`create index ${sql.id(`${table}_by_octets`)} on ${sql.table(table)} (${sql.id(period)}, (input_octets + output_octets) desc)`.execute(
      db,
    )
    await sql`create index ${sql.id(`${table}_by_time`)} on ${sql.table(table)} (${sql.id(period)}, session_time desc)`.execute(
      db,
    )
  }
  await sql`
    create table usage_quotas (
      id bigint generated always as identity primary key,
      user_id bigint unique references users (id) on delete cascade,
      realm text unique check (realm = lower(realm)),
      monthly_octets numeric(20) not null check (monthly_octets > 0),
      check ((user_id is null) <> (realm is null))
    )`.execute(db)
  await sql`
    create table quota_crossings (
      user_id bigint not null references users (id) on delete cascade,
      month date not null,
      monthly_octets numeric(20) not null,
      crossed_at timestamptz not null default now(),
      primary key (user_id, month)
    )`.execute(db)
  await sql`
    do $$
    begin
      grant select, insert, update, delete on session_usage_points, session_usage_days, usage_daily,
        usage_monthly, usage_quotas, quota_crossings to radstream_app;
      grant usage on all sequences in schema public to radstream_app;
    exception when insufficient_privilege then
      raise notice 'radstream_app not granted the usage tables: the migrating role may not grant this';
    end
    $$`.execute(db)
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop table quota_crossings, usage_quotas, usage_monthly, usage_daily, session_usage_days, session_usage_points`.execute(
    db,
  )
}
