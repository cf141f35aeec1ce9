import { readFile } from 'node:fs/promises'
import { loadSettings } from '@radstream/config'
import { auditLaneNames, verifyAuditLane, verifySeals, type AuditSeal, type ChainReport, type Db } from '@radstream/db'
import { createKafka, readTopic } from '@radstream/kafka'
import { parseCommandArgs, UsageError, withDb } from './shared'

const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$/
/** Lanes verified at once: each is one reader of its own index range. */
const PARALLEL_LANES = 4

/** The seals to check the lanes against: from the seal topic (default), a file of JSON lines, or none. */
async function readSeals(source: string): Promise<AuditSeal[] | undefined> {
  if (source === 'none') return undefined
  if (source !== 'kafka')
    return (await readFile(source, 'utf8'))
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as AuditSeal)
  const settings = loadSettings()
  const kafka = createKafka({ ...settings.kafka, clientId: `${settings.kafka.clientId}-audit-verify` })
  const records = await readTopic(kafka, settings.sessionizer.auditSealTopic)
  return records.flatMap((r) => (r.value ? [JSON.parse(r.value.toString('utf8')) as AuditSeal] : []))
}

/** Every lane, PARALLEL_LANES at a time. */
async function verifyLanes(
  db: Db,
  range: { from?: string | undefined; to?: string | undefined },
  onProgress: (checked: number) => void,
): Promise<ChainReport[]> {
  const pending = await auditLaneNames(db)
  const reports: ChainReport[] = []
  let total = 0
  const worker = async () => {
    for (let lane = pending.shift(); lane !== undefined; lane = pending.shift()) {
      let counted = 0
      reports.push(
        await verifyAuditLane(db, lane, range, (checked) => {
          total += checked - counted
          counted = checked
          onProgress(total)
        }),
      )
    }
  }
  await Promise.all(Array.from({ length: PARALLEL_LANES }, worker))
  return reports.sort((a, b) => (a.lane < b.lane ? -1 : 1))
}

/**
 * Recomputes every lane of the audit hash chain, in parallel, and checks them against the seals
 * (read from the seal topic unless --seals says otherwise); exits 1 and names the first broken link
 * of each broken lane, or the first seal the lanes contradict.
 */
export async function runAudit(args: readonly string[]): Promise<void> {
  const [action, ...rest] = args
  if (action !== 'verify') throw new UsageError('expected verify')
  const { values } = parseCommandArgs({
    args: rest,
    options: { from: { type: 'string' }, to: { type: 'string' }, seals: { type: 'string', default: 'kafka' } },
    strict: true,
  })
  for (const flag of ['from', 'to'] as const) {
    const value = values[flag]
    if (value !== undefined && !ISO_INSTANT.test(value))
      throw new UsageError(`--${flag} ${JSON.stringify(value)}: expected an ISO instant such as 2024-01-15T00:00:00Z`)
  }
  const started = Date.now()
  const seals = await readSeals(values.seals!)
  await withDb(async (db) => {
    let reported = 0
    const lanes = await verifyLanes(db, { from: values.from, to: values.to }, (checked) => {
      if (checked >= reported + 100_000) {
        reported = checked - (checked % 100_000)
        process.stderr.write(`audit verify: ${reported} events checked\n`)
      }
    })
    const sealBreak = seals === undefined ? undefined : await verifySeals(db, seals)
    const checked = lanes.reduce((sum, lane) => sum + lane.checked, 0)
    console.log(
      JSON.stringify({
        checked,
        lanes,
        seals: seals === undefined ? null : { checked: seals.length, broken: sealBreak ?? null },
        seconds: (Date.now() - started) / 1000,
      }),
    )
    for (const lane of lanes.filter((l) => l.broken))
      process.stderr.write(
        `audit verify: lane ${lane.lane} broken at event ${lane.broken!.chainSeq} (id ${lane.broken!.id}): ${lane.broken!.reason}\n`,
      )
    if (sealBreak)
      process.stderr.write(
        `audit verify: seal ${sealBreak.seal}${sealBreak.lane ? `, lane ${sealBreak.lane}` : ''}: ${sealBreak.reason}\n`,
      )
    if (lanes.some((l) => l.broken) || sealBreak) process.exitCode = 1
  }, 'radstream-audit-verify')
}
