import { startFreeradius, type RunningFreeradius } from './freeradius'

/** Acct-Session-Ids the peer knows: it ACKs requests for these and NAKs (503) all others. */
export const KNOWN_SESSION_PREFIX = 'live-'

export interface DaePeer extends RunningFreeradius {
  /** Answers requests signed with `secret`. */
  readonly port: number
  /** Shares another secret with radstream: it drops radstream's requests, as a NAS would. */
  readonly wrongSecretPort: number
}

/**
 * The site a NAS's Dynamic Authorization server runs, as FreeRADIUS 3.2 does it (sites-available/coa):
 * Disconnect-ACK / CoA-ACK for a known session, NAK with Error-Cause 503 for an unknown one, and
 * 402 Missing-Attribute for a request that does not say which session on which NAS.
 */
function daeSite(secret: string, port: number, wrongSecretPort: number): string {
  return `
modules {
  always ok {
    rcode = ok
  }
  always reject {
    rcode = reject
  }
}
client radstream {
  ipaddr = 127.0.0.1
  secret = ${secret}
  require_message_authenticator = yes
}
clients other_secret {
  client radstream {
    ipaddr = 127.0.0.1
    secret = ${secret}-but-not-quite
  }
}
listen {
  type = coa
  ipaddr = 127.0.0.1
  port = ${port}
  virtual_server = nas
}
listen {
  type = coa
  ipaddr = 127.0.0.1
  port = ${wrongSecretPort}
  virtual_server = nas
  clients = other_secret
}
server nas {
  recv-coa {
    if (!&User-Name || !&Acct-Session-Id || !(&NAS-IP-Address || &NAS-IPv6-Address || &NAS-Identifier) || !&Event-Timestamp) {
      update reply {
        &Error-Cause := Missing-Attribute
      }
      reject
    }
    elsif (&Acct-Session-Id =~ /^${KNOWN_SESSION_PREFIX}/) {
      ok
    }
    else {
      update reply {
        &Error-Cause := Session-Context-Not-Found
      }
      reject
    }
  }
  send-coa {
    ok
  }
}
`
}

/** Starts Debian's FreeRADIUS as a Dynamic Authorization server on loopback; throws if it cannot. */
export async function startDaePeer(options: {
  secret: string
  port: number
  wrongSecretPort: number
}): Promise<DaePeer> {
  const freeradius = await startFreeradius('dae-peer', () =>
    daeSite(options.secret, options.port, options.wrongSecretPort),
  )
  return { port: options.port, wrongSecretPort: options.wrongSecretPort, ...freeradius }
}
