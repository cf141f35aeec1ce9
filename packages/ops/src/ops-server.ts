import { createServer, type Server } from 'node:http'
import type { Registry } from 'prom-client'

export interface OpsServerDeps {
  /** The process's Prometheus registry. */
  readonly registry: Registry
  /** Whether the process does its job now (the collector: it would answer a NAS). */
  readonly ready: () => boolean
}

/**
 * A service's operations endpoints: GET /metrics (Prometheus text), /healthz (the process runs)
 * and /readyz (it does its job now). A bare node:http server: no framework beside the data path.
 */
export function startOpsServer(host: string, port: number, deps: OpsServerDeps): Promise<Server> {
  const server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0]
    if (request.method !== 'GET') {
      response.writeHead(405, { allow: 'GET' }).end()
    } else if (path === '/metrics') {
      deps.registry.metrics().then(
        (text) => response.writeHead(200, { 'content-type': deps.registry.contentType }).end(text),
        (error: Error) => response.writeHead(500, { 'content-type': 'text/plain' }).end(error.message),
      )
    } else if (path === '/healthz') {
      response.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}')
    } else if (path === '/readyz') {
      const ready = deps.ready()
      response
        .writeHead(ready ? 200 : 503, { 'content-type': 'application/json' })
        .end(JSON.stringify({ status: ready ? 'ready' : 'not ready' }))
    } else {
      response.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}')
    }
  })
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      resolve(server)
    })
  })
}
