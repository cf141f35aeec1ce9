import { sql, type RawBuilder } from 'kysely'

/**
 * The monthly octet quota that applies to a user (null: none): its own, else its realm's, the
 * realm being the part of the username after @, in lower case. Given the SQL of the user's id and
 * username, so the sessionizer's quota check and the API's usersOverQuota apply the one rule.
 */
export function effectiveMonthlyQuota(
  userId: RawBuilder<unknown>,
  username: RawBuilder<unknown>,
): RawBuilder<string | null> {
  return sql<string | null>`coalesce(
    (select monthly_octets from usage_quotas where user_id = ${userId}),
    (select monthly_octets from usage_quotas where realm = nullif(lower(split_part(${username}, '@', 2)), '')))`
}
