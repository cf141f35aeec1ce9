import { sql, type Transaction } from 'kysely'
import {
  auditLanes,
  insertAuditEvents,
  type Database,
  type NewAuditEvent,
  type SessionEventsNotice,
} from '@radstream/db'
import type { AccountingRecord } from '@radstream/events'
import { AcctStatusType } from '@radstream/radius'
import { nasAccountingEvent, sessionEvents, userFirstSeen } from './audit-events'
import { draftFromRecord, isSessionPacket, mergeDrafts, type SessionDraft } from './session-draft'
import {
  closeSessionsEndedByNasEvents,
  closeSessionsOfNas,
  ensureUsers,
  learnNasCadences,
  priorSessions,
  recordLiveness,
  upsertSessions,
  type PriorSession,
  type WrittenSession,
} from './session-store'
import { addressEvents, type SessionPacket } from './address-events'
import { lockForKeying } from './keying-lock'
import { ArchivedMeanwhile, archivedSessionKeys } from './session-archive'
import { closeSupersededSessions } from './supersession'
import { updateUsage, type KeyedRecord } from './usage-store'

type Tx = Transaction<Database>

export interface BatchOutcome {
  /** How many sessions the batch wrote. */
  readonly sessionsWritten: number
  readonly auditEvents: number
  /** The sessions that started (or reopened) and stopped, for listeners once the batch commits. */
  readonly notice: SessionEventsNotice
  /** How long the batch waited for locks it takes itself: the keying lock and its audit lane's. */
  readonly lockWaitMs: number
  /** Packets of archived sessions, which change nothing (session-archive.ts). */
  readonly archivedPackets: number
}

export interface BatchOptions {
  /** The audit lane of the batch: its Kafka partition's (default partition 0's). */
  readonly lane?: string
  /** The batch holds records keyed as before NAS keying (keying-lock.ts). */
  readonly legacyKeys?: boolean
}

/**
 * Writes one run of session packets: users, sessions (one statement), closes, audit events.
 * A session's started event is made from its Start packet alone and its stopped event from its
 * Stop (which wins the closing columns), never from what else the batch happened to hold: so the
 * events, like the rows, are the same whatever the batch boundaries, order and replays.
 */
async function writeSessions(
  tx: Tx,
  drafts: Map<string, SessionDraft>,
  starts: Map<string, SessionDraft>,
  stopped: Set<string>,
): Promise<{
  events: NewAuditEvent[]
  written: WrittenSession[]
  prior: Map<string, PriorSession>
  archived: Set<string>
}> {
  const prior = await priorSessions(tx, [...drafts.keys()])
  const archived = await archivedSessionKeys(
    tx,
    [...drafts.values()].filter((d) => !prior.has(d.session_key)),
  )
  const live = [...drafts.values()].filter((d) => !archived.has(d.session_key))
  const usernames = [...new Set(live.flatMap((d) => (d.username === null ? [] : [d.username])))]
  const users = await ensureUsers(tx, usernames)
  const rows = live.map((d) => ({
    ...d,
    user_id: d.username === null ? null : (users.ids.get(d.username) ?? null),
  }))
  const changed = await upsertSessions(tx, rows)
  for (const session of changed) {
    const was = prior.get(session.session_key)
    if (was !== undefined && was.id !== session.id) throw new ArchivedMeanwhile(session.session_key)
  }
  await learnNasCadences(tx, changed, prior)
  await recordLiveness(tx, changed)
  const reopened = changed.filter((s) => s.stop_time === null && prior.get(s.session_key)?.closed_by === 'stale')
  // A session the drafts did not change stands as it was; its packets may still bring counter reports.
  const changedKeys = new Set(changed.map((s) => s.session_key))
  const written: WrittenSession[] = [...changed, ...[...prior.values()].filter((s) => !changedKeys.has(s.session_key))]
  // Every session of the batch's NAS, and the NAS's Accounting-On/Off, are in this partition: no
  // other partition's batch writes what these checks read (keying-lock.ts).
  const open = rows.filter((d) => d.closed_by === null).map((d) => d.session_key)
  const closedByNas = await closeSessionsEndedByNasEvents(tx, open)
  // The pass decides a session's claim on its address against the others' when it is written
  // first or its start, end or addresses move; an Interim-Update that moves none of them (most of
  // what a NAS sends) cannot change what the pass decided then, and costs no probe.
  const claims = changed.filter((s) => {
    const before = prior.get(s.session_key)
    return (
      before === undefined ||
      before.start_time.getTime() !== s.start_time.getTime() ||
      before.stop_time?.getTime() !== s.stop_time?.getTime() ||
      before.closed_by !== s.closed_by ||
      before.addresses !== s.addresses
    )
  })
  const superseded = await closeSupersededSessions(
    tx,
    claims.map((s) => s.session_key),
  )

  const events = users.created.map(userFirstSeen)
  for (const start of starts.values()) if (!archived.has(start.session_key)) events.push(sessionEvents.started(start))
  for (const key of stopped) if (!archived.has(key)) events.push(sessionEvents.stopped(drafts.get(key)!))
  events.push(...closedByNas.map(sessionEvents.closedByNas))
  events.push(...superseded.map(sessionEvents.superseded))
  events.push(...reopened.map((session) => sessionEvents.reopened(session, prior.get(session.session_key)!.stop_time!)))
  return { events, written, prior, archived }
}

