import { CommandError } from './shared'

type LocalStack = typeof import('@radstream/stack')

/**
 * The local stack's code (starting PostgreSQL and Kafka on this machine, installing Debian
 * packages) is a development tool: compiled into dist/local-stack.js beside the command, which
 * the production image leaves out, and loaded only when asked for.
 */
export async function loadLocalStack(): Promise<LocalStack> {
  const fromSources = import.meta.url.endsWith('.ts')
  const module = fromSources ? '@radstream/stack' : new URL('./local-stack.js', import.meta.url).href
  try {
    return (await import(module)) as LocalStack
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'ERR_MODULE_NOT_FOUND') throw error
    throw new CommandError(
      'the local stack is a development tool and is not installed here: point DATABASE_URL and KAFKA_BROKERS at running servers instead',
    )
  }
}

/** True when `radstream up` should make this machine's stack ready first: --local, or RADSTREAM_LOCAL_STACK=1. */
export function localStackWanted(flag: boolean | undefined): boolean {
  return flag === true || process.env.RADSTREAM_LOCAL_STACK === '1'
}
