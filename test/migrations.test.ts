import { readdirSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { migrations } from '../migrations'

describe('migrations index', () => {
  it('should list every migration file in the folder, in name order', () => {
    const files = readdirSync(new URL('../migrations', import.meta.url))
      .filter((f) => f.endsWith('.ts') && f !== 'index.ts')
      .map((f) => f.replace(/\.ts$/, ''))
      .sort()
    expect(Object.keys(migrations)).toEqual(files)
  })
})
