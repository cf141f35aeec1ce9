import { BlockList, isIPv4 } from 'node:net'
import type { Logger } from '@radstream/config'
import { normalizeAddress } from '@radstream/db'

export interface NasClient {
  readonly network: string
  readonly name: string | null
  readonly secret: Buffer
}

interface NetworkEntry {
  readonly client: NasClient
  readonly prefixLength: number
  readonly match: BlockList
}

/** A source of the registered NAS clients (PostgreSQL in production). */
export interface NasClientSource {
  list(): Promise<readonly { network: string; name: string | null; secret: string }[]>
}

function toEntry(client: NasClient): NetworkEntry {
  const [address = '', lengthText] = client.network.split('/')
  const family = isIPv4(address) ? 'ipv4' : 'ipv6'
  const prefixLength = lengthText === undefined ? (family === 'ipv4' ? 32 : 128) : Number(lengthText)
  const match = new BlockList()
  match.addSubnet(address, prefixLength, family)
  return { client, prefixLength, match }
}

/**
 * Which NAS sent a datagram, by longest-prefix match over registered addresses and CIDR blocks.
 * Refreshed from its source on an interval, so `radstream nas add` takes effect without a restart.
 */
export class NasRegistry {
  private exact = new Map<string, NasClient>()
  private networks: NetworkEntry[] = []
  private timer: NodeJS.Timeout | undefined

  constructor(
    private readonly source: NasClientSource,
    private readonly logger: Logger,
    private readonly onRefresh: (size: number) => void = () => undefined,
  ) {}

  lookup(address: string): NasClient | undefined {
    const normalized = normalizeAddress(address)
    const exact = this.exact.get(normalized)
    if (exact) return exact
    const family = isIPv4(normalized) ? 'ipv4' : 'ipv6'
    return this.networks.find((entry) => entry.match.check(normalized, family))?.client
  }

  get size(): number {
    return this.exact.size + this.networks.length
  }

  async refresh(): Promise<void> {
    const rows = await this.source.list()
    const exact = new Map<string, NasClient>()
    const networks: NetworkEntry[] = []
    for (const row of rows) {
      const entry = toEntry({ network: row.network, name: row.name, secret: Buffer.from(row.secret, 'utf8') })
      const isHost = entry.prefixLength === (isIPv4(row.network.split('/')[0] ?? '') ? 32 : 128)
      if (isHost) exact.set(row.network.split('/')[0]!, entry.client)
      else networks.push(entry)
    }
    networks.sort((a, b) => b.prefixLength - a.prefixLength)
    this.exact = exact
    this.networks = networks
    this.onRefresh(this.size)
  }

  /** Loads once (failing loudly), then keeps refreshing; a failed refresh keeps the last list. */
  async start(intervalMs: number): Promise<void> {
    await this.refresh()
    this.timer = setInterval(() => {
      this.refresh().catch((error: unknown) =>
        this.logger.warn({ err: error }, 'NAS registry refresh failed; keeping the last list'),
      )
    }, intervalMs)
    this.timer.unref()
  }

  stop(): void {
    clearInterval(this.timer)
  }
}
