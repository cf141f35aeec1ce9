import { readdirSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { migrations } from '../migrations'

describe('migrations index', () => {
  it('should list every migration file in the folder, in name order', () => {
    const files = readdirSync(new URL('../migrations', import.meta.url))
      // Numbered files are migrations; the others (index.ts, helpers) are not.
      .filter((f) => /^\d{4}_.*\.ts$/.test(f))
      .map((f) => f.replace(/\.ts$/, ''))
      .sort()
    expect(Object.keys(migrations)).toEqual(files)
  })
})
