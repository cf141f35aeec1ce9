import { sql, type Kysely } from 'kysely'
import {
  ensurePartitionsForRows,
  monthPartitionFunctions,
  USAGE_TABLES,
  type MonthPartitioned,
} from './0020_monthly_partitions'
import { AUDIT_EVENTS } from './0021_audit_partitions'
import { copyTableGrants } from './grant-to-services'

// The monthly totals partitioned by their month, so that they too have a retention and lose it a
// partition at a time: usage_monthly (each user's month) and quota_crossings (the months a user
// went past a quota, which usersOverQuota reads). Both are keyed (user_id, month), which holds the
// partition key. The rows move into the new layout in the migration, and back in `down`.

export const MONTHLY_TOTALS: Record<string, MonthPartitioned> = {
  usage_monthly: { column: 'month', type: 'date' },
  quota_crossings: { column: 'month', type: 'date' },
}

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const definition of monthPartitionFunctions({ ...USAGE_TABLES, ...AUDIT_EVENTS, ...MONTHLY_TOTALS }))
    await sql.raw(definition).execute(db)
  for (const table of Object.keys(MONTHLY_TOTALS)) await rebuild(db, table, 'partitioned')
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of Object.keys(MONTHLY_TOTALS)) await rebuild(db, table, 'plain')
  for (const definition of monthPartitionFunctions({ ...USAGE_TABLES, ...AUDIT_EVENTS }))
    await sql.raw(definition).execute(db)
}

/**
 * Rebuilds `table` (keyed by user and month) partitioned by month, or plain again, with its rows,
 * its indexes under their names, its key, its user's foreign key and its grants.
 */
async function rebuild(db: Kysely<unknown>, table: string, into: 'partitioned' | 'plain'): Promise<void> {
  const aside = `${table}_${into === 'partitioned' ? 'unpartitioned' : 'partitioned'}`
  const { rows: indexes } = await sql<{ name: string; definition: string }>`
    select indexname as name, indexdef as definition from pg_indexes
    where schemaname = 'public' and tablename = ${table} and indexname <> ${`${table}_pkey`}`.execute(db)
  await sql`alter table ${sql.table(table)} rename to ${sql.id(aside)}`.execute(db)
  for (const name of [`${table}_pkey`, ...indexes.map((i) => i.name)])
    await sql`alter index ${sql.id(name)} rename to ${sql.id(name.replace(table, aside))}`.execute(db)
  await sql`
    create table ${sql.table(table)} (like ${sql.table(aside)} including defaults including constraints)
    ${into === 'partitioned' ? sql`partition by range (month)` : sql``}`.execute(db)
  await sql`alter table ${sql.table(table)} add primary key (user_id, month),
    add foreign key (user_id) references users (id) on delete cascade`.execute(db)
  // A partitioned table's index reads "ON ONLY": the plain table takes it without.
  for (const { definition } of indexes) await sql.raw(definition.replace(' ON ONLY ', ' ON ')).execute(db)
  if (into === 'partitioned') {
    await sql`create table ${sql.id(`${table}_default`)} partition of ${sql.table(table)} default`.execute(db)
    await ensurePartitionsForRows(db, table, MONTHLY_TOTALS[table]!, aside)
  }
  await sql`insert into ${sql.table(table)} select * from ${sql.table(aside)}`.execute(db)
  await copyTableGrants(db, aside, table)
  await sql`drop table ${sql.table(aside)}`.execute(db)
}
