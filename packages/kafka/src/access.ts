import { withAdmin } from './admin'
import { createKafka, type KafkaClientOptions } from './client'
import { errorChain } from './errors'

/**
 * Kafka refused radstream for a reason no retry can mend: a wrong password, an untrusted or
 * misnamed certificate, TLS spoken to a plaintext port. The message is one line that says which.
 */
export class KafkaAccessError extends Error {
  override readonly name = 'KafkaAccessError'
  readonly code = 'RADSTREAM_KAFKA_ACCESS'
  /** sysexits' EX_NOPERM: a supervisor can tell "fix the credentials" from a crash. */
  readonly exitCode = 77
}

/** Node's codes for a certificate chain it cannot trust. */
const UNTRUSTED = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
])
const EXPIRED = new Set(['CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID'])

/** The one-line reason when `error` is one a retry cannot mend; undefined otherwise. */
export function accessFailure(error: unknown, options: KafkaClientOptions): string | undefined {
  const links = errorChain(error)
  const at =
    links.map((l) => /^Connection to (\S+) failed/.exec(l.message ?? '')?.[1]).find(Boolean) ??
    options.brokers.join(',')
  const sasl = links.find((l) => l.code === 'PLT_KFK_AUTHENTICATION')
  if (sasl && options.sasl) {
    const server = links.map((l) => (l as { serverErrorMessage?: unknown }).serverErrorMessage).find(Boolean)
    const reason = typeof server === 'string' ? server : (links.at(-1)?.message ?? sasl.message)
    return `Kafka rejected the SASL ${options.sasl.mechanism.toUpperCase()} login of user "${options.sasl.username}" at ${at}: wrong username or password, or the mechanism is not enabled (${reason})`
  }
  const code = links
    .map((l) => l.code)
    .find((c) => c !== undefined && (UNTRUSTED.has(c) || EXPIRED.has(c) || c === 'ERR_TLS_CERT_ALTNAME_INVALID'))
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return `Kafka broker ${at} presented a TLS certificate for another name (${code}): the address in KAFKA_BROKERS must be one the certificate names`
  }
  if (code !== undefined && EXPIRED.has(code))
    return `Kafka broker ${at} presented an expired or not yet valid TLS certificate (${code})`
  if (code !== undefined) {
    return `Kafka broker ${at} presented a TLS certificate that is not trusted (${code}): ${options.tls?.ca ? 'it is not signed by the CA in KAFKA_TLS_CA_FILE' : 'set KAFKA_TLS_CA_FILE to the CA that signed it'}`
  }
  const handshake = links.find((l) =>
    /wrong version number|packet length too long|unknown protocol|SSL routines|before secure TLS connection/i.test(
      l.message ?? '',
    ),
  )
  if (handshake && options.tls) {
    return `Kafka broker ${at} does not speak TLS on this port (${handshake.message}): point KAFKA_BROKERS at its SSL or SASL_SSL listener, or unset KAFKA_TLS`
  }
  return undefined
}

/**
 * Connects once, without retries, and throws KafkaAccessError when the brokers refuse radstream's
 * credentials or certificate: without this a process would retry a login that can never succeed
 * and log it for ever. Any other failure (a broker down, say) is left to the caller's own retries
 * and waits.
 */
export async function verifyKafkaAccess(options: Omit<KafkaClientOptions, 'clientId'>): Promise<void> {
  const clientOptions = { ...options, clientId: 'radstream-access-check', retries: 0 }
  try {
    await withAdmin(createKafka(clientOptions), (admin) => admin.brokers(), 0)
  } catch (error) {
    const failure = accessFailure(error, clientOptions)
    if (failure) throw new KafkaAccessError(failure)
  }
}
