/** A row of an export: column name to a value already flattened to text, a number, null or JSON. */
export type ExportRow = Readonly<Record<string, unknown>>

export const EXPORT_FORMATS = ['ndjson', 'csv'] as const
export type ExportFormat = (typeof EXPORT_FORMATS)[number]

export const isExportFormat = (text: string | undefined): text is ExportFormat =>
  (EXPORT_FORMATS as readonly (string | undefined)[]).includes(text)

/** The media type each format is served as. */
export const EXPORT_CONTENT_TYPES: Record<ExportFormat, string> = {
  ndjson: 'application/x-ndjson; charset=utf-8',
  csv: 'text/csv; charset=utf-8; header=present',
}

/** Rows are handed on in chunks of about this many characters: one write per row would cost more than the row. */
const CHUNK_CHARS = 64 * 1024

/**
 * A cell a spreadsheet would run as a formula (OWASP's CSV injection: one that begins with =, +, -,
 * @, tab or CR). User-Name, Calling-Station-Id, NAS-Port-Id and Connect-Info are chosen by
 * subscribers, so any cell may be one.
 */
const FORMULA_START = /^[=+\-@\t\r]/

/**
 * RFC 4180: a field with a comma, quote, CR or LF is quoted, its quotes doubled. A field that would
 * start a formula is prefixed with a single quote and quoted, as OWASP recommends: a spreadsheet
 * shows it as text. NDJSON carries every value exactly.
 */
export function csvField(value: unknown): string {
  if (value === null || value === undefined) return ''
  const text = typeof value === 'object' ? JSON.stringify(value) : String(value)
  if (FORMULA_START.test(text)) return `"'${text.replaceAll('"', '""')}"`
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text
}

const csvLine = (values: readonly unknown[]) => `${values.map(csvField).join(',')}\r\n`

/**
 * The export as text chunks: NDJSON (one JSON object a line, keys in column order) or CSV (a header
 * line, then one line a row, CRLF as RFC 4180 has it), pulled from `rows` only as fast as the
 * reader takes them. `onProgress` hears the running row count at each chunk.
 */
export async function* encodeExport(
  rows: AsyncIterable<ExportRow>,
  columns: readonly string[],
  format: ExportFormat,
  onProgress: (rows: number) => void = () => undefined,
): AsyncGenerator<string> {
  let chunk = format === 'csv' ? csvLine(columns) : ''
  let count = 0
  for await (const row of rows) {
    chunk +=
      format === 'csv'
        ? csvLine(columns.map((c) => row[c]))
        : `${JSON.stringify(Object.fromEntries(columns.map((c) => [c, row[c] ?? null])))}\n`
    count++
    if (chunk.length >= CHUNK_CHARS) {
      onProgress(count)
      yield chunk
      chunk = ''
    }
  }
  onProgress(count)
  if (chunk) yield chunk
}
