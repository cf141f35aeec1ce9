export interface Command {
  readonly summary: string
  /** What `radstream <command> --help` prints. */
  readonly usage: string
  run(args: readonly string[]): Promise<void>
}

type CommandRunner = (args: readonly string[]) => Promise<void>

/** Each command's module loads only when it runs: `nas list` need not load Fastify or the Kafka client. */
function lazy(summary: string, usage: readonly string[], load: () => Promise<CommandRunner>): Command {
  return { summary, usage: usage.join('\n'), run: async (args) => (await load())(args) }
}

const serviceUsage = (name: string, what: string) => [
  `usage: radstream ${name}`,
  `  ${what}; settings from environment variables (docs/configuration.md).`,
  '  Drains in-flight work on SIGINT or SIGTERM.',
]

export const commands: Readonly<Record<string, Command>> = {
  up: lazy(
    'migrate, then run collector, sessionizer and api together [--local: start this machine’s stack first]',
    [
      'usage: radstream up [--local]',
      '  migrates the database, then runs collector, sessionizer and api, one process each, in the foreground.',
      "  --local  first make this machine's stack ready: start PostgreSQL (installing it when missing, allowing",
      '           trust on loopback) and loopback Kafka brokers; for a development machine (npm start passes it).',
      '           Without it nothing on the host is installed or started: PostgreSQL (DATABASE_URL) and Kafka',
      '           (KAFKA_BROKERS) must already answer. RADSTREAM_LOCAL_STACK=1 does the same as --local.',
    ],
    async () => (await import('./up')).runUp,
  ),
  collector: lazy(
    'run the UDP accounting collector (RADIUS -> Kafka)',
    serviceUsage('collector', 'receives RADIUS accounting on UDP and answers once Kafka has the record'),
    async () => (await import('./service')).serviceRunner('collector'),
  ),
  sessionizer: lazy(
    'run the sessionizer (Kafka -> PostgreSQL sessions)',
    serviceUsage('sessionizer', 'builds sessions and audit events in PostgreSQL from the Kafka topic'),
    async () => (await import('./service')).serviceRunner('sessionizer'),
  ),
  api: lazy(
    'run the HTTP API (GraphQL, audit log, exports, console)',
    serviceUsage('api', 'serves GraphQL, the REST audit log, exports and the console over HTTP'),
    async () => (await import('./service')).serviceRunner('api'),
  ),
  migrate: lazy(
    'create the database if missing and apply pending migrations',
    ['usage: radstream migrate', '  creates the database if missing and applies pending migrations (DATABASE_URL).'],
    async () => (await import('./migrate')).runMigrate,
  ),
  nas: lazy(
    'add|list|remove NAS clients (address or CIDR and shared secret)',
    [
      'usage: radstream nas add --ip <addr|cidr> (--secret <secret> | --secret-file <file> | --secret -)',
      '                         [--name <name>] [--coa-port <port>|none] [--coa-address <addr>|session]',
      '                         [--interim-interval <seconds>|none]',
      '       radstream nas list',
      '       radstream nas remove --ip <addr|cidr>',
      '  --secret-file reads the shared secret from a file, --secret - from stdin (its first line), so that',
      '  the secret need not sit in argv and the shell history.',
    ],
    async () => (await import('./nas')).runNas,
  ),
  session: lazy(
    'disconnect|change <id>: end or change a live session at its NAS (RFC 5176 Disconnect / CoA)',
    [
      'usage: radstream session disconnect <id>',
      '       radstream session change <id> [--session-timeout <s>] [--idle-timeout <s>] [--filter-id <name>]',
      '                                     [--vendor <vendor id>:<type>:<hex value> ...]',
      '  <id> is the session id the API shows (ConnectionRecord.id). Exit 3 when the NAS does not acknowledge.',
    ],
    async () => (await import('./session')).runSession,
  ),
  client: lazy(
    'create|list|rotate|revoke OAuth API clients (client credentials)',
    [
      'usage: radstream client create --name <name> --scope admin|reseller|auditor [--scope ...] [--reseller <name>]',
      '                               [--audit-history-days <days>] [--rate-limit <requests per minute>]',
      '       radstream client list',
      '       radstream client rotate --id <client_id> [--grace <seconds the old secret still works; default 86400, 0: none>]',
      '       radstream client revoke --id <client_id>',
    ],
    async () => (await import('./client')).runClient,
  ),
  audit: lazy(
    'verify [--from --to]: recompute the audit hash chain and report the first broken link',
    [
      'usage: radstream audit verify [--from <ISO instant>] [--to <ISO instant>] [--seals kafka|none|<file of JSON lines>]',
      '  recomputes every lane of the audit hash chain and checks the lanes against the seals; exit 1 when broken.',
    ],
    async () => (await import('./audit')).runAudit,
  ),
  export: lazy(
    'sessions|audit --from --to [--format ndjson|csv] [--output f] [--gzip]: stream rows for billing or a SIEM',
    [
      'usage: radstream export sessions|audit --from <ISO instant> --to <ISO instant> [--format ndjson|csv]',
      '                        [--output <file>] [--gzip]',
      '  sessions that started, or audit events that occurred, in [from, to); to stdout unless --output;',
      '  gzip with --gzip or an --output ending in .gz; a progress line on stderr every 2 s',
    ],
    async () => (await import('./export')).runExport,
  ),
  doctor: lazy(
    'check configuration, Kafka topics, PostgreSQL (migrations, role, NAS, clock) and the UDP buffer [--json]',
    ['usage: radstream doctor [--json]', '  exit 1 when a check fails, 0 otherwise (warnings included).'],
    async () => (await import('./doctor')).runDoctor,
  ),
  stack: lazy(
    'up|down: start (idempotently) or stop a development stack: loopback Kafka brokers and PostgreSQL',
    [
      'usage: radstream stack up|down [--brokers N]',
      '  a development stack on this machine: up makes PostgreSQL and loopback Kafka brokers ready (installing',
      '  and starting them); --brokers N runs a local N-node cluster with a SASL_SSL listener. Not in the',
      '  production image.',
    ],
    async () => (await import('./stack')).runStack,
  ),
}

export function usage(): string {
  const lines = Object.entries(commands).map(([name, command]) => `  ${name.padEnd(12)} ${command.summary}`)
  return `Usage: radstream <command> [options]   (radstream <command> --help for its options)\n\nCommands:\n${lines.join('\n')}\n\nSettings come from environment variables; see docs/configuration.md.\n`
}
