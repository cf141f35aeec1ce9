import { createWriteStream } from 'node:fs'
import type { Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { createGzip } from 'node:zlib'
import { EXPORT_KINDS, exportStream, isExportFormat, type ExportKind } from '@radstream/export'
import { parseCommandArgs, UsageError, withDb } from './shared'

const PROGRESS_EVERY_MS = 2000

function instantFlag(flag: string, text: string | undefined): Date {
  const ms = text === undefined ? Number.NaN : Date.parse(text)
  if (text === undefined || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?Z$/.test(text) || Number.isNaN(ms))
    throw new UsageError(
      `--${flag} ${JSON.stringify(text ?? '')}: expected an ISO instant such as 2025-03-01T00:00:00Z`,
    )
  return new Date(ms)
}

/** Writes sessions or audit events to a file or stdout, the same rows and format as the API's exports. */
export async function runExport(args: readonly string[]): Promise<void> {
  const [kind, ...rest] = args
  if (!(EXPORT_KINDS as readonly (string | undefined)[]).includes(kind))
    throw new UsageError(`expected ${EXPORT_KINDS.join(' or ')}, then --from and --to`)
  const { values } = parseCommandArgs({
    args: rest,
    options: {
      from: { type: 'string' },
      to: { type: 'string' },
      format: { type: 'string', default: 'ndjson' },
      output: { type: 'string' },
      gzip: { type: 'boolean', default: false },
    },
    strict: true,
  })
  const from = instantFlag('from', values.from)
  const to = instantFlag('to', values.to)
  if (to <= from) throw new UsageError('--to: must be after --from')
  const format = values.format
  if (!isExportFormat(format)) throw new UsageError(`--format ${JSON.stringify(format)}: expected ndjson or csv`)
  const gzip = values.gzip || (values.output?.endsWith('.gz') ?? false)

  const started = Date.now()
  let lastReport = started
  let rows = 0
  const progress = (count: number) => {
    rows = count
    const now = Date.now()
    if (now - lastReport < PROGRESS_EVERY_MS) return
    lastReport = now
    const rate = Math.round(count / ((now - started) / 1000))
    process.stderr.write(`export ${kind}: ${count} rows (${rate} rows/s)\n`)
  }
  await withDb(async (db) => {
    const source = exportStream(db, { kind: kind as ExportKind, from, to }, format, progress)
    const sink: Writable = values.output ? createWriteStream(values.output) : process.stdout
    await (gzip ? pipeline(source, createGzip(), sink) : pipeline(source, sink))
  }, 'radstream-export')
  const seconds = (Date.now() - started) / 1000
  process.stderr.write(
    `export ${kind}: ${rows} rows in ${seconds.toFixed(1)} s${values.output ? ` to ${values.output}` : ''}\n`,
  )
}
