import { createHash } from 'node:crypto'
import type { AccountingRecord } from '@radstream/events'

/** A Class that FreeRADIUS's insert_acct_class put in the Access-Accept: `ai:` and 32 hex digits. */
const ACCT_CLASS = /^ai:([0-9a-f]{32})/i

const md5 = (text: string) => createHash('md5').update(text).digest('hex')

/**
 * FreeRADIUS's Acct-Unique-Session-Id (raddb/policy.d/accounting, acct_unique). When the NAS echoes
 * a Class of the form `ai:<32 hex>` (set at authentication, so unique per login), it is
 * md5("<32 hex>,Acct-Session-Id"): the session stays one row even if the NAS reports another port
 * or address for it. Else md5("User-Name,Acct-Session-Id,NAS-IPv6-Address or NAS-IP-Address,
 * NAS-Identifier,NAS-Port-Id,NAS-Port"): Acct-Session-Id alone is unique only per NAS, so the NAS
 * and port take part.
 */
export function sessionKey({ accounting: a }: Pick<AccountingRecord, 'accounting'>): string {
  for (const value of a.classes) {
    const acctClass = ACCT_CLASS.exec(Buffer.from(value, 'base64').toString('latin1'))
    if (acctClass) return md5(`${acctClass[1]},${a.sessionId}`)
  }
  return md5(
    [
      a.userName ?? '',
      a.sessionId,
      a.nasIpv6Address ?? a.nasIpAddress ?? '',
      a.nasIdentifier ?? '',
      a.nasPortId ?? '',
      a.nasPort === undefined ? '' : String(a.nasPort),
    ].join(','),
  )
}
