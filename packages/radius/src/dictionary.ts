/**
 * The one attribute dictionary of radstream: RFC 2865, 2866, 2869, 3162, 4818, 5997 and 6911
 * attributes that accounting packets carry. Dynamic Authorization's own attributes (RFC 5176) are
 * read and written by packages/dae, so that adding them never changes what an Accounting-Request decodes to. Anything else is kept raw (type + bytes) by the decoder.
 */

export type AttributeValueType =
  | 'text' // UTF-8 string
  | 'string' // opaque octets
  | 'integer' // 32-bit unsigned, network order
  | 'ipaddr' // 4 octets
  | 'ipv6addr' // 16 octets
  | 'ipv6prefix' // reserved, prefix-length, 0..16 prefix octets (RFC 3162)
  | 'ifid' // 8 octets interface id (RFC 3162)
  | 'date' // 32-bit seconds since the Unix epoch
  | 'vsa' // vendor id (4 octets) + vendor data

export interface AttributeDefinition {
  readonly type: number
  readonly name: string
  readonly valueType: AttributeValueType
}

const definitions: readonly AttributeDefinition[] = [
  { type: 1, name: 'User-Name', valueType: 'text' },
  { type: 4, name: 'NAS-IP-Address', valueType: 'ipaddr' },
  { type: 5, name: 'NAS-Port', valueType: 'integer' },
  { type: 6, name: 'Service-Type', valueType: 'integer' },
  { type: 7, name: 'Framed-Protocol', valueType: 'integer' },
  { type: 8, name: 'Framed-IP-Address', valueType: 'ipaddr' },
  { type: 9, name: 'Framed-IP-Netmask', valueType: 'ipaddr' },
  { type: 18, name: 'Reply-Message', valueType: 'text' },
  { type: 25, name: 'Class', valueType: 'string' },
  { type: 26, name: 'Vendor-Specific', valueType: 'vsa' },
  { type: 27, name: 'Session-Timeout', valueType: 'integer' },
  { type: 28, name: 'Idle-Timeout', valueType: 'integer' },
  { type: 30, name: 'Called-Station-Id', valueType: 'text' },
  { type: 31, name: 'Calling-Station-Id', valueType: 'text' },
  { type: 32, name: 'NAS-Identifier', valueType: 'text' },
  { type: 40, name: 'Acct-Status-Type', valueType: 'integer' },
  { type: 41, name: 'Acct-Delay-Time', valueType: 'integer' },
  { type: 42, name: 'Acct-Input-Octets', valueType: 'integer' },
  { type: 43, name: 'Acct-Output-Octets', valueType: 'integer' },
  { type: 44, name: 'Acct-Session-Id', valueType: 'text' },
  { type: 45, name: 'Acct-Authentic', valueType: 'integer' },
  { type: 46, name: 'Acct-Session-Time', valueType: 'integer' },
  { type: 47, name: 'Acct-Input-Packets', valueType: 'integer' },
  { type: 48, name: 'Acct-Output-Packets', valueType: 'integer' },
  { type: 49, name: 'Acct-Terminate-Cause', valueType: 'integer' },
  { type: 50, name: 'Acct-Multi-Session-Id', valueType: 'text' },
  { type: 51, name: 'Acct-Link-Count', valueType: 'integer' },
  { type: 52, name: 'Acct-Input-Gigawords', valueType: 'integer' },
  { type: 53, name: 'Acct-Output-Gigawords', valueType: 'integer' },
  { type: 55, name: 'Event-Timestamp', valueType: 'date' },
  { type: 61, name: 'NAS-Port-Type', valueType: 'integer' },
  { type: 77, name: 'Connect-Info', valueType: 'text' },
  { type: 80, name: 'Message-Authenticator', valueType: 'string' },
  { type: 85, name: 'Acct-Interim-Interval', valueType: 'integer' },
  { type: 87, name: 'NAS-Port-Id', valueType: 'text' },
  { type: 95, name: 'NAS-IPv6-Address', valueType: 'ipv6addr' },
  { type: 96, name: 'Framed-Interface-Id', valueType: 'ifid' },
  { type: 97, name: 'Framed-IPv6-Prefix', valueType: 'ipv6prefix' },
  { type: 123, name: 'Delegated-IPv6-Prefix', valueType: 'ipv6prefix' },
  { type: 168, name: 'Framed-IPv6-Address', valueType: 'ipv6addr' },
]

export const attributeByType: ReadonlyMap<number, AttributeDefinition> = new Map(definitions.map((d) => [d.type, d]))

export const attributeByName: ReadonlyMap<string, AttributeDefinition> = new Map(definitions.map((d) => [d.name, d]))

