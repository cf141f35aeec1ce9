import { sql } from 'kysely'
import { effectiveMonthlyQuota, initiatedEvent, insertAuditEvents, type Db } from '@radstream/db'
import { apiInitiator, resellerScope, type Principal } from '../auth/principal'
import { ApiError } from '../errors'
import { findUser } from './queries'

export type Granularity = 'DAY' | 'MONTH'
export type UsageOrder = 'OCTETS' | 'TIME'

interface Context {
  readonly principal: Principal
  readonly requestId: string
}

/** Periods one usage query may span: a year of days, ten years of months. */
const MAX_PERIODS: Record<Granularity, number> = { DAY: 366, MONTH: 120 }
const MAX_TOP = 1000
const ROLLUPS = {
  DAY: { table: 'usage_daily', column: 'day' },
  MONTH: { table: 'usage_monthly', column: 'month' },
} as const

const badInput = (message: string) => new ApiError('BAD_USER_INPUT', message)

interface RollupRow {
  input_octets: string
  output_octets: string
  session_time: string
  sessions: number
}

function amounts(row: RollupRow) {
  return {
    inputOctets: row.input_octets,
    outputOctets: row.output_octets,
    totalOctets: (BigInt(row.input_octets) + BigInt(row.output_octets)).toString(),
    sessionTime: Number(row.session_time),
    sessions: row.sessions,
  }
}

/** A day (YYYY-MM-DD) or a month (YYYY-MM), as topUsers and usersOverQuota take it. */
function parsePeriod(text: string, parameter: string): { granularity: Granularity; start: string } {
  const day = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text)
  if (day && new Date(`${text}T00:00:00Z`).toISOString().startsWith(text)) return { granularity: 'DAY', start: text }
  const month = /^(\d{4})-(\d{2})$/.exec(text)
  if (month && Number(month[2]) >= 1 && Number(month[2]) <= 12) return { granularity: 'MONTH', start: `${text}-01` }
  throw badInput(`${parameter}: expected a day (YYYY-MM-DD) or a month (YYYY-MM), got ${JSON.stringify(text)}`)
}

const currentMonth = () => new Date().toISOString().slice(0, 7)

/** The first day (YYYY-MM-DD) of every UTC day or month that [from, to) touches. */
function periodStarts(from: Date, to: Date, granularity: Granularity): string[] {
  if (!(to > from)) throw badInput('to: must be after from')
  const starts: string[] = []
  const cursor = new Date(
    Date.UTC(from.getUTCFullYear(), from.getUTCMonth(), granularity === 'DAY' ? from.getUTCDate() : 1),
  )
  while (cursor < to) {
    if (starts.length === MAX_PERIODS[granularity])
      throw badInput(`to: at most ${MAX_PERIODS[granularity]} ${granularity === 'DAY' ? 'days' : 'months'} after from`)
    starts.push(cursor.toISOString().slice(0, 10))
    if (granularity === 'DAY') cursor.setUTCDate(cursor.getUTCDate() + 1)
    else cursor.setUTCMonth(cursor.getUTCMonth() + 1)
  }
  return starts
}

/** Octets as a positive decimal string that fits numeric(20). */
function parseOctets(text: string): string {
  if (!/^[1-9]\d{0,18}$/.test(text)) throw badInput('monthlyOctets: expected a positive whole number of octets')
  return text
}

