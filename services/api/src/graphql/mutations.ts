import { isIP } from 'node:net'
import { sql } from 'kysely'
import {
  ensureReseller,
  initiatedEvent,
  insertAuditEvents,
  isNetwork,
  nasClientView,
  registerNasClient,
  unregisterNasClient,
  type Initiator,
  type Db,
  type NewAuditEvent,
} from '@radstream/db'
import { ApiError } from '../errors'
import { apiInitiator, type Principal } from '../auth/principal'

export interface MutationContext {
  readonly db: Db
  readonly principal: Principal
  readonly requestId: string
}

/** Every admin change is audited with the client as initiator and the request id. */
function initiator(ctx: MutationContext): Initiator {
  return apiInitiator(ctx)
}

function audited(ctx: MutationContext, event: Parameters<typeof initiatedEvent>[1]): NewAuditEvent {
  return initiatedEvent(initiator(ctx), event)
}

function requireName(field: string, value: string): string {
  const trimmed = value.trim()
  if (!trimmed || trimmed.length > 200) throw new ApiError('BAD_USER_INPUT', `${field}: must be 1 to 200 characters`)
  return trimmed
}

function parseNetwork(ip: string): string {
  if (!isNetwork(ip))
    throw new ApiError('BAD_USER_INPUT', 'ip: expected an IP address or a CIDR block such as 10.0.0.0/24')
  return ip
}

export interface NasRegistration {
  readonly ip: string
  readonly secret: string
  readonly name?: string | null | undefined
  readonly coaPort?: number | null | undefined
  readonly coaAddress?: string | null | undefined
  readonly interimInterval?: number | null | undefined
}

/** 0 turns Dynamic Authorization off (null in the registry); omitted or null leaves it as it is. */
function parseCoaPort(port: number | null | undefined): number | null | undefined {
  if (port === null || port === undefined) return undefined
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new ApiError('BAD_USER_INPUT', 'coaPort: must be a UDP port from 1 to 65535, or 0 for none')
  }
  return port === 0 ? null : port
}

/** 0 says the interval is not known; omitted or null leaves it as it is. */
function parseInterimInterval(seconds: number | null | undefined): number | null | undefined {
  if (seconds === null || seconds === undefined) return undefined
  if (!Number.isInteger(seconds) || seconds < 0) {
    throw new ApiError('BAD_USER_INPUT', 'interimInterval: must be seconds from 1 to 2147483647, or 0 for not known')
  }
  return seconds === 0 ? null : seconds
}

/** Null clears it (requests go to the session's NAS address); omitted leaves it as it is. */
function parseCoaAddress(address: string | null | undefined): string | null | undefined {
  if (address === null || address === undefined) return address
  if (isIP(address) === 0) throw new ApiError('BAD_USER_INPUT', 'coaAddress: expected an IPv4 or IPv6 address')
  return address
}

export const mutations = {
  async createReseller(ctx: MutationContext, name: string) {
    const resellerName = requireName('name', name)
    return ctx.db.transaction().execute(async (tx) => {
      const { id, created } = await ensureReseller(tx, resellerName)
      if (created) {
        await insertAuditEvents(tx, [
          audited(ctx, {
            key: 'reseller.created',
            operation: 'CREATE',
            entityType: 'RESELLER',
            entityId: String(id),
            entityName: resellerName,
            description: `Reseller ${resellerName} created`,
            fields: [{ name: 'name', oldValue: null, newValue: resellerName }],
          }),
        ])
      }
      return { id, name: resellerName }
    })
  },

  async assignUserToReseller(ctx: MutationContext, userId: number, reseller: string) {
    return ctx.db.transaction().execute(async (tx) => {
      const before = await tx
        .selectFrom('users')
        .leftJoin('resellers', 'resellers.id', 'users.reseller_id')
        .select(['users.id', 'users.username', 'resellers.name as reseller'])
        .where('users.id', '=', userId)
        .forUpdate()
        .executeTakeFirst()
      if (!before) throw new ApiError('USER_NOT_FOUND', 'User not found')
      const { id: resellerId } = await ensureReseller(tx, requireName('reseller', reseller))
      await tx.updateTable('users').set({ reseller_id: resellerId }).where('id', '=', userId).execute()
      await insertAuditEvents(tx, [
        audited(ctx, {
          key: 'user.reseller',
          operation: 'UPDATE',
          entityType: 'USER',
          entityId: String(userId),
          entityName: before.username,
          entityParent: { type: 'RESELLER', id: String(resellerId), name: reseller },
          description: `User ${before.username} assigned to reseller ${reseller}`,
          fields: [{ name: 'reseller', oldValue: before.reseller, newValue: reseller }],
        }),
      ])
      return { id: before.id, username: before.username, reseller }
    })
  },

  async assignRealmToReseller(ctx: MutationContext, realm: string, reseller: string) {
    const realmName = requireName('realm', realm).toLowerCase()
    if (realmName.includes('@')) throw new ApiError('BAD_USER_INPUT', 'realm: give the part after @, e.g. example.net')
    return ctx.db.transaction().execute(async (tx) => {
      const { id: resellerId } = await ensureReseller(tx, requireName('reseller', reseller))
      await tx
        .insertInto('realm_assignments')
        .values({ realm: realmName, reseller_id: resellerId })
        .onConflict((oc) => oc.column('realm').doUpdateSet({ reseller_id: resellerId }))
        .execute()
      const moved = await tx
        .updateTable('users')
        .set({ reseller_id: resellerId })
        .where(sql<boolean>`lower(split_part(username, '@', 2)) = ${realmName}`)
        .executeTakeFirst()
      const usersAssigned = Number(moved.numUpdatedRows)
      await insertAuditEvents(tx, [
        audited(ctx, {
          key: 'realm.reseller',
          operation: 'UPDATE',
          entityType: 'RESELLER',
          entityId: String(resellerId),
          entityName: reseller,
          description: `Realm ${realmName} assigned to reseller ${reseller} (${usersAssigned} existing users)`,
          fields: [{ name: 'realm', oldValue: null, newValue: realmName }],
        }),
      ])
      return { realm: realmName, reseller, usersAssigned }
    })
  },

  async registerNas(ctx: MutationContext, nas: NasRegistration) {
    const network = parseNetwork(nas.ip)
    if (!nas.secret) throw new ApiError('BAD_USER_INPUT', 'secret: must not be empty')
    const coaPort = parseCoaPort(nas.coaPort)
    const coaAddress = parseCoaAddress(nas.coaAddress)
    const interimInterval = parseInterimInterval(nas.interimInterval)
    const row = await registerNasClient(ctx.db, initiator(ctx), {
      network,
      secret: nas.secret,
      name: nas.name ?? undefined,
      coaPort,
      coaAddress,
      interimInterval,
    })
    return nasClientView(row)
  },

  async removeNas(ctx: MutationContext, ip: string) {
    const network = parseNetwork(ip)
    return unregisterNasClient(ctx.db, initiator(ctx), network)
  },
}
