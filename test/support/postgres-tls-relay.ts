import { readFileSync } from 'node:fs'
import { createConnection, createServer, type AddressInfo, type Server, type Socket } from 'node:net'
import { TLSSocket } from 'node:tls'

/** PostgreSQL's SSLRequest: length 8, then the magic code 80877103. */
const SSL_REQUEST = Buffer.from([0, 0, 0, 8, 4, 210, 22, 47])

export interface PostgresTlsRelay {
  readonly port: number
  /** Connections that asked for TLS and completed the handshake. */
  readonly tlsSessions: number
  close(): Promise<void>
}

/**
 * A TLS front for the machine's PostgreSQL, as pgbouncer or a cloud proxy would be: it answers a
 * client's SSLRequest with 'S', completes the TLS handshake with the given certificate and passes
 * the decrypted protocol to PostgreSQL on `target`. A client that does not ask for TLS is refused.
 * Tests use it to see `sslmode` verify what it says, without reconfiguring the server itself.
 */
export async function startPostgresTlsRelay(options: {
  certFile: string
  keyFile: string
  target: { host: string; port: number }
}): Promise<PostgresTlsRelay> {
  const cert = readFileSync(options.certFile)
  const key = readFileSync(options.keyFile)
  let tlsSessions = 0
  const sockets = new Set<Socket>()
  const server: Server = createServer((client) => {
    sockets.add(client)
    client.on('close', () => sockets.delete(client))
    client.once('data', (first: Buffer) => {
      if (!first.subarray(0, 8).equals(SSL_REQUEST)) {
        client.destroy()
        return
      }
      client.write('S')
      const secure = new TLSSocket(client, { isServer: true, cert, key })
      secure.once('secure', () => {
        tlsSessions++
        const upstream = createConnection(options.target)
        sockets.add(upstream)
        upstream.on('close', () => sockets.delete(upstream))
        secure.pipe(upstream).pipe(secure)
        upstream.on('error', () => secure.destroy())
      })
      secure.on('error', () => client.destroy())
    })
    client.on('error', () => undefined)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as AddressInfo).port,
    get tlsSessions() {
      return tlsSessions
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy()
        server.close(() => resolve())
      }),
  }
}
