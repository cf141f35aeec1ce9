import type { GraphQLResolveInfo } from 'graphql'
import mercurius, { type IResolvers, type MercuriusContext } from 'mercurius'
import type { DynamicAuthorizationSettings } from '@radstream/config'
import type { Db } from '@radstream/db'
import { isAdmin, resellerScope, type Principal } from '../auth/principal'
import { ApiError } from '../errors'
import { DateTimeScalar } from './date-time'
import { apiClientOperations } from './api-clients'
import { onlineSessionCount, sessionTimeline, terminateCauses } from './activity'
import { usageOperations, type Granularity, type UsageOrder } from './usage'
import { dynamicAuthorizationResolvers } from './dynamic-authorization'
import { mutations, type NasRegistration } from './mutations'
import { encodeCursor } from './cursor'
import {
  connectionHistory,
  findUser,
  MAX_PAGE,
  onlineSessions,
  pageSize,
  whoHadIp,
  type ConnectionRecord,
} from './queries'
import { COMPLETE_HISTORY_CAP } from './query-cost'
import { requestedRecordFields } from './requested-fields'
import { SESSION_EVENTS_TOPIC } from './session-events'
import type { GuardedSocket, SubscriptionGuard } from './subscription-guard'

const { ErrorWithProps, withFilter } = mercurius

declare module 'mercurius' {
  interface MercuriusContext {
    /** Set by the authentication hook before any resolver runs. */
    principal: Principal
    requestId: string
    /** The caller's address, for audit events of what it changes. */
    ip?: string
    /** A subscription's WebSocket (the subscription context sets it). */
    socket?: GuardedSocket
  }
}

type GraphqlContext = MercuriusContext

/** ApiError -> GraphQL error with extensions.code and the HTTP status of the catalogue. */
function graphqlError(error: unknown): never {
  if (error instanceof ApiError) throw new ErrorWithProps(error.message, { code: error.code }, error.statusCode)
  throw error
}

function guarded<A extends unknown[], R>(resolve: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
  return (...args) => resolve(...args).catch(graphqlError)
}

function requireAdmin(ctx: GraphqlContext): void {
  if (!isAdmin(ctx.principal)) throw new ApiError('FORBIDDEN', 'this operation needs the admin scope')
}

/** The contract's 404 body: {"errors":[{"message":"User not found","path":[...],"extensions":{"code":"USER_NOT_FOUND"}}],"data":null}. */
const userNotFound = () => new ApiError('USER_NOT_FOUND', 'User not found')

interface HistoryArgs {
  userId: number
  from?: Date | null
  to?: Date | null
  first?: number | null
  after?: string | null
}

