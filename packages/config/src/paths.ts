import { existsSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

/** The nearest folder above `start` holding the radstream workspace's package.json. */
function workspaceRoot(start: string): string {
  for (let dir = start; ; dir = path.dirname(dir)) {
    const manifest = path.join(dir, 'package.json')
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'radstream')
      return dir
    if (path.dirname(dir) === dir) throw new Error(`radstream: no radstream package.json above ${start}`)
  }
}

/**
 * The repository root (stack/kafka/pom.xml, dist/): found by walking up, since this module runs
 * from packages/config/src under tsx and from dist/ when compiled.
 */
export const REPO_ROOT = workspaceRoot(path.dirname(fileURLToPath(import.meta.url)))

/** Where the setup builds the console (scripts/build.mjs), and where the API serves it from by default. */
export const CONSOLE_BUILD_DIR = path.join(REPO_ROOT, 'dist', 'console')