/**
 * Applies a batch of records in the caller's transaction. Session packets are folded per session
 * in memory and written in one statement; an Accounting-On/Off splits the batch, so packets before
 * it are written before it closes the NAS's sessions, as in arrival order. Usage rollups follow
 * the sessions written, in the same transaction.
 */
export async function applyBatch(
  tx: Tx,
  records: readonly AccountingRecord[],
  options: BatchOptions = {},
): Promise<BatchOutcome> {
  let lockWaitMs = await lockForKeying(tx, options.legacyKeys ?? false)
  // The batch's statements read a few hundred rows by key, from tables PostgreSQL has in memory. At
  // the default random_page_cost (4, a spinning disk's) it reads tables of up to some 100,000 rows
  // whole instead, as a new installation's are for its first hours: the supersession pass over 600
  // sessions of 30,000 took 18 ms so, 10.5 ms by its indexes.
  // radstream.lane: the rollups' lane (migration 0019), so that no two partitions add to one row.
  const lane = options.lane ?? auditLanes.partition(0)
  await sql`select set_config('random_page_cost', '1.1', true), set_config('radstream.lane', ${lane}, true)`.execute(tx)
  let drafts = new Map<string, SessionDraft>()
  let starts = new Map<string, SessionDraft>()
  let stopped = new Set<string>()
  const events: NewAuditEvent[] = []
  // Each session as its last write left it (a later flush of the batch writes it again).
  const written = new Map<string, WrittenSession>()
  // Each session as it stood before the batch (the first flush that wrote it read it).
  const before = new Map<string, PriorSession>()
  const sessionRecords: KeyedRecord[] = []
  const packets: SessionPacket[] = []
  const archived = new Set<string>()

  const flush = async () => {
    if (drafts.size === 0) return
    const flushed = await writeSessions(tx, drafts, starts, stopped)
    events.push(...flushed.events)
    for (const session of flushed.written) written.set(session.session_key, session)
    for (const [key, session] of flushed.prior) if (!before.has(key)) before.set(key, session)
    for (const key of flushed.archived) archived.add(key)
    drafts = new Map()
    starts = new Map()
    stopped = new Set()
  }

  for (const record of records) {
    const status = record.accounting.statusType
    if (isSessionPacket(record)) {
      const draft = draftFromRecord(record)
      sessionRecords.push({ key: draft.session_key, record })
      packets.push({ draft, status })
      const earlier = drafts.get(draft.session_key)
      drafts.set(draft.session_key, earlier ? mergeDrafts(earlier, draft) : draft)
      if (status === AcctStatusType.Start && !starts.has(draft.session_key)) starts.set(draft.session_key, draft)
      if (status === AcctStatusType.Stop) stopped.add(draft.session_key)
    } else if (status === AcctStatusType.AccountingOn || status === AcctStatusType.AccountingOff) {
      await flush()
      const a = record.accounting
      const event = {
        nasAddress: record.nasAddress,
        nasAddresses: [
          ...new Set([record.nasAddress, a.nasIpAddress, a.nasIpv6Address].filter((x) => x !== undefined)),
        ],
        eventTime: new Date(record.eventTime),
        status: status === AcctStatusType.AccountingOn ? ('Accounting-On' as const) : ('Accounting-Off' as const),
        terminateCause: record.accounting.terminateCause ?? 'NAS-Reboot',
      }
      const closed = await closeSessionsOfNas(tx, event)
      events.push(nasAccountingEvent(event.nasAddress, event.status, event.eventTime, closed.length))
      events.push(...closed.map(sessionEvents.closedByNas))
    }
    // Failed, tunnel and vendor status types stay in Kafka as events; they change no session.
  }
  await flush()
  events.push(...addressEvents(packets.filter(({ draft }) => !archived.has(draft.session_key))))
  const liveRecords = sessionRecords.filter(({ key }) => !archived.has(key))
  events.push(...(await updateUsage(tx, liveRecords, [...written.values()], before)))
  lockWaitMs += (await insertAuditEvents(tx, events, lane)).lockWaitMs
  const isReopen = (e: NewAuditEvent) => e.eventKey.startsWith('session.reopened@')
  const notice = {
    started: events.filter((e) => e.eventKey.startsWith('session.started:') || isReopen(e)).map((e) => e.entityId),
    stopped: events
      .filter((e) => e.entityType === 'SESSION' && e.operation === 'UPDATE' && !isReopen(e))
      .map((e) => e.entityId),
  }
  const archivedPackets = sessionRecords.length - liveRecords.length
  return { sessionsWritten: written.size, auditEvents: events.length, notice, lockWaitMs, archivedPackets }
}