export function buildResolvers(
  db: Db,
  dynamicAuthorization: DynamicAuthorizationSettings,
  subscriptionGuard: SubscriptionGuard,
): IResolvers {
  const dae = dynamicAuthorizationResolvers(db, dynamicAuthorization)
  const clients = apiClientOperations(db)
  const usage = usageOperations(db)
  return {
    DateTime: DateTimeScalar,
    // Computed only when asked for: most clients never page.
    ConnectionRecord: {
      cursor: (record: ConnectionRecord) => encodeCursor({ startTime: record.startTime, id: record.id }),
    },
    Query: {
      getConnectionHistory: guarded(
        async (_root: unknown, args: HistoryArgs, ctx: GraphqlContext, info: GraphQLResolveInfo) => {
          // The contract's call, with no paging arguments, is the complete history: up to the cap,
          // past which the client is told to page rather than handed a cut list.
          const complete = args.first == null && args.after == null
          const first = complete ? COMPLETE_HISTORY_CAP + 1 : pageSize(args.first)
          // One statement reads the user and the page. A reseller asking for another reseller's
          // user is told exactly what an unknown id is told, a bad cursor included.
          const user = { id: args.userId, resellerId: resellerScope(ctx.principal) }
          const records = await connectionHistory(
            db,
            user,
            { from: args.from, to: args.to },
            { first, after: args.after },
            requestedRecordFields(info),
          ).catch(async (error: unknown) => {
            if (!(await findUser(db, { id: user.id }, user.resellerId))) throw userNotFound()
            throw error
          })
          if (!records) throw userNotFound()
          if (complete && records.length > COMPLETE_HISTORY_CAP)
            throw new ApiError(
              'HISTORY_TOO_LARGE',
              `this user has more than ${COMPLETE_HISTORY_CAP} sessions: page with 'first' (at most ${MAX_PAGE}) and 'after'`,
            )
          return records
        },
      ),
      userByName: guarded(async (_root: unknown, { username }: { username: string }, ctx: GraphqlContext) => {
        return (await findUser(db, { username }, resellerScope(ctx.principal))) ?? null
      }),
      getOnlineSessions: guarded(
        async (
          _root: unknown,
          args: { nasIpAddress?: string | null; userId?: number | null; first?: number | null; after?: string | null },
          ctx: GraphqlContext,
          info: GraphQLResolveInfo,
        ) => {
          const first = pageSize(args.first)
          return onlineSessions(
            db,
            { nasIpAddress: args.nasIpAddress, userId: args.userId, resellerId: resellerScope(ctx.principal) },
            { first, after: args.after },
            requestedRecordFields(info),
          )
        },
      ),
      whoHadIp: guarded(
        async (_root: unknown, { ip, at }: { ip: string; at: Date }, ctx: GraphqlContext, info: GraphQLResolveInfo) =>
          whoHadIp(db, ip, at, resellerScope(ctx.principal), requestedRecordFields(info)),
      ),
      usage: guarded(
        async (
          _root: unknown,
          args: { userId: number; from: Date; to: Date; granularity?: Granularity | null },
          ctx: GraphqlContext,
        ) => usage.usage(ctx, args.userId, args.from, args.to, args.granularity ?? 'DAY'),
      ),
      topUsers: guarded(
        async (_root: unknown, args: { by: UsageOrder; period: string; first?: number | null }, ctx: GraphqlContext) =>
          usage.topUsers(ctx, args.by, args.period, args.first),
      ),
      sessionTimeline: guarded(
        async (
          _root: unknown,
          args: { from: Date; to: Date; stepSeconds?: number | null; nasIpAddress?: string | null },
          ctx: GraphqlContext,
        ) =>
          sessionTimeline(
            db,
            { from: args.from, to: args.to, stepSeconds: args.stepSeconds ?? 300 },
            { nasIpAddress: args.nasIpAddress, resellerId: resellerScope(ctx.principal) },
          ),
      ),
      terminateCauses: guarded(
        async (_root: unknown, args: { from: Date; to: Date; nasIpAddress?: string | null }, ctx: GraphqlContext) =>
          terminateCauses(db, args, { nasIpAddress: args.nasIpAddress, resellerId: resellerScope(ctx.principal) }),
      ),
      onlineSessionCount: guarded(async (_root: unknown, args: { nasIpAddress?: string | null }, ctx: GraphqlContext) =>
        onlineSessionCount(db, { nasIpAddress: args.nasIpAddress, resellerId: resellerScope(ctx.principal) }),
      ),
      usersOverQuota: guarded(async (_root: unknown, args: { month?: string | null }, ctx: GraphqlContext) =>
        usage.usersOverQuota(ctx, args.month),
      ),
      apiClients: guarded(async (_root: unknown, args: { includeRevoked?: boolean | null }, ctx: GraphqlContext) => {
        requireAdmin(ctx)
        return clients.list(args.includeRevoked ?? false)
      }),
    },
    Mutation: {
      createReseller: guarded(async (_root: unknown, { name }: { name: string }, ctx: GraphqlContext) => {
        requireAdmin(ctx)
        return mutations.createReseller({ db, ...ctx }, name)
      }),
      assignUserToReseller: guarded(
        async (_root: unknown, args: { userId: number; reseller: string }, ctx: GraphqlContext) => {
          requireAdmin(ctx)
          return mutations.assignUserToReseller({ db, ...ctx }, args.userId, args.reseller)
        },
      ),
      assignRealmToReseller: guarded(
        async (_root: unknown, args: { realm: string; reseller: string }, ctx: GraphqlContext) => {
          requireAdmin(ctx)
          return mutations.assignRealmToReseller({ db, ...ctx }, args.realm, args.reseller)
        },
      ),
      registerNas: guarded(async (_root: unknown, args: NasRegistration, ctx: GraphqlContext) => {
        requireAdmin(ctx)
        return mutations.registerNas({ db, ...ctx }, args)
      }),
      removeNas: guarded(async (_root: unknown, { ip }: { ip: string }, ctx: GraphqlContext) => {
        requireAdmin(ctx)
        return mutations.removeNas({ db, ...ctx }, ip)
      }),
      setUsageQuota: guarded(
        async (
          _root: unknown,
          args: { userId?: number | null; realm?: string | null; monthlyOctets: string },
          ctx: GraphqlContext,
        ) => {
          requireAdmin(ctx)
          return usage.setQuota(ctx, args, args.monthlyOctets)
        },
      ),
      removeUsageQuota: guarded(
        async (_root: unknown, args: { userId?: number | null; realm?: string | null }, ctx: GraphqlContext) => {
          requireAdmin(ctx)
          return usage.removeQuota(ctx, args)
        },
      ),
      rotateApiClientSecret: guarded(
        async (_root: unknown, args: { clientId: string; graceSeconds?: number | null }, ctx: GraphqlContext) => {
          requireAdmin(ctx)
          return clients.rotate(ctx, args.clientId, args.graceSeconds)
        },
      ),
      revokeApiClient: guarded(async (_root: unknown, { clientId }: { clientId: string }, ctx: GraphqlContext) => {
        requireAdmin(ctx)
        return clients.revoke(ctx, clientId)
      }),
      disconnectSession: guarded(dae.mutations.disconnectSession),
      changeSession: guarded(dae.mutations.changeSession),
    },
    DynamicAuthorizationResult: dae.DynamicAuthorizationResult,
    Subscription: {
      sessionEvents: {
        subscribe: withFilter(
          (
            _root: unknown,
            _args: { nasIpAddress?: string | null },
            { pubsub, socket, principal }: MercuriusContext,
          ) => {
            if (socket) subscriptionGuard.watch(socket, principal)
            return pubsub.subscribe(SESSION_EVENTS_TOPIC)
          },
          (
            payload: { sessionEvents: { session: { nasIpAddress: string; resellerId: number | null } } },
            args: { nasIpAddress?: string | null },
            ctx: GraphqlContext,
          ) => {
            const { session } = payload.sessionEvents
            const reseller = resellerScope(ctx.principal)
            if (reseller !== undefined && session.resellerId !== reseller) return false
            return !args.nasIpAddress || session.nasIpAddress === args.nasIpAddress
          },
        ),
      },
    },
  }
}
