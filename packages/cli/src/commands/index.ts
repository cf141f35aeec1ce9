export interface Command {
  readonly summary: string
  run(args: readonly string[]): Promise<void>
}

type CommandRunner = (args: readonly string[]) => Promise<void>

/** Each command's module loads only when it runs: `nas list` need not load Fastify or the Kafka client. */
function lazy(summary: string, load: () => Promise<CommandRunner>): Command {
  return { summary, run: async (args) => (await load())(args) }
}

export const commands: Readonly<Record<string, Command>> = {
  up: lazy(
    'ensure the local stack, migrate, and run collector, sessionizer and api together',
    async () => (await import('./up')).runUp,
  ),
  collector: lazy('run the UDP accounting collector (RADIUS -> Kafka)', async () =>
    (await import('./service')).serviceRunner('collector'),
  ),
  sessionizer: lazy('run the sessionizer (Kafka -> PostgreSQL sessions)', async () =>
    (await import('./service')).serviceRunner('sessionizer'),
  ),
  api: lazy('run the HTTP API (GraphQL)', async () => (await import('./service')).serviceRunner('api')),
  migrate: lazy(
    'create the database if missing and apply pending migrations',
    async () => (await import('./migrate')).runMigrate,
  ),
  nas: lazy(
    'add|list|remove NAS clients (address or CIDR and shared secret)',
    async () => (await import('./nas')).runNas,
  ),
  session: lazy(
    'disconnect|change <id>: end or change a live session at its NAS (RFC 5176 Disconnect / CoA)',
    async () => (await import('./session')).runSession,
  ),
  client: lazy(
    'create|list|rotate|revoke OAuth API clients (client credentials)',
    async () => (await import('./client')).runClient,
  ),
  audit: lazy(
    'verify [--from --to]: recompute the audit hash chain and report the first broken link',
    async () => (await import('./audit')).runAudit,
  ),
  export: lazy(
    'sessions|audit --from --to [--format ndjson|csv] [--output f] [--gzip]: stream rows for billing or a SIEM',
    async () => (await import('./export')).runExport,
  ),
  doctor: lazy(
    'check configuration, Kafka topics, PostgreSQL (migrations, role, NAS, clock) and the UDP buffer [--json]',
    async () => (await import('./doctor')).runDoctor,
  ),
  stack: lazy(
    'up|down: start (idempotently) or stop the local Kafka broker and PostgreSQL database',
    async () => (await import('./stack')).runStack,
  ),
}

export function usage(): string {
  const lines = Object.entries(commands).map(([name, command]) => `  ${name.padEnd(12)} ${command.summary}`)
  return `Usage: radstream <command> [options]\n\nCommands:\n${lines.join('\n')}\n\nSettings come from environment variables; see docs/configuration.md.\n`
}
