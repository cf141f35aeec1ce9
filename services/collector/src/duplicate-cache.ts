import { AUTHENTICATOR_LENGTH, AUTHENTICATOR_OFFSET } from '@radstream/radius'

interface Entry {
  readonly answer: Promise<Buffer | undefined>
  expiresAt: number
}

/**
 * RFC 5080 section 2.2.2: a retransmission carries the same source address and port, identifier
 * and Request Authenticator. Within `ttlMs` it is answered from here (or joins the request still in
 * flight) instead of being recorded twice. Only answered requests stay cached: a dropped one is
 * judged afresh when it comes again. Memory is bounded by `maxEntries`.
 */
export class DuplicateCache {
  private readonly entries = new Map<string, Entry>()
  private readonly sweeper: NodeJS.Timeout

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries: number,
  ) {
    this.sweeper = setInterval(() => this.sweep(Date.now()), Math.min(ttlMs, 1000))
    this.sweeper.unref()
  }

  /** The key of a datagram, or undefined when it is too short to be a request at all. */
  static keyOf(bytes: Buffer, address: string, port: number): string | undefined {
    if (bytes.length < AUTHENTICATOR_OFFSET + AUTHENTICATOR_LENGTH) return undefined
    const authenticator = bytes.toString('base64', AUTHENTICATOR_OFFSET, AUTHENTICATOR_OFFSET + AUTHENTICATOR_LENGTH)
    return `${address}|${port}|${bytes[1]}|${authenticator}`
  }

  /** The pending or settled answer of an earlier copy of this request, if any. */
  get(key: string): Promise<Buffer | undefined> | undefined {
    const entry = this.entries.get(key)
    if (!entry) return undefined
    if (entry.expiresAt < Date.now()) {
      this.entries.delete(key)
      return undefined
    }
    return entry.answer
  }

  /** Remembers the answer of a first copy; forgets it if it turns out to be a drop. */
  remember(key: string, answer: Promise<Buffer | undefined>): void {
    if (this.entries.size >= this.maxEntries) this.sweep(Date.now())
    if (this.entries.size >= this.maxEntries) return // full of live entries: the record stays idempotent downstream
    const entry: Entry = { answer, expiresAt: Number.POSITIVE_INFINITY }
    this.entries.set(key, entry)
    answer.then(
      (response) => {
        if (response === undefined) this.entries.delete(key)
        else entry.expiresAt = Date.now() + this.ttlMs
      },
      () => this.entries.delete(key),
    )
  }

  get size(): number {
    return this.entries.size
  }

  private sweep(now: number): void {
    for (const [key, entry] of this.entries) if (entry.expiresAt < now) this.entries.delete(key)
  }

  close(): void {
    clearInterval(this.sweeper)
  }
}
