import { AUTHENTICATOR_LENGTH, AUTHENTICATOR_OFFSET } from '@radstream/radius'

/** Answers are kept in this many generations, each `ttl / (GENERATIONS - 1)` long. */
const GENERATIONS = 3

/** Room for any address text (IPv6 with a zone included), port, identifier and authenticator. */
const keyScratch = Buffer.alloc(256)

/**
 * RFC 5080 section 2.2.2: a retransmission carries the same source address and port, identifier
 * and Request Authenticator. A copy that arrives while the first is being recorded joins it; one
 * that arrives after the answer, within the TTL, gets the same answer; neither is recorded twice.
 * Only answered requests are kept: a dropped one is judged afresh when it comes again.
 *
 * At capacity the cache holds 30 s of a NAS fleet's packets (150,000 at 5,000/s), so entries are
 * small (about 130 bytes, from 610): the answer is kept as a one-byte string rather than a Buffer
 * with a backing store of its own, and answers expire by generation (a Map per half TTL, rotated)
 * rather than by a timestamp object each. An answer lives between `ttlMs` and 1.5 x `ttlMs`.
 * Memory is bounded by `maxEntries`.
 */
export class DuplicateCache {
  private readonly pending = new Map<string, Promise<Buffer | undefined>>()
  private readonly answers: Map<string, string>[] = Array.from({ length: GENERATIONS }, () => new Map())
  private readonly rotation: NodeJS.Timeout | undefined

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries: number,
  ) {
    if (ttlMs > 0) {
      this.rotation = setInterval(() => this.rotate(), ttlMs / (GENERATIONS - 1))
      this.rotation.unref()
    }
  }

  /**
   * The key of a datagram, or undefined when it is too short to be a request at all. Written into
   * one buffer and read out as one flat string: concatenated pieces would be kept as a tree of them.
   */
  static keyOf(bytes: Buffer, address: string, port: number): string | undefined {
    if (bytes.length < AUTHENTICATOR_OFFSET + AUTHENTICATOR_LENGTH) return undefined
    let n = keyScratch.write(address, 0, 'latin1')
    keyScratch.writeUInt16BE(port, n)
    keyScratch[n + 2] = bytes[1]!
    n += 3 + bytes.copy(keyScratch, n + 3, AUTHENTICATOR_OFFSET, AUTHENTICATOR_OFFSET + AUTHENTICATOR_LENGTH)
    return keyScratch.toString('latin1', 0, n)
  }

  /** The pending or settled answer of an earlier copy of this request, if any. */
  get(key: string): Promise<Buffer | undefined> | undefined {
    const pending = this.pending.get(key)
    if (pending) return pending
    for (const generation of this.answers) {
      const answer = generation.get(key)
      if (answer !== undefined) return Promise.resolve(Buffer.from(answer, 'latin1'))
    }
    return undefined
  }

  /** Remembers the answer of a first copy; forgets it if it turns out to be a drop. */
  remember(key: string, answer: Promise<Buffer | undefined>): void {
    if (this.size >= this.maxEntries) return // full: the record stays idempotent downstream
    this.pending.set(key, answer)
    answer.then(
      (response) => {
        this.pending.delete(key)
        if (response !== undefined && this.rotation !== undefined)
          this.answers[0]!.set(key, response.toString('latin1'))
      },
      () => this.pending.delete(key),
    )
  }

  get size(): number {
    return this.answers.reduce((sum, generation) => sum + generation.size, this.pending.size)
  }

  private rotate(): void {
    this.answers.pop()
    this.answers.unshift(new Map())
  }

  close(): void {
    clearInterval(this.rotation)
  }
}
