import { parseArgs } from 'node:util'
import { isNetwork, listNasClients, removeNasClient, upsertNasClient } from '@radstream/db'
import { UsageError, withDb } from './shared'

/** An address or CIDR block, checked here so a typo fails with a message, not a SQL error. */
export function parseNetwork(text: string): string {
  if (!isNetwork(text)) {
    throw new UsageError(
      `--ip ${JSON.stringify(text)}: expected an IPv4 or IPv6 address, or a CIDR block like 10.0.0.0/24`,
    )
  }
  return text
}

const USAGE =
  'usage: radstream nas add --ip <addr|cidr> --secret <secret> [--name <name>] | nas list | nas remove --ip <addr|cidr>'

export async function runNas(args: readonly string[]): Promise<void> {
  const [action, ...rest] = args
  const { values } = parseArgs({
    args: rest,
    options: { ip: { type: 'string' }, secret: { type: 'string' }, name: { type: 'string' } },
    strict: true,
  })
  switch (action) {
    case 'add': {
      if (!values.ip || !values.secret) throw new UsageError(USAGE)
      const network = parseNetwork(values.ip)
      const row = await withDb((db) => upsertNasClient(db, { network, secret: values.secret!, name: values.name }))
      console.log(JSON.stringify({ network: row.network, name: row.name, updatedAt: row.updated_at }))
      return
    }
    case 'list': {
      const rows = await withDb(listNasClients)
      for (const row of rows)
        console.log(JSON.stringify({ network: row.network, name: row.name, updatedAt: row.updated_at }))
      return
    }
    case 'remove': {
      if (!values.ip) throw new UsageError(USAGE)
      const network = parseNetwork(values.ip)
      const removed = await withDb((db) => removeNasClient(db, network))
      if (!removed) throw new UsageError(`no NAS registered as ${network}`)
      console.log(JSON.stringify({ removed: network }))
      return
    }
    default:
      throw new UsageError(USAGE)
  }
}
