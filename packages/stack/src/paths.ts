import { existsSync, readFileSync } from 'node:fs'
import os from 'node:os'
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
 * The repository root, where stack/kafka/pom.xml lives: found by walking up, since this module
 * runs from packages/stack/src under tsx and from dist/ when compiled.
 */
export const REPO_ROOT = workspaceRoot(path.dirname(fileURLToPath(import.meta.url)))

/** Where radstream keeps downloaded jars and the local broker's state: outside git. */
export function radstreamHome(env: NodeJS.ProcessEnv = process.env): string {
  return env.RADSTREAM_HOME ?? path.join(os.homedir(), '.radstream')
}
