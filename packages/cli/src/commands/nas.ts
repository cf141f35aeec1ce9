import { readFile } from 'node:fs/promises'
import { isIP } from 'node:net'
import {
  isNetwork,
  learntCadences,
  listNasClients,
  nasClientView,
  registerNasClient,
  unregisterNasClient,
} from '@radstream/db'
import { cliInitiator, CommandError, parseCommandArgs, UsageError, withDb } from './shared'

/** An address or CIDR block, checked here so a typo fails with a message, not a SQL error. */
export function parseNetwork(text: string): string {
  if (!isNetwork(text)) {
    throw new UsageError(
      `--ip ${JSON.stringify(text)}: expected an IPv4 or IPv6 address, or a CIDR block like 10.0.0.0/24`,
    )
  }
  return text
}

/** Reads a stream to its end: the secret piped to `--secret -`. */
async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer))
  return Buffer.concat(chunks).toString('utf8')
}

/**
 * The shared secret from `--secret`, `--secret-file` or stdin (`--secret -`): a file's or stdin's
 * first line, without its line ending, so that `echo`, editors and secret stores all work.
 */
async function readSecret(values: {
  secret?: string | undefined
  'secret-file'?: string | undefined
}): Promise<string> {
  if (values.secret !== undefined && values['secret-file'] !== undefined)
    throw new UsageError('--secret and --secret-file: give one of them')
  let secret = values.secret
  if (values['secret-file'] !== undefined) {
    secret = await readFile(values['secret-file'], 'utf8').catch((error: NodeJS.ErrnoException) => {
      throw new UsageError(`--secret-file ${JSON.stringify(values['secret-file'])}: ${error.code ?? error.message}`)
    })
  } else if (secret === '-') {
    secret = await readAll(process.stdin)
  }
  if (secret === undefined) throw new UsageError('nas add needs a secret: --secret, --secret-file or --secret -')
  const line = secret.split(/\r?\n/)[0]!
  if (line === '') throw new UsageError('the shared secret is empty')
  return line
}

/** The Dynamic Authorization port: `none` for a NAS that takes no Disconnect or CoA. */
function parseCoaPort(text: string | undefined): number | null | undefined {
  if (text === undefined) return undefined
  if (text === 'none') return null
  const port = Number(text)
  if (!/^[0-9]+$/.test(text) || port < 1 || port > 65535) {
    throw new UsageError(`--coa-port ${JSON.stringify(text)}: expected a UDP port from 1 to 65535, or none`)
  }
  return port
}

/** Where its Dynamic Authorization server listens: `session` for the session's NAS address. */
function parseCoaAddress(text: string | undefined): string | null | undefined {
  if (text === undefined) return undefined
  if (text === 'session') return null
  if (isIP(text) === 0)
    throw new UsageError(`--coa-address ${JSON.stringify(text)}: expected an IP address, or session`)
  return text
}

/** The interim interval the NAS is configured with (often only in its Access-Accepts). */
function parseInterimInterval(text: string | undefined): number | null | undefined {
  if (text === undefined) return undefined
  if (text === 'none') return null
  if (!/^[0-9]+$/.test(text) || Number(text) < 1 || Number(text) > 2 ** 31 - 1) {
    throw new UsageError(`--interim-interval ${JSON.stringify(text)}: expected seconds from 1 to 2147483647, or none`)
  }
  return Number(text)
}

export async function runNas(args: readonly string[]): Promise<void> {
  const [action, ...rest] = args
  const { values } = parseCommandArgs({
    args: rest,
    options: {
      ip: { type: 'string' },
      secret: { type: 'string' },
      'secret-file': { type: 'string' },
      name: { type: 'string' },
      'coa-port': { type: 'string' },
      'coa-address': { type: 'string' },
      'interim-interval': { type: 'string' },
    },
    strict: true,
  })
  switch (action) {
    case 'add': {
      if (!values.ip) throw new UsageError('nas add needs --ip <addr|cidr>')
      const network = parseNetwork(values.ip)
      const coaPort = parseCoaPort(values['coa-port'])
      const coaAddress = parseCoaAddress(values['coa-address'])
      const interimInterval = parseInterimInterval(values['interim-interval'])
      const secret = await readSecret(values)
      const row = await withDb((db) =>
        registerNasClient(db, cliInitiator(), {
          network,
          secret,
          name: values.name,
          coaPort,
          coaAddress,
          interimInterval,
        }),
      )
      console.log(JSON.stringify(nasClientView(row)))
      return
    }
    case 'list': {
      const [rows, cadences] = await withDb((db) => Promise.all([listNasClients(db), learntCadences(db)]))
      // Each entry with the cadences its NAS's sessions show (the registered interval wins when set).
      for (const row of rows)
        console.log(
          JSON.stringify({
            ...nasClientView(row),
            learntCadence: cadences
              .filter((c) => c.network === row.network)
              .map(({ nas, seconds, sessions }) => ({ nas, seconds, sessions })),
          }),
        )
      return
    }
    case 'remove': {
      if (!values.ip) throw new UsageError('nas remove needs --ip <addr|cidr>')
      const network = parseNetwork(values.ip)
      const removed = await withDb((db) => unregisterNasClient(db, cliInitiator(), network))
      if (!removed) throw new CommandError(`no NAS registered as ${network}`)
      console.log(JSON.stringify({ removed: network }))
      return
    }
    default:
      throw new UsageError(
        action === undefined
          ? 'expected add, list or remove'
          : `unknown action ${JSON.stringify(action)}: expected add, list or remove`,
      )
  }
}
