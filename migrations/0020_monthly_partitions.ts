import { sql, type Kysely } from 'kysely'
import { grantToServices } from './grant-to-services'

// The daily usage rows partitioned by month of their day: session_usage_days (a session's share of
// each day) and usage_daily (each user's day). Retention drops a month's partition whole
// (packages/db/src/partitions.ts) instead of deleting rows; each kind has its own retention.
// Native partitioning that radstream manages, not pg_partman: the sessionizer's retention sweep
// already runs where it must (one at a time, with metrics and logs), a partition a month is all
// the management these need, and an installation needs no extension (a managed PostgreSQL may not
// offer it) nor its background worker (shared_preload_libraries, a restart). docs/design.md.
//
// The services' roles may not run DDL: partitions are made and dropped through the functions
// below (security definer, owned by the migrating role), for these two tables only. A default
// partition takes days no month partition covers (a NAS clock years off); making a month's
// partition moves its rows out of the default.

const TABLES = {
  session_usage_days: {
    columns: `session_id bigint not null references sessions (id) on delete cascade,
      day date not null,
      user_id bigint not null,
      input_octets numeric(20) not null,
      output_octets numeric(20) not null,
      session_time bigint not null,
      sessions integer not null,
      primary key (session_id, day)`,
    indexes: [] as string[],
  },
  usage_daily: {
    columns: `user_id bigint not null references users (id) on delete cascade,
      day date not null,
      input_octets numeric(20) not null default 0,
      output_octets numeric(20) not null default 0,
      session_time bigint not null default 0,
      sessions integer not null default 0,
      primary key (user_id, day)`,
    indexes: [
      'create index usage_daily_by_octets on usage_daily (day, (input_octets + output_octets) desc)',
      'create index usage_daily_by_time on usage_daily (day, session_time desc)',
    ],
  },
}

/** How a table radstream partitions by month is partitioned. */
export interface MonthPartitioned {
  /** The column partitioned on: a date, or a timestamptz whose months are UTC months. */
  readonly column: string
  readonly type: 'date' | 'timestamptz'
  readonly fillfactor?: number
  /**
   * Set for an append-only table: the least retention in days the database itself holds for it (an
   * expression), below which its partitions are never dropped nor its default rows deleted; its
   * rows never move out of the default (its guard refuses deletes), so a month whose rows landed
   * there keeps them there.
   */
  readonly heldRetentionDays?: string
}

export const USAGE_TABLES: Record<string, MonthPartitioned> = {
  session_usage_days: { column: 'day', type: 'date', fillfactor: 80 },
  usage_daily: { column: 'day', type: 'date' },
}

export const MONTH_PARTITION_FUNCTIONS = [
  'ensure_month_partition(regclass, date)',
  'drop_month_partition(regclass, date)',
  'delete_expired_default_rows(regclass, date)',
]

/**
 * The functions through which the services make and drop the month partitions of `tables` and
 * delete the default partition's expired rows (security definer: the services may not run DDL).
 */
export function monthPartitionFunctions(tables: Record<string, MonthPartitioned>): string[] {
  // In parentheses: PL/pgSQL reads an IF's condition up to the first THEN, a CASE's own included.
  const spec = (field: 'column' | 'type' | 'fillfactor' | 'heldRetentionDays') =>
    `(case parent ${Object.entries(tables)
      .map(
        ([table, s]) =>
          `when '${table}'::regclass then ${s[field] === undefined ? 'null' : field === 'heldRetentionDays' ? s[field] : `'${s[field]}'`}`,
      )
      .join(' ')} end)`
  const known = `if not parent = any(array[${Object.keys(tables)
    .map((t) => `'${t}'::regclass`)
    .join(', ')}]) then raise exception '% is not partitioned by radstream', parent; end if;`
  // A month's first instant as a bound of the table's column: a date, or UTC midnight.
  const bound = (month: string) => `(case when ${spec('type')} = 'date' then quote_literal(${month})
        else quote_literal(${month}::timestamp at time zone 'UTC') end)`
  return [
    `
    create or replace function ensure_month_partition(parent regclass, month date) returns boolean
    language plpgsql security definer set search_path = public, pg_temp as $$
    declare
      name text := parent::text || '_p' || to_char(month, 'YYYYMM');
      next_month date := (month + interval '1 month')::date;
      rows_in_default boolean;
    begin
      ${known}
      if month <> date_trunc('month', month)::date then raise exception 'not the first day of a month: %', month; end if;
      if to_regclass(name) is not null then return false; end if;
      -- A table may have no default partition (the session history since 0025).
      if to_regclass(parent::text || '_default') is null then rows_in_default := false;
      else
        execute format('select exists (select 1 from %I where %I >= %s and %I < %s)', parent::text || '_default',
          ${spec('column')}, ${bound('month')}, ${spec('column')}, ${bound('next_month')}) into rows_in_default;
      end if;
      if rows_in_default and ${spec('heldRetentionDays')} is not null then return false; end if;
      -- Made apart and attached: attaching checks the default partition once, under its lock.
      execute format('create table %I (like %s including defaults including constraints)', name, parent);
      if ${spec('fillfactor')} is not null then
        execute format('alter table %I set (fillfactor = %s)', name, ${spec('fillfactor')});
      end if;
      if rows_in_default then
        execute format('with moved as (delete from %I where %I >= %s and %I < %s returning *) insert into %I select * from moved',
          parent::text || '_default', ${spec('column')}, ${bound('month')}, ${spec('column')}, ${bound('next_month')}, name);
      end if;
      execute format('alter table %s attach partition %I for values from (%s) to (%s)', parent, name,
        ${bound('month')}, ${bound('next_month')});
      return true;
    end $$`,
    `
    create or replace function drop_month_partition(parent regclass, month date) returns boolean
    language plpgsql security definer set search_path = public, pg_temp as $$
    declare
      name text := parent::text || '_p' || to_char(month, 'YYYYMM');
    begin
      ${known}
      if (month + interval '1 month')::timestamp at time zone 'UTC' > now() - make_interval(days => ${spec('heldRetentionDays')}) then
        raise exception '% of % is within the retention the database holds for it', to_char(month, 'YYYY-MM'), parent;
      end if;
      if not exists (select 1 from pg_inherits where inhparent = parent and inhrelid = to_regclass(name)) then
        return false;
      end if;
      execute format('drop table %I', name);
      return true;
    end $$`,
    `
    create or replace function delete_expired_default_rows(parent regclass, cutoff date) returns bigint
    language plpgsql security definer set search_path = public, pg_temp as $$
    declare
      removed bigint;
      before text := ${bound('cutoff')};
    begin
      ${known}
      if to_regclass(parent::text || '_default') is null then return 0; end if;
      if ${spec('heldRetentionDays')} is not null then
        before := quote_literal(least(cutoff::timestamp at time zone 'UTC', now() - make_interval(days => ${spec('heldRetentionDays')})));
      end if;
      execute format('delete from %I where %I < %s', parent::text || '_default', ${spec('column')}, before);
      get diagnostics removed = row_count;
      return removed;
    end $$`,
  ]
}

