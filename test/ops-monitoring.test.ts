import { execFile } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, describe, expect, inject, it } from 'vitest'
import { parse } from 'yaml'
import { createDb } from '@radstream/db'
import { CollectorMetrics } from '@radstream/collector'
import { SessionizerMetrics } from '@radstream/sessionizer'
import { listeningApi } from './support/api-app'

const OPS = fileURLToPath(new URL('../ops/', import.meta.url))
const run = promisify(execFile)

/** The series names a Prometheus text exposition offers, histograms with their three suffixes. */
function seriesNames(text: string): Set<string> {
  const names = new Set<string>()
  for (const [, name, type] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    names.add(name!)
    if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(name! + suffix)
  }
  return names
}

const referenced = (text: string) => new Set([...text.matchAll(/\bradstream_[a-z0-9_]+/g)].map((m) => m[0]))

const db = createDb({ url: inject('databaseUrl'), poolSize: 1 })
afterAll(() => db.destroy())

describe('the Prometheus rules and the Grafana dashboard in ops/', () => {
  it('promtool should accept the rules and the scrape config, and the rules should pass their unit tests', async () => {
    await run('promtool', ['check', 'config', 'prometheus.yml'], { cwd: `${OPS}prometheus` })
    const { stdout } = await run('promtool', ['test', 'rules', 'alerts.test.yml'], { cwd: `${OPS}prometheus` })
    expect(stdout).toMatch(/SUCCESS/)
  })

  it('should alert on what an operator must hear of', async () => {
    const rules = parse(await readFile(`${OPS}prometheus/alerts.yml`, 'utf8')) as {
      groups: { rules: { alert: string; labels: { severity: string }; annotations: { summary: string } }[] }[]
    }
    const alerts = rules.groups.flatMap((g) => g.rules)
    expect(alerts.map((a) => a.alert)).toEqual(
      expect.arrayContaining([
        'RadstreamNoAcks',
        'RadstreamConsumerLagGrowing',
        'RadstreamDeadLetters',
        'RadstreamAuditChainBroken',
        'RadstreamKafkaUnwritable',
      ]),
    )
    for (const alert of alerts) {
      expect(['critical', 'warning']).toContain(alert.labels.severity)
      expect(alert.annotations.summary).toBeTruthy()
    }
  })

  it('should name only metrics the three processes export', async () => {
    const { app, metricsBase } = await listeningApi(db)
    const exported = new Set<string>()
    try {
      const texts = [
        await new CollectorMetrics().registry.metrics(),
        await new SessionizerMetrics().registry.metrics(),
        await (await fetch(`${metricsBase}/metrics`)).text(),
      ]
      for (const text of texts) for (const name of seriesNames(text)) exported.add(name)
    } finally {
      await app.close()
    }
    const dashboard = await readFile(`${OPS}grafana/radstream-dashboard.json`, 'utf8')
    const panels = (JSON.parse(dashboard) as { panels: { type: string; targets?: { expr: string }[] }[] }).panels
    expect(panels.filter((p) => p.type === 'timeseries').length).toBeGreaterThan(10)
    const names = new Set([
      ...referenced(await readFile(`${OPS}prometheus/alerts.yml`, 'utf8')),
      ...referenced(dashboard),
    ])
    expect(names.size).toBeGreaterThan(20)
    expect([...names].filter((name) => !exported.has(name))).toEqual([])
  })
})