/** Acct-Status-Type (40) values, RFC 2866 section 5.1 and RFC 2867. */
export const acctStatusTypes: ReadonlyMap<number, string> = new Map([
  [1, 'Start'],
  [2, 'Stop'],
  [3, 'Interim-Update'],
  [7, 'Accounting-On'],
  [8, 'Accounting-Off'],
  [9, 'Tunnel-Start'],
  [10, 'Tunnel-Stop'],
  [11, 'Tunnel-Reject'],
  [12, 'Tunnel-Link-Start'],
  [13, 'Tunnel-Link-Stop'],
  [14, 'Tunnel-Link-Reject'],
  [15, 'Failed'],
])

/** Acct-Terminate-Cause (49) values, RFC 2866 section 5.10 and RFC 3580. */
export const terminateCauses: ReadonlyMap<number, string> = new Map([
  [1, 'User-Request'],
  [2, 'Lost-Carrier'],
  [3, 'Lost-Service'],
  [4, 'Idle-Timeout'],
  [5, 'Session-Timeout'],
  [6, 'Admin-Reset'],
  [7, 'Admin-Reboot'],
  [8, 'Port-Error'],
  [9, 'NAS-Error'],
  [10, 'NAS-Request'],
  [11, 'NAS-Reboot'],
  [12, 'Port-Unneeded'],
  [13, 'Port-Preempted'],
  [14, 'Port-Suspended'],
  [15, 'Service-Unavailable'],
  [16, 'Callback'],
  [17, 'User-Error'],
  [18, 'Host-Request'],
  [19, 'Supplicant-Restart'],
  [20, 'Reauthentication-Failure'],
  [21, 'Port-Reinit'],
  [22, 'Port-Disabled'],
])

/** NAS-Port-Type (61) values, RFC 2865 section 5.41, RFC 4603 and the IANA registry. */
export const nasPortTypes: ReadonlyMap<number, string> = new Map([
  [0, 'Async'],
  [1, 'Sync'],
  [2, 'ISDN'],
  [3, 'ISDN-V120'],
  [4, 'ISDN-V110'],
  [5, 'Virtual'],
  [6, 'PIAFS'],
  [7, 'HDLC-Clear-Channel'],
  [8, 'X.25'],
  [9, 'X.75'],
  [10, 'G.3-Fax'],
  [11, 'SDSL'],
  [12, 'ADSL-CAP'],
  [13, 'ADSL-DMT'],
  [14, 'IDSL'],
  [15, 'Ethernet'],
  [16, 'xDSL'],
  [17, 'Cable'],
  [18, 'Wireless-Other'],
  [19, 'Wireless-802.11'],
  [20, 'Token-Ring'],
  [21, 'FDDI'],
  [22, 'Wireless-CDMA2000'],
  [23, 'Wireless-UMTS'],
  [24, 'Wireless-1X-EV'],
  [25, 'IAPP'],
  [26, 'FTTP'],
  [27, 'Wireless-802.16'],
  [28, 'Wireless-802.20'],
  [29, 'Wireless-802.22'],
  [30, 'PPPoA'],
  [31, 'PPPoEoA'],
  [32, 'PPPoEoE'],
  [33, 'PPPoEoVLAN'],
  [34, 'PPPoEoQinQ'],
  [35, 'xPON'],
  [36, 'Wireless-XGP'],
  [37, 'WiMAX-Pre-Release-8-IWK-Function'],
  [38, 'WIMAX-WIFI-IWK'],
  [39, 'WIMAX-SFF'],
  [40, 'WIMAX-HA-LMA'],
  [41, 'WIMAX-DHCP'],
  [42, 'WIMAX-LBS'],
  [43, 'WIMAX-WVS'],
])

/** Error-Cause (101) values of a Disconnect- or CoA-NAK, RFC 5176 section 3.6. */
export const errorCauses: ReadonlyMap<number, string> = new Map([
  [201, 'Residual-Session-Context-Removed'],
  [202, 'Invalid-EAP-Packet'],
  [401, 'Unsupported-Attribute'],
  [402, 'Missing-Attribute'],
  [403, 'NAS-Identification-Mismatch'],
  [404, 'Invalid-Request'],
  [405, 'Unsupported-Service'],
  [406, 'Unsupported-Extension'],
  [407, 'Invalid-Attribute-Value'],
  [501, 'Administratively-Prohibited'],
  [502, 'Request-Not-Routable'],
  [503, 'Session-Context-Not-Found'],
  [504, 'Session-Context-Not-Removable'],
  [505, 'Other-Proxy-Processing-Error'],
  [506, 'Resources-Unavailable'],
  [507, 'Request-Initiated'],
  [508, 'Multiple-Session-Selection-Unsupported'],
])

/** The name of an enumerated value, or its number as text when the dictionary does not know it. */
export function enumName(table: ReadonlyMap<number, string>, value: number): string {
  return table.get(value) ?? String(value)
}