/**
 * Makes the partitions of `table` (through ensure_month_partition) for every month that `source`
 * has rows of, and for this month and the two ahead: what a table needs before its rows move in.
 */
export async function ensurePartitionsForRows(
  db: Kysely<unknown>,
  table: string,
  spec: MonthPartitioned,
  source: string,
): Promise<void> {
  const month = spec.type === 'date' ? spec.column : `${spec.column} at time zone 'UTC'`
  await sql`
    select ensure_month_partition(${table}::regclass, month) from (
      select distinct date_trunc('month', ${sql.raw(month)})::date as month from ${sql.table(source)}
      union select generate_series(date_trunc('month', now() at time zone 'UTC'),
        date_trunc('month', now() at time zone 'UTC') + interval '2 months', interval '1 month')::date
    ) m order by month`.execute(db)
}

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const definition of monthPartitionFunctions(USAGE_TABLES)) await sql.raw(definition).execute(db)
  for (const fn of MONTH_PARTITION_FUNCTIONS) await sql.raw(`revoke execute on function ${fn} from public`).execute(db)

  for (const [table, spec] of Object.entries(TABLES)) {
    await sql.raw(`alter table ${table} rename to ${table}_unpartitioned`).execute(db)
    for (const index of [`${table}_pkey`, ...spec.indexes.map((i) => i.split(' ')[2]!)])
      await sql.raw(`alter index ${index} rename to ${index}_unpartitioned`).execute(db)
    await sql.raw(`create table ${table} (${spec.columns}) partition by range (day)`).execute(db)
    for (const index of spec.indexes) await sql.raw(index).execute(db)
    await sql.raw(`create table ${table}_default partition of ${table} default`).execute(db)
    if (USAGE_TABLES[table]!.fillfactor)
      await sql.raw(`alter table ${table}_default set (fillfactor = ${USAGE_TABLES[table]!.fillfactor})`).execute(db)
    await ensurePartitionsForRows(db, table, USAGE_TABLES[table]!, `${table}_unpartitioned`)
    await sql.raw(`insert into ${table} select * from ${table}_unpartitioned`).execute(db)
    await sql.raw(`drop table ${table}_unpartitioned`).execute(db)
    await grantToServices(db, table, [`grant select, insert, update, delete on ${table} to %I`])
  }
  await grantToServices(db, 'the partition functions', [
    `grant execute on function ${MONTH_PARTITION_FUNCTIONS.join(', ')} to %I`,
  ])
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const [table, spec] of Object.entries(TABLES)) {
    await sql.raw(`alter table ${table} rename to ${table}_partitioned`).execute(db)
    await sql.raw(`alter index ${table}_pkey rename to ${table}_partitioned_pkey`).execute(db)
    for (const index of spec.indexes.map((i) => i.split(' ')[2]!))
      await sql.raw(`alter index ${index} rename to ${index}_partitioned`).execute(db)
    await sql.raw(`create table ${table} (${spec.columns})`).execute(db)
    for (const index of spec.indexes) await sql.raw(index).execute(db)
    if (USAGE_TABLES[table]!.fillfactor)
      await sql.raw(`alter table ${table} set (fillfactor = ${USAGE_TABLES[table]!.fillfactor})`).execute(db)
    await sql.raw(`insert into ${table} select * from ${table}_partitioned`).execute(db)
    await sql.raw(`drop table ${table}_partitioned`).execute(db)
    await grantToServices(db, table, [`grant select, insert, update, delete on ${table} to %I`])
  }
  for (const fn of MONTH_PARTITION_FUNCTIONS) await sql.raw(`drop function ${fn}`).execute(db)
}
