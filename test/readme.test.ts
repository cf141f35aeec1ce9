import { readdirSync, readFileSync, statSync } from 'node:fs'
import { describe, expect, it } from 'vitest'

const read = (path: string) => readFileSync(new URL(`../${path}`, import.meta.url), 'utf8')

describe('docs', () => {
  it('configuration table should name every variable the services read, and no other', () => {
    const settings = read('packages/config/src/settings.ts')
    const variables = [...settings.matchAll(/read\.\w+\('([A-Z_]+)'/g)].map((m) => m[1]!).sort()
    const page = read('docs/configuration.md')
    const section = page.slice(page.indexOf('## Configuration'), page.indexOf('Used by the tooling'))
    const documented = [...section.matchAll(/^\| `([A-Z_]+)` +\|/gm)].map((m) => m[1]!).sort()
    expect(variables.length).toBeGreaterThan(20)
    expect(documented).toEqual(variables)
  })

  it('every relative link in the README and docs should name a file that exists', () => {
    const pages = [
      'README.md',
      ...readdirSync(new URL('../docs', import.meta.url))
        .filter((p) => p.endsWith('.md'))
        .map((p) => `docs/${p}`),
    ]
    const broken: string[] = []
    for (const page of pages) {
      const base = new URL(`../${page}`, import.meta.url)
      for (const [, target] of read(page).matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)) {
        if (/^[a-z]+:/.test(target!)) continue
        try {
          statSync(new URL(target!, base))
        } catch {
          broken.push(`${page} -> ${target}`)
        }
      }
    }
    expect(broken).toEqual([])
  })
})