/** usage, topUsers, usersOverQuota and the quota mutations, with history's scopes. */
export function usageOperations(db: Db) {
  return {
    /** A user's usage in every UTC day or month that [from, to) touches, oldest first (zeros where none). */
    async usage(ctx: Context, userId: number, from: Date, to: Date, granularity: Granularity) {
      const user = await findUser(db, { id: userId }, resellerScope(ctx.principal))
      if (!user) throw new ApiError('USER_NOT_FOUND', 'User not found')
      const starts = periodStarts(from, to, granularity)
      const { table, column } = ROLLUPS[granularity]
      const { rows } = await sql<RollupRow & { period: string }>`
        select ${sql.ref(column)}::text as period, input_octets::text, output_octets::text, session_time::text, sessions
        from ${sql.table(table)}
        where user_id = ${userId} and ${sql.ref(column)} between ${starts[0]!}::date and ${starts.at(-1)!}::date`.execute(
        db,
      )
      const byPeriod = new Map(rows.map((row) => [row.period, row]))
      const none: RollupRow = { input_octets: '0', output_octets: '0', session_time: '0', sessions: 0 }
      return starts.map((start) => ({ start: new Date(`${start}T00:00:00Z`), ...amounts(byPeriod.get(start) ?? none) }))
    },

    /** The heaviest users of a day or a month, by traffic or by time (index order, no full scan). */
    async topUsers(ctx: Context, by: UsageOrder, period: string, first: number | null | undefined) {
      const { granularity, start } = parsePeriod(period, 'period')
      const limit = first ?? 10
      if (!Number.isInteger(limit) || limit < 1 || limit > MAX_TOP) throw badInput(`first: from 1 to ${MAX_TOP}`)
      const { table, column } = ROLLUPS[granularity]
      const order = by === 'OCTETS' ? sql`(r.input_octets + r.output_octets) desc` : sql`r.session_time desc`
      const reseller = resellerScope(ctx.principal)
      const { rows } = await sql<RollupRow & { id: number; username: string; reseller: string | null }>`
        select u.id, u.username, rs.name as reseller, r.input_octets::text, r.output_octets::text,
          r.session_time::text, r.sessions
        from ${sql.table(table)} r
        join users u on u.id = r.user_id
        left join resellers rs on rs.id = u.reseller_id
        where ${sql.ref(`r.${column}`)} = ${start}::date
          ${reseller === undefined ? sql`` : sql`and u.reseller_id = ${reseller}`}
        order by ${order}, u.id
        limit ${limit}`.execute(db)
      return rows.map((row) => ({
        user: { id: row.id, username: row.username, reseller: row.reseller },
        ...amounts(row),
      }))
    },

    /**
     * Users at or past their monthly quota (their own, else their realm's) in a month, the heaviest
     * first: of the month's crossings (the sessionizer's, and those setQuota records), those still
     * past the quota that applies now. Reads a row per user who passed a quota, not per user.
     */
    async usersOverQuota(ctx: Context, month: string | null | undefined) {
      const { granularity, start } = parsePeriod(month ?? currentMonth(), 'month')
      if (granularity !== 'MONTH') throw badInput('month: expected a month (YYYY-MM)')
      const reseller = resellerScope(ctx.principal)
      const { rows } = await sql<
        RollupRow & { id: number; username: string; reseller: string | null; quota: string; crossed_at: Date | null }
      >`
        select u.id, u.username, rs.name as reseller, m.input_octets::text, m.output_octets::text,
          m.session_time::text, m.sessions, q.monthly_octets::text as quota, c.crossed_at
        from quota_crossings c
        join usage_monthly m on m.user_id = c.user_id and m.month = c.month
        join users u on u.id = m.user_id
        left join resellers rs on rs.id = u.reseller_id
        cross join lateral (
          select ${effectiveMonthlyQuota(sql.ref('u.id'), sql.ref('u.username'))} as monthly_octets
        ) q
        where c.month = ${start}::date and q.monthly_octets is not null
          and m.input_octets + m.output_octets >= q.monthly_octets
          ${reseller === undefined ? sql`` : sql`and u.reseller_id = ${reseller}`}
        order by m.input_octets + m.output_octets desc, u.id`.execute(db)
      return rows.map((row) => ({
        user: { id: row.id, username: row.username, reseller: row.reseller },
        monthlyOctets: row.quota,
        crossedAt: row.crossed_at,
        ...amounts(row),
      }))
    },

    /** Sets (or replaces) the monthly octet quota of one user or of a realm; audited. */
    async setQuota(ctx: Context, target: { userId?: number | null; realm?: string | null }, monthlyOctets: string) {
      const octets = parseOctets(monthlyOctets)
      const scope = await quotaScope(db, target)
      return db.transaction().execute(async (tx) => {
        const before = await tx
          .selectFrom('usage_quotas')
          .select('monthly_octets')
          .where(scope.column, '=', String(scope.value))
          .executeTakeFirst()
        await tx
          .insertInto('usage_quotas')
          .values({ [scope.column]: scope.value, monthly_octets: octets })
          .onConflict((oc) => oc.column(scope.column).doUpdateSet({ monthly_octets: octets }))
          .execute()
        // Users already past it in any month: their crossing, with no time (usersOverQuota reads crossings).
        await sql`
          insert into quota_crossings (user_id, month, monthly_octets, crossed_at)
          select m.user_id, m.month, q.monthly_octets, null
          from users u
          join usage_monthly m on m.user_id = u.id
          cross join lateral (
            select ${effectiveMonthlyQuota(sql.ref('u.id'), sql.ref('u.username'))} as monthly_octets
          ) q
          where ${scope.column === 'user_id' ? sql`u.id = ${scope.value}` : sql`lower(split_part(u.username, '@', 2)) = ${scope.value}`}
            and q.monthly_octets is not null and m.input_octets + m.output_octets >= q.monthly_octets
          on conflict do nothing`.execute(tx)
        await insertAuditEvents(tx, [
          quotaEvent(ctx, scope, before ? 'UPDATE' : 'CREATE', before?.monthly_octets ?? null, octets),
        ])
        return {
          userId: scope.column === 'user_id' ? scope.value : null,
          realm: scope.column === 'realm' ? scope.value : null,
          monthlyOctets: octets,
        }
      })
    },

    /** Removes a quota; false when there was none. Audited. */
    async removeQuota(ctx: Context, target: { userId?: number | null; realm?: string | null }) {
      const scope = await quotaScope(db, target)
      return db.transaction().execute(async (tx) => {
        const removed = await tx
          .deleteFrom('usage_quotas')
          .where(scope.column, '=', String(scope.value))
          .returning('monthly_octets')
          .executeTakeFirst()
        if (!removed) return false
        await insertAuditEvents(tx, [quotaEvent(ctx, scope, 'DELETE', removed.monthly_octets, null)])
        return true
      })
    },
  }
}

