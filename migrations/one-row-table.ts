import { sql, type Kysely } from 'kysely'

/**
 * Creates `table` to hold one row and never a second (its key, only_row, can only be true): a
 * setting or a sweep's position. `columns` are its other columns; `row` is how its one row is
 * inserted (`default values`, `(column) values (...)`, `(column) select ...`).
 */
export async function createOneRowTable(
  db: Kysely<unknown>,
  table: string,
  columns: string,
  row: string,
): Promise<void> {
  await sql
    .raw(`create table ${table} (only_row boolean primary key default true check (only_row), ${columns})`)
    .execute(db)
  await sql.raw(`insert into ${table} ${row}`).execute(db)
}
