import { readFile } from 'node:fs/promises'
import path from 'node:path'
import type { FastifyPluginAsync, FastifyReply } from 'fastify'
import fastifyStatic from '@fastify/static'

export interface ConsoleRouteOptions {
  /** The console's build: index.html and assets/ (scripts/build.mjs writes dist/console). */
  readonly dir: string
}

/**
 * The page may load only its own scripts and styles and talk only to this API (ws: for the
 * sessionEvents subscription); uPlot and preact set element styles from script, which
 * 'unsafe-inline' for styles allows, while inline scripts stay refused.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "connect-src 'self' ws: wss:",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ')

/**
 * The operator console at /console: hashed assets cached for a year, and index.html (never cached,
 * so a new build is picked up at the next load) for every other path below /console, where the
 * page's router takes over. The page reads everything through the public GraphQL and REST APIs.
 */
export const consoleRoute: FastifyPluginAsync<ConsoleRouteOptions> = async (app, options) => {
  const indexFile = path.join(options.dir, 'index.html')
  const index = await readFile(indexFile, 'utf8').catch(() => {
    throw new Error(`the console is not built: no ${indexFile} (npm run build writes it; CONSOLE_DIR sets the folder)`)
  })
  await app.register(fastifyStatic, {
    root: path.join(options.dir, 'assets'),
    prefix: '/console/assets/',
    immutable: true,
    maxAge: '365d',
    index: false,
    wildcard: true,
  })
  const page = async (_request: unknown, reply: FastifyReply) =>
    reply
      .header('cache-control', 'no-cache')
      .header('content-security-policy', CONTENT_SECURITY_POLICY)
      .header('x-content-type-options', 'nosniff')
      .type('text/html; charset=utf-8')
      .send(index)
  app.get('/console', { schema: { hide: true } }, page)
  app.get('/console/*', { schema: { hide: true } }, page)
}
