import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { run } from './run'

export interface CertificateAuthority {
  /** PEM certificate of the CA: what a client puts in KAFKA_TLS_CA_FILE. */
  readonly caFile: string
  readonly caKeyFile: string
}

export interface ServerKeystore {
  /** PKCS#12 keystore with the server's key, its certificate and the CA's. */
  readonly keystoreFile: string
  readonly password: string
  /** The same certificate and key as PEM, for servers that read PEM. */
  readonly certFile: string
  readonly keyFile: string
}

/** A self-signed CA made with openssl in `dir`, once: later calls reuse it. */
export async function ensureCertificateAuthority(dir: string, name: string): Promise<CertificateAuthority> {
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  const caFile = path.join(dir, 'ca.crt')
  const caKeyFile = path.join(dir, 'ca.key')
  if (!existsSync(caFile) || !existsSync(caKeyFile)) {
    await run('openssl', [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', '3650',
      '-keyout', caKeyFile, '-out', caFile, '-subj', `/CN=${name}`,
    ]) // prettier-ignore
  }
  return { caFile, caKeyFile }
}

/**
 * A server certificate for the loopback addresses (IP 127.0.0.1 and ::1, DNS localhost), signed by
 * `ca`, and a PKCS#12 keystore of it for Java servers such as the Kafka broker. Made once in `dir`.
 */
export async function ensureServerKeystore(dir: string, ca: CertificateAuthority): Promise<ServerKeystore> {
  const keystoreFile = path.join(dir, 'server.p12')
  const passwordFile = path.join(dir, 'server.p12.password')
  const certFile = path.join(dir, 'server.crt')
  const keyFile = path.join(dir, 'server.key')
  if (!existsSync(keystoreFile) || !existsSync(passwordFile)) {
    const csr = path.join(dir, 'server.csr')
    const extensions = path.join(dir, 'server.ext')
    // keyUsage as well as extendedKeyUsage: OpenVPN's remote-cert-tls server checks both.
    writeFileSync(
      extensions,
      'subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost\nextendedKeyUsage=serverAuth\nkeyUsage=digitalSignature,keyEncipherment\n',
    )
    await run('openssl', [
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      keyFile,
      '-out',
      csr,
      '-subj',
      '/CN=localhost',
    ])
    await run('openssl', [
      'x509', '-req', '-sha256', '-days', '825', '-in', csr, '-CA', ca.caFile, '-CAkey', ca.caKeyFile,
      '-CAcreateserial', '-out', certFile, '-extfile', extensions,
    ]) // prettier-ignore
    const password = randomBytes(18).toString('base64url')
    await run('openssl', [
      'pkcs12', '-export', '-in', certFile, '-inkey', keyFile, '-certfile', ca.caFile,
      '-name', 'server', '-out', keystoreFile, '-passout', `pass:${password}`,
    ]) // prettier-ignore
    writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 })
  }
  return { keystoreFile, password: readFileSync(passwordFile, 'utf8').trim(), certFile, keyFile }
}
