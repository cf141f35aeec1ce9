import { createHash } from 'node:crypto'
import type { AccountingRecord } from '@radstream/events'

/**
 * FreeRADIUS's Acct-Unique-Session-Id (raddb/policy.d/accounting, acct_unique):
 * md5("User-Name,Acct-Session-Id,NAS-IPv6-Address or NAS-IP-Address,NAS-Identifier,NAS-Port-Id,NAS-Port").
 * Acct-Session-Id alone is unique only per NAS, so the NAS and port take part.
 */
export function sessionKey({ accounting: a }: Pick<AccountingRecord, 'accounting'>): string {
  const parts = [
    a.userName ?? '',
    a.sessionId,
    a.nasIpv6Address ?? a.nasIpAddress ?? '',
    a.nasIdentifier ?? '',
    a.nasPortId ?? '',
    a.nasPort === undefined ? '' : String(a.nasPort),
  ]
  return createHash('md5').update(parts.join(',')).digest('hex')
}
