import { isIPv4 } from 'node:net'
import { sql } from 'kysely'
import {
  insertAuditEvents,
  nasClientForAddress,
  normalizeAddress,
  type Db,
  type Initiator,
  type NewAuditEvent,
} from '@radstream/db'
import { buildDynamicAuthorizationRequest, encodeAttribute, PacketCode, type AttributeInput } from '@radstream/radius'
import { randomInt } from 'node:crypto'
import {
  encodeSessionChange,
  type DescribedAttribute,
  type EncodedAttribute,
  type SessionChange,
} from './change-attributes'
import { DaeError } from './errors'
import { exchange, type DaeTarget, type ExchangeResult, type ExchangeTiming } from './exchange'

export interface SessionActionContext {
  readonly db: Db
  readonly initiator: Initiator
  /** Set for a reseller: only its users' sessions exist for it. */
  readonly resellerId?: number | undefined
  readonly timing: ExchangeTiming
}

export interface SessionActionResult extends ExchangeResult {
  /** The session's row id. */
  readonly sessionId: string
  readonly target: DaeTarget
  /** What happened and what it means for the session, in words (also the audit description). */
  readonly message: string
}

/** The session as a Disconnect or CoA must name it, and the NAS it must go to. */
interface SessionTarget {
  readonly id: string
  /** Acct-Unique-Session-Id: the id audit events know a session by. */
  readonly sessionKey: string
  readonly acctSessionId: string
  readonly username: string | null
  /** The NAS as it names itself (NAS-IP-Address, else NAS-IPv6-Address, else the source). */
  readonly nasAddress: string
  /** Where its accounting came from; null for sessions recorded before radstream kept it. */
  readonly sourceAddress: string | null
  readonly nasIdentifier: string | null
  readonly framedIpAddress: string | null
  readonly stopTime: Date | null
  readonly resellerId: number | null
}

interface Action {
  readonly code: typeof PacketCode.DisconnectRequest | typeof PacketCode.CoaRequest
  readonly packetName: 'Disconnect-Request' | 'CoA-Request'
  readonly operation: 'DISCONNECT' | 'CHANGE'
  readonly attributes: readonly EncodedAttribute[]
  readonly described: readonly DescribedAttribute[]
}

/**
 * Asks the session's NAS to end it (RFC 5176 Disconnect-Request). The row is not closed here: the
 * NAS's Stop closes it, and a NAK or a timeout leaves it open, as the result says.
 */
export function disconnectSession(ctx: SessionActionContext, sessionId: string): Promise<SessionActionResult> {
  return send(ctx, sessionId, {
    code: PacketCode.DisconnectRequest,
    packetName: 'Disconnect-Request',
    operation: 'DISCONNECT',
    attributes: [],
    described: [],
  })
}

/** Asks the session's NAS to apply new attributes to it (RFC 5176 CoA-Request). */
export function changeSession(
  ctx: SessionActionContext,
  sessionId: string,
  change: SessionChange,
): Promise<SessionActionResult> {
  const { attributes, described } = encodeSessionChange(change)
  return send(ctx, sessionId, {
    code: PacketCode.CoaRequest,
    packetName: 'CoA-Request',
    operation: 'CHANGE',
    attributes,
    described,
  })
}

async function findSession(db: Db, id: string): Promise<SessionTarget | undefined> {
  // Row ids are bigint; anything else names no session (and must not reach the cast).
  if (!/^[1-9][0-9]{0,17}$/.test(id)) return undefined
  return db
    .selectFrom('session_records as sessions')
    .leftJoin('users', 'users.id', 'sessions.user_id')
    .select([
      sql<string>`sessions.id::text`.as('id'),
      'sessions.session_key as sessionKey',
      'sessions.session_id as acctSessionId',
      'sessions.username',
      sql<string>`host(sessions.nas_ip_address)`.as('nasAddress'),
      sql<string | null>`host(sessions.nas_source_address)`.as('sourceAddress'),
      'sessions.nas_identifier as nasIdentifier',
      sql<string | null>`host(sessions.framed_ip_address)`.as('framedIpAddress'),
      'sessions.stop_time as stopTime',
      'users.reseller_id as resellerId',
    ])
    .where('sessions.id', '=', id)
    .executeTakeFirst()
}

/** The attributes by which a NAS finds the session (RFC 5176 section 3): who, which, where, when. */
function identification(session: SessionTarget): EncodedAttribute[] {
  const attributes: AttributeInput[] = [
    ...(session.username !== null ? [['User-Name', session.username] as const] : []),
    ['Acct-Session-Id', session.acctSessionId],
    isIPv4(session.nasAddress) ? ['NAS-IP-Address', session.nasAddress] : ['NAS-IPv6-Address', session.nasAddress],
    ...(session.nasIdentifier !== null ? [['NAS-Identifier', session.nasIdentifier] as const] : []),
    ...(session.framedIpAddress !== null ? [['Framed-IP-Address', session.framedIpAddress] as const] : []),
    ['Event-Timestamp', Math.floor(Date.now() / 1000)],
  ]
  return attributes.map(encodeAttribute)
}

