import os from 'node:os'
import path from 'node:path'

export { REPO_ROOT } from '@radstream/config'

/** Where radstream keeps downloaded jars and the local broker's state: outside git. */
export function radstreamHome(env: NodeJS.ProcessEnv = process.env): string {
  return env.RADSTREAM_HOME ?? path.join(os.homedir(), '.radstream')
}