type QuotaScope = Awaited<ReturnType<typeof quotaScope>>

/** A quota set, changed or removed: the audit event, with the API client as initiator. */
function quotaEvent(
  ctx: Context,
  scope: QuotaScope,
  operation: 'CREATE' | 'UPDATE' | 'DELETE',
  oldValue: string | null,
  newValue: string | null,
) {
  return initiatedEvent(apiInitiator(ctx), {
    key: `quota.${operation === 'DELETE' ? 'removed' : 'set'}.${scope.column}.${scope.value}`,
    operation,
    entityType: scope.column === 'user_id' ? 'USER' : 'RESELLER',
    entityId: String(scope.value),
    entityName: scope.name,
    description:
      newValue === null
        ? `Monthly quota of ${scope.name} removed`
        : `Monthly quota of ${scope.name} set to ${newValue} octets`,
    fields: [{ name: 'monthlyOctets', oldValue, newValue }],
  })
}

/** Whose quota: exactly one of a user (who must exist) and a realm (the part after @). */
async function quotaScope(
  db: Db,
  target: { userId?: number | null; realm?: string | null },
): Promise<{ column: 'user_id'; value: number; name: string } | { column: 'realm'; value: string; name: string }> {
  const hasUser = target.userId !== undefined && target.userId !== null
  const hasRealm = target.realm !== undefined && target.realm !== null
  if (hasUser === hasRealm) throw badInput('userId, realm: give exactly one')
  if (hasUser) {
    const user = await findUser(db, { id: target.userId! }, undefined)
    if (!user) throw new ApiError('USER_NOT_FOUND', 'User not found')
    return { column: 'user_id', value: user.id, name: user.username }
  }
  const realm = target.realm!.trim().toLowerCase()
  if (!realm || realm.includes('@') || realm.length > 200)
    throw badInput('realm: give the part after @, e.g. example.net')
  return { column: 'realm', value: realm, name: `realm ${realm}` }
}
