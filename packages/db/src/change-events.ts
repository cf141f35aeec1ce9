import {
  createApiClient,
  revokeApiClient,
  rotateApiClientSecret,
  type NewApiClient,
  type RotatedSecret,
} from './api-clients'
import { insertAuditEvents, type NewAuditEvent } from './audit-events'
import type { Db } from './connection'
import { removeNasClient, upsertNasClient, type NasClientInput } from './nas-clients'
import type { NasClientRow } from './schema'

/** Who changed something: an API client (with its request's id) or an operator at the CLI (user@host). */
export interface Initiator {
  readonly type: 'API_CLIENT' | 'CLI'
  readonly id: string
  readonly requestId: string
  /** As a person reads it: the API client's name, the operator's login. */
  readonly name?: string | null
  /** Where the change came from: the API caller's address, the operator's SSH client. */
  readonly publicIp?: string | null
}

type ChangeEvent = Omit<NewAuditEvent, 'initiatorType' | 'initiatorId' | 'requestId' | 'eventKey'> & {
  /** What changed, as a name: with the request id it makes the event key. */
  readonly key: string
}

/** The audit event of a change `initiator` made; written twice (a retried request), it is written once. */
export function initiatedEvent(initiator: Initiator, { key, ...event }: ChangeEvent): NewAuditEvent {
  return {
    ...event,
    eventKey: `${initiator.type === 'CLI' ? 'cli' : 'api'}.${key}:${initiator.requestId}`,
    initiatorType: initiator.type,
    initiatorId: initiator.id,
    initiatorName: initiator.name ?? null,
    initiatorPublicIp: initiator.publicIp ?? null,
    requestId: initiator.requestId,
  }
}

/** What a registration set besides the secret, as given (undefined: left as it was). */
export interface NasSettingsGiven {
  readonly coaPort?: number | null | undefined
  readonly coaAddress?: string | null | undefined
  readonly interimInterval?: number | null | undefined
}

/** A NAS registered or re-registered: who may send accounting, with what secret (never the secret itself). */
function nasRegisteredEvent(initiator: Initiator, row: NasClientRow, given: NasSettingsGiven): NewAuditEvent {
  const set = (name: string, value: unknown, none: string) =>
    value === undefined ? [] : [{ name, oldValue: null, newValue: value === null ? none : String(value) }]
  return initiatedEvent(initiator, {
    key: 'nas.registered',
    operation: 'UPDATE',
    entityType: 'NAS',
    entityId: row.network,
    entityName: row.name ?? row.network,
    description: `NAS ${row.network} registered (secret set)`,
    fields: [
      { name: 'secret', oldValue: null, newValue: '(set)' },
      ...set('coaPort', given.coaPort, 'none'),
      ...set('coaAddress', given.coaAddress, 'the session address'),
      ...set('interimInterval', given.interimInterval, 'not known'),
    ],
  })
}

function nasRemovedEvent(initiator: Initiator, network: string): NewAuditEvent {
  return initiatedEvent(initiator, {
    key: 'nas.removed',
    operation: 'DELETE',
    entityType: 'NAS',
    entityId: network,
    entityName: network,
    description: `NAS ${network} removed`,
    fields: [],
  })
}

/** An API client created: who may read, with which scopes (never its secret). */
function apiClientCreatedEvent(
  initiator: Initiator,
  client: { clientId: string; name: string; scopes: readonly string[]; reseller: string | undefined },
): NewAuditEvent {
  return initiatedEvent(initiator, {
    key: 'api-client.created',
    operation: 'CREATE',
    entityType: 'API_CLIENT',
    entityId: client.clientId,
    entityName: client.name,
    description: `API client ${client.name} (${client.clientId}) created with scopes ${client.scopes.join(', ')}`,
    fields: [
      { name: 'scopes', oldValue: null, newValue: client.scopes.join(' ') },
      ...(client.reseller ? [{ name: 'reseller', oldValue: null, newValue: client.reseller }] : []),
    ],
  })
}

function apiClientRevokedEvent(initiator: Initiator, clientId: string): NewAuditEvent {
  return initiatedEvent(initiator, {
    key: 'api-client.revoked',
    operation: 'UPDATE',
    entityType: 'API_CLIENT',
    entityId: clientId,
    entityName: clientId,
    description: `API client ${clientId} revoked: its tokens stop working within seconds`,
    fields: [{ name: 'revoked', oldValue: 'false', newValue: 'true' }],
  })
}

function apiClientRotatedEvent(initiator: Initiator, clientId: string, rotated: RotatedSecret): NewAuditEvent {
  const until = rotated.previousSecretValidUntil?.toISOString()
  return initiatedEvent(initiator, {
    key: 'api-client.rotated',
    operation: 'UPDATE',
    entityType: 'API_CLIENT',
    entityId: clientId,
    entityName: clientId,
    description: `API client ${clientId} given a new secret; the previous one ${until ? `works until ${until}` : 'stopped at once'}`,
    fields: [
      { name: 'secret', oldValue: '(set)', newValue: '(new)' },
      { name: 'previousSecretValidUntil', oldValue: null, newValue: until ?? 'not at all' },
    ],
  })
}

/** Creates an API client and its audit event in one transaction; the secret is returned this once. */
export async function createAuditedApiClient(
  db: Db,
  initiator: Initiator,
  client: NewApiClient,
): Promise<{ clientId: string; clientSecret: string }> {
  return db.transaction().execute(async (tx) => {
    const made = await createApiClient(tx, client)
    await insertAuditEvents(tx, [
      apiClientCreatedEvent(initiator, { ...client, clientId: made.clientId, reseller: client.resellerName }),
    ])
    return made
  })
}

/** Rotates an active client's secret with its audit event; undefined when no active client has the id. */
export async function rotateAuditedApiClientSecret(
  db: Db,
  initiator: Initiator,
  clientId: string,
  graceSeconds: number,
): Promise<RotatedSecret | undefined> {
  return db.transaction().execute(async (tx) => {
    const rotated = await rotateApiClientSecret(tx, clientId, graceSeconds)
    if (rotated) await insertAuditEvents(tx, [apiClientRotatedEvent(initiator, clientId, rotated)])
    return rotated
  })
}

/** Revokes an active client with its audit event; false when no active client has the id. */
export async function revokeAuditedApiClient(db: Db, initiator: Initiator, clientId: string): Promise<boolean> {
  return db.transaction().execute(async (tx) => {
    const revoked = await revokeApiClient(tx, clientId)
    if (revoked) await insertAuditEvents(tx, [apiClientRevokedEvent(initiator, clientId)])
    return revoked
  })
}

/**
 * Registers a NAS and writes its audit event in one transaction: who may send accounting is an
 * audited fact, committed with the change or not at all.
 */
export async function registerNasClient(db: Db, initiator: Initiator, nas: NasClientInput): Promise<NasClientRow> {
  return db.transaction().execute(async (tx) => {
    const row = await upsertNasClient(tx, nas)
    await insertAuditEvents(tx, [nasRegisteredEvent(initiator, row, nas)])
    return row
  })
}

/** Removes a NAS and writes its audit event in one transaction; false when none was registered so. */
export async function unregisterNasClient(db: Db, initiator: Initiator, network: string): Promise<boolean> {
  return db.transaction().execute(async (tx) => {
    const removed = await removeNasClient(tx, network)
    if (removed) await insertAuditEvents(tx, [nasRemovedEvent(initiator, removed)])
    return removed !== undefined
  })
}
