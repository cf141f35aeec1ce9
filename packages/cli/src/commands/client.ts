import {
  API_SCOPES,
  createAuditedApiClient,
  listApiClients,
  revokeAuditedApiClient,
  rotateAuditedApiClientSecret,
  type ApiScope,
} from '@radstream/db'
import { cliInitiator, CommandError, parseCommandArgs, UsageError, withDb } from './shared'

const DEFAULT_GRACE_SECONDS = 86_400

function integer(flag: string, text: string | undefined, min: number): number | undefined {
  if (text === undefined) return undefined
  const value = Number(text)
  if (!Number.isInteger(value) || value < min || value > 2_147_483_647)
    throw new UsageError(`${flag} ${JSON.stringify(text)}: expected an integer of at least ${min}`)
  return value
}

/** OAuth client credentials for the API. `create` prints the secret once; it is stored hashed. */
export async function runClient(args: readonly string[]): Promise<void> {
  const [action, ...rest] = args
  const { values } = parseCommandArgs({
    args: rest,
    options: {
      name: { type: 'string' },
      scope: { type: 'string', multiple: true },
      reseller: { type: 'string' },
      id: { type: 'string' },
      'audit-history-days': { type: 'string' },
      'rate-limit': { type: 'string' },
      grace: { type: 'string' },
    },
    strict: true,
  })
  switch (action) {
    case 'create': {
      const scopes = values.scope ?? []
      if (!values.name || scopes.length === 0)
        throw new UsageError('client create needs --name and at least one --scope')
      const unknown = scopes.filter((s) => !(API_SCOPES as readonly string[]).includes(s))
      if (unknown.length > 0) throw new UsageError(`--scope ${unknown.join(', ')}: expected ${API_SCOPES.join(', ')}`)
      if (scopes.includes('reseller') !== Boolean(values.reseller)) {
        throw new UsageError('--scope reseller and --reseller <name> go together')
      }
      const client = {
        name: values.name!,
        scopes: scopes as ApiScope[],
        resellerName: values.reseller,
        auditHistoryDays: integer('--audit-history-days', values['audit-history-days'], 1),
        rateLimitPerMinute: integer('--rate-limit', values['rate-limit'], 1),
      }
      // Who may read is an audited fact: the event commits with the client or not at all.
      const created = await withDb((db) => createAuditedApiClient(db, cliInitiator(), client))
      console.log(JSON.stringify({ client_id: created.clientId, client_secret: created.clientSecret }))
      return
    }
    case 'list': {
      for (const client of await withDb(listApiClients)) console.log(JSON.stringify(client))
      return
    }
    case 'rotate': {
      if (!values.id) throw new UsageError('client rotate needs --id <client_id>')
      const grace = integer('--grace', values.grace, 0) ?? DEFAULT_GRACE_SECONDS
      const rotated = await withDb((db) => rotateAuditedApiClientSecret(db, cliInitiator(), values.id!, grace))
      if (!rotated) throw new CommandError(`no active client ${values.id}`)
      console.log(
        JSON.stringify({
          client_id: values.id,
          client_secret: rotated.clientSecret,
          previous_secret_valid_until: rotated.previousSecretValidUntil?.toISOString() ?? null,
        }),
      )
      return
    }
    case 'revoke': {
      if (!values.id) throw new UsageError('client revoke needs --id <client_id>')
      const revoked = await withDb((db) => revokeAuditedApiClient(db, cliInitiator(), values.id!))
      if (!revoked) throw new CommandError(`no active client ${values.id}`)
      console.log(JSON.stringify({ revoked: values.id }))
      return
    }
    default:
      throw new UsageError(
        action === undefined
          ? 'expected create, list, rotate or revoke'
          : `unknown action ${JSON.stringify(action)}: expected create, list, rotate or revoke`,
      )
  }
}
