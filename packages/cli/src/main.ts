import { ConfigError } from '@radstream/config'
import { commands, usage } from './commands'

const [name, ...args] = process.argv.slice(2)
const command = name === undefined ? undefined : commands[name]

if (!command || name === 'help' || name === '--help') {
  process.stdout.write(usage())
  process.exitCode = command || name === 'help' || name === '--help' ? 0 : 2
} else {
  try {
    await command.run(args)
  } catch (error) {
    const code = (error as { code?: unknown }).code
    const known = error instanceof ConfigError || (typeof code === 'string' && code.startsWith('RADSTREAM_'))
    process.stderr.write(
      `radstream ${name}: ${known ? (error as Error).message : ((error as Error).stack ?? String(error))}\n`,
    )
    process.exit((error as { exitCode?: number }).exitCode ?? 1)
  }
}
