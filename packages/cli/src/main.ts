import { ConfigError } from '@radstream/config'
import { commands, usage } from './commands'

const [name, ...args] = process.argv.slice(2)
const command = name === undefined ? undefined : commands[name]
const HELP = new Set(['--help', '-h'])

if (!command) {
  const asked = name === undefined || name === 'help' || HELP.has(name)
  ;(asked ? process.stdout : process.stderr).write(
    asked ? usage() : `radstream: unknown command ${JSON.stringify(name)}\n${usage()}`,
  )
  process.exitCode = asked ? 0 : 2
} else if (args.some((arg) => HELP.has(arg))) {
  process.stdout.write(`${command.usage}\n`)
} else {
  try {
    await command.run(args)
  } catch (error) {
    const code = (error as { code?: unknown }).code
    const known = error instanceof ConfigError || (typeof code === 'string' && code.startsWith('RADSTREAM_'))
    const help = code === 'RADSTREAM_USAGE' ? ` (radstream ${name} --help for usage)` : ''
    process.stderr.write(
      `radstream ${name}: ${known ? (error as Error).message : ((error as Error).stack ?? String(error))}${help}\n`,
    )
    process.exit((error as { exitCode?: number }).exitCode ?? 1)
  }
}
