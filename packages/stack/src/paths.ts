import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

/** The repository root, where stack/kafka/pom.xml lives. */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url))

/** Where radstream keeps downloaded jars and the local broker's state: outside git. */
export function radstreamHome(env: NodeJS.ProcessEnv = process.env): string {
  return env.RADSTREAM_HOME ?? path.join(os.homedir(), '.radstream')
}
