import { parseArgs } from 'node:util'
import {
  API_SCOPES,
  apiClientCreatedEvent,
  apiClientRevokedEvent,
  createApiClient,
  insertAuditEvents,
  listApiClients,
  revokeApiClient,
  type ApiScope,
} from '@radstream/db'
import { cliInitiator, UsageError, withDb } from './shared'

const USAGE = [
  'usage: radstream client create --name <name> --scope admin|reseller|auditor [--scope ...] [--reseller <name>]',
  '                               [--audit-history-days <days>] [--rate-limit <requests per minute>]',
  '       radstream client list',
  '       radstream client revoke --id <client_id>',
].join('\n')

function positive(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined
  const value = Number(text)
  if (!Number.isInteger(value) || value < 1)
    throw new UsageError(`${flag} ${JSON.stringify(text)}: expected a positive integer`)
  return value
}

/** OAuth client credentials for the API. `create` prints the secret once; it is stored hashed. */
export async function runClient(args: readonly string[]): Promise<void> {
  const [action, ...rest] = args
  const { values } = parseArgs({
    args: rest,
    options: {
      name: { type: 'string' },
      scope: { type: 'string', multiple: true },
      reseller: { type: 'string' },
      id: { type: 'string' },
      'audit-history-days': { type: 'string' },
      'rate-limit': { type: 'string' },
    },
    strict: true,
  })
  switch (action) {
    case 'create': {
      const scopes = values.scope ?? []
      if (!values.name || scopes.length === 0) throw new UsageError(USAGE)
      const unknown = scopes.filter((s) => !(API_SCOPES as readonly string[]).includes(s))
      if (unknown.length > 0) throw new UsageError(`--scope ${unknown.join(', ')}: expected ${API_SCOPES.join(', ')}`)
      if (scopes.includes('reseller') !== Boolean(values.reseller)) {
        throw new UsageError('--scope reseller and --reseller <name> go together')
      }
      const client = {
        name: values.name!,
        scopes: scopes as ApiScope[],
        resellerName: values.reseller,
        auditHistoryDays: positive('--audit-history-days', values['audit-history-days']),
        rateLimitPerMinute: positive('--rate-limit', values['rate-limit']),
      }
      // Who may read is an audited fact: the event commits with the client or not at all.
      const created = await withDb((db) =>
        db.transaction().execute(async (tx) => {
          const made = await createApiClient(tx, client)
          await insertAuditEvents(tx, [
            apiClientCreatedEvent(cliInitiator(), {
              ...client,
              clientId: made.clientId,
              reseller: client.resellerName,
            }),
          ])
          return made
        }),
      )
      console.log(JSON.stringify({ client_id: created.clientId, client_secret: created.clientSecret }))
      return
    }
    case 'list': {
      for (const client of await withDb(listApiClients)) console.log(JSON.stringify(client))
      return
    }
    case 'revoke': {
      if (!values.id) throw new UsageError(USAGE)
      const revoked = await withDb((db) =>
        db.transaction().execute(async (tx) => {
          const done = await revokeApiClient(tx, values.id!)
          if (done) await insertAuditEvents(tx, [apiClientRevokedEvent(cliInitiator(), values.id!)])
          return done
        }),
      )
      if (!revoked) throw new UsageError(`no active client ${values.id}`)
      console.log(JSON.stringify({ revoked: values.id }))
      return
    }
    default:
      throw new UsageError(USAGE)
  }
}
