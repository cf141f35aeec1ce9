import type { GraphQLResolveInfo } from 'graphql'
import type { MercuriusContext } from 'mercurius'
import type { DynamicAuthorizationSettings } from '@radstream/config'
import {
  changeSession,
  DaeError,
  disconnectSession,
  type SessionActionContext,
  type SessionActionResult,
  type SessionChange,
} from '@radstream/dae'
import type { Db } from '@radstream/db'
import { apiInitiator, resellerScope } from '../auth/principal'
import { ApiError, type ApiErrorCode } from '../errors'
import { perClientLimiter } from '../per-client-limiter'
import { sessionById } from './queries'
import { requestedRecordFields } from './requested-fields'

const DAE_ERROR_CODES: Record<DaeError['code'], ApiErrorCode> = {
  SESSION_NOT_FOUND: 'SESSION_NOT_FOUND',
  SESSION_ALREADY_STOPPED: 'SESSION_ALREADY_STOPPED',
  NAS_WITHOUT_DAE: 'NAS_WITHOUT_DAE',
  INVALID_ATTRIBUTE: 'BAD_USER_INPUT',
}

/** The GraphQL DynamicAuthorizationResult; its session is read when asked for. */
function resultOf(result: SessionActionResult) {
  return {
    outcome: result.outcome,
    message: result.message,
    errorCause: result.errorCause ?? null,
    nasAddress: result.target.address,
    nasPort: result.target.port,
    attempts: result.attempts,
    elapsedMs: result.elapsedMs,
    unverifiedResponses: result.unverifiedResponses,
    sessionId: result.sessionId,
  }
}

/**
 * disconnectSession and changeSession: admins for any session, resellers for their users' only;
 * auditors never reach GraphQL. The API client is the audit initiator.
 */
export function dynamicAuthorizationResolvers(db: Db, settings: DynamicAuthorizationSettings) {
  // A Disconnect reaches a NAS: a runaway script must not flood one.
  const admit = perClientLimiter(settings.rateLimitPerMinute, 'Disconnect or CoA requests')

  async function run(
    ctx: MercuriusContext,
    action: (actionContext: SessionActionContext) => Promise<SessionActionResult>,
  ) {
    admit(ctx.principal.clientId)
    try {
      return resultOf(
        await action({
          db,
          timing: settings,
          resellerId: resellerScope(ctx.principal),
          initiator: apiInitiator(ctx),
        }),
      )
    } catch (error) {
      if (error instanceof DaeError) throw new ApiError(DAE_ERROR_CODES[error.code], error.message)
      throw error
    }
  }

  return {
    mutations: {
      disconnectSession: (_root: unknown, { id }: { id: string }, ctx: MercuriusContext) =>
        run(ctx, (actionContext) => disconnectSession(actionContext, id)),
      changeSession: (_root: unknown, args: { id: string; attributes: SessionChange }, ctx: MercuriusContext) =>
        run(ctx, (actionContext) => changeSession(actionContext, args.id, args.attributes)),
    },
    DynamicAuthorizationResult: {
      session: (result: { sessionId: string }, _args: unknown, _ctx: unknown, info: GraphQLResolveInfo) =>
        sessionById(db, result.sessionId, requestedRecordFields(info)),
    },
  }
}
