import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'

const read = (path: string) => readFileSync(new URL(`../${path}`, import.meta.url), 'utf8')

describe('README', () => {
  it('configuration table should name every variable the services read, and no other', () => {
    const settings = read('packages/config/src/settings.ts')
    const variables = [...settings.matchAll(/read\.\w+\('([A-Z_]+)'/g)].map((m) => m[1]!).sort()
    const readme = read('README.md')
    const section = readme.slice(readme.indexOf('## Configuration'), readme.indexOf('Used by the tooling'))
    const documented = [...section.matchAll(/^\| `([A-Z_]+)` +\|/gm)].map((m) => m[1]!).sort()
    expect(variables.length).toBeGreaterThan(20)
    expect(documented).toEqual(variables)
  })
})
