import { parseArgs } from 'node:util'
import { verifyAuditChain } from '@radstream/db'
import { UsageError, withDb } from './shared'

const USAGE = 'usage: radstream audit verify [--from <ISO instant>] [--to <ISO instant>]'
const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$/

/** Recomputes the audit hash chain; exits 1 and names the first broken link if there is one. */
export async function runAudit(args: readonly string[]): Promise<void> {
  const [action, ...rest] = args
  if (action !== 'verify') throw new UsageError(USAGE)
  const { values } = parseArgs({
    args: rest,
    options: { from: { type: 'string' }, to: { type: 'string' } },
    strict: true,
  })
  for (const flag of ['from', 'to'] as const) {
    const value = values[flag]
    if (value !== undefined && !ISO_INSTANT.test(value))
      throw new UsageError(`--${flag} ${JSON.stringify(value)}: expected an ISO instant such as 2024-01-15T00:00:00Z`)
  }
  const started = Date.now()
  await withDb(async (db) => {
    const report = await verifyAuditChain(db, { from: values.from, to: values.to }, (checked) => {
      if (checked > 0 && checked % 100_000 === 0) process.stderr.write(`audit verify: ${checked} events checked\n`)
    })
    console.log(JSON.stringify({ ...report, seconds: (Date.now() - started) / 1000 }))
    if (report.broken) {
      process.stderr.write(
        `audit verify: chain broken at event ${report.broken.chainSeq} (id ${report.broken.id}): ${report.broken.reason}\n`,
      )
      process.exitCode = 1
    }
  }, 'radstream-audit-verify')
}