const hostPort = ({ address, port }: DaeTarget) =>
  address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`

function outcomeText(result: ExchangeResult, target: DaeTarget): string {
  const tries = `${result.attempts} attempt${result.attempts === 1 ? '' : 's'} in ${result.elapsedMs} ms`
  switch (result.outcome) {
    case 'ACK':
      return `ACK from ${hostPort(target)} after ${tries}; the NAS's Stop will close the session`
    case 'NAK': {
      const cause = result.errorCause ? `, Error-Cause ${result.errorCause.code} ${result.errorCause.name}` : ''
      return `NAK from ${hostPort(target)}${cause}; the session stays open`
    }
    case 'TIMEOUT':
      return `no answer from ${hostPort(target)} after ${tries} (a NAS drops a request signed with a secret it does not share); the session stays open`
    case 'UNVERIFIED':
      return `${result.unverifiedResponses} answer(s) from ${hostPort(target)} failed verification with the NAS's secret and were not trusted (${tries}); the session stays open`
  }
}

async function send(ctx: SessionActionContext, sessionId: string, action: Action): Promise<SessionActionResult> {
  const session = await findSession(ctx.db, sessionId)
  // A reseller asking for another reseller's session is told what an unknown id is told.
  if (!session || (ctx.resellerId !== undefined && session.resellerId !== ctx.resellerId)) {
    throw new DaeError('SESSION_NOT_FOUND', `session ${sessionId}: not found`)
  }
  if (session.stopTime !== null) {
    throw new DaeError(
      'SESSION_ALREADY_STOPPED',
      `session ${sessionId}: stopped at ${session.stopTime.toISOString()}, nothing to ${action.operation === 'DISCONNECT' ? 'disconnect' : 'change'}`,
    )
  }
  // The NAS is where its accounting came from, and its secret the one the collector verified it with.
  const nasAddress = normalizeAddress(session.sourceAddress ?? session.nasAddress)
  const nas = await nasClientForAddress(ctx.db, nasAddress)
  if (!nas) {
    throw new DaeError(
      'NAS_WITHOUT_DAE',
      `session ${sessionId}: no registered NAS covers ${nasAddress}, so no secret to sign with`,
    )
  }
  if (nas.coa_port === null) {
    throw new DaeError(
      'NAS_WITHOUT_DAE',
      `session ${sessionId}: NAS ${nas.network} takes no Dynamic Authorization requests (set one with radstream nas add --coa-port)`,
    )
  }
  const target: DaeTarget = { address: nas.coa_address ?? nasAddress, port: nas.coa_port }
  const secret = Buffer.from(nas.secret, 'utf8')
  const request = buildDynamicAuthorizationRequest({
    code: action.code,
    identifier: randomInt(256),
    secret,
    attributes: [...identification(session), ...action.attributes],
  })
  const subject = `${action.packetName} for session ${session.id} (${session.username ?? 'no User-Name'}, Acct-Session-Id ${session.acctSessionId})`
  const event = (step: string, description: string, fields: NewAuditEvent['fields']): NewAuditEvent => ({
    eventKey: `dae.${action.operation.toLowerCase()}.${step}:${ctx.initiator.requestId}`,
    initiatorType: ctx.initiator.type,
    initiatorId: ctx.initiator.id,
    initiatorName: ctx.initiator.name ?? null,
    initiatorPublicIp: ctx.initiator.publicIp ?? null,
    requestId: ctx.initiator.requestId,
    operation: action.operation,
    entityType: 'SESSION',
    // As the sessionizer's own session events: one entity, whoever wrote about it.
    entityId: session.sessionKey,
    entityName: session.acctSessionId,
    entityParent: session.username === null ? null : { type: 'USER', id: session.username, name: session.username },
    description,
    fields,
  })
  // Recorded before the packet leaves: a request that may take effect is never unaudited.
  await insertAuditEvents(ctx.db, [
    event('requested', `${subject} sent to ${hostPort(target)}`, [
      { name: 'request', oldValue: null, newValue: action.packetName },
      { name: 'nas', oldValue: null, newValue: hostPort(target) },
      ...action.described.map((a) => ({ name: a.name, oldValue: null, newValue: a.value })),
    ]),
  ])
  const result = await exchange(request, target, secret, ctx.timing)
  const message = outcomeText(result, target)
  await insertAuditEvents(ctx.db, [
    event('outcome', `${subject}: ${message}`, [
      { name: 'outcome', oldValue: null, newValue: result.outcome },
      ...(result.errorCause
        ? [{ name: 'errorCause', oldValue: null, newValue: `${result.errorCause.code} ${result.errorCause.name}` }]
        : []),
    ]),
  ])
  return { ...result, sessionId: session.id, target, message }
}
