import { ConfigError, loadSettings, type Settings } from '@radstream/config'
import { createDb } from '@radstream/db'
import { parseCommandArgs } from './shared'
import { kafkaFindings, postgresFindings, udpBufferFindings, type Finding } from '../doctor/checks'

const MARK = { ok: 'ok  ', warn: 'WARN', fail: 'FAIL' } as const

/**
 * Checks what a deployment depends on and prints what to fix: the configuration, Kafka and its
 * topics, PostgreSQL (migrations, the services' role, the NAS registry, clock skew) and the UDP
 * receive buffer. Exit 1 when anything fails, 0 otherwise (warnings included); --json for machines.
 */
export async function runDoctor(args: readonly string[]): Promise<void> {
  const { values } = parseCommandArgs({ args: [...args], options: { json: { type: 'boolean' } }, strict: true })
  let settings: Settings
  const findings: Finding[] = []
  try {
    settings = loadSettings()
    findings.push({ check: 'configuration', status: 'ok', detail: 'every setting valid' })
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    findings.push({ check: 'configuration', status: 'fail', detail: error.message, fix: 'correct that variable' })
    return report(findings, values.json === true)
  }
  const db = createDb({ url: settings.database.url, poolSize: 1, applicationName: 'radstream-doctor' })
  try {
    const [kafka, postgres, udp] = await Promise.all([
      kafkaFindings(settings),
      postgresFindings(db),
      udpBufferFindings(settings),
    ])
    findings.push(...kafka, ...postgres, ...udp)
  } finally {
    await db.destroy()
  }
  report(findings, values.json === true)
}

function report(findings: readonly Finding[], json: boolean): void {
  if (json) {
    console.log(JSON.stringify({ findings }))
  } else {
    for (const f of findings) {
      console.log(`${MARK[f.status]}  ${f.check}: ${f.detail}`)
      if (f.fix) console.log(`      fix: ${f.fix}`)
    }
  }
  if (findings.some((f) => f.status === 'fail')) process.exitCode = 1
}
