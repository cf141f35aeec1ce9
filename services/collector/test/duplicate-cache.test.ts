import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { DuplicateCache } from '../src/duplicate-cache'

function request(identifier: number, authenticatorByte: number): Buffer {
  const bytes = Buffer.alloc(40)
  bytes[0] = 4
  bytes[1] = identifier
  bytes.fill(authenticatorByte, 4, 20)
  return bytes
}

const answer = Buffer.from([5, 7, 0, 20, ...Array.from({ length: 16 }, (_, i) => 200 + i)])

describe('DuplicateCache', () => {
  beforeEach(() => vi.useFakeTimers())
  afterEach(() => vi.useRealTimers())

  it('should key on address, port, identifier and authenticator, and on nothing else', () => {
    const key = (bytes: Buffer, address = '192.0.2.1', port = 1813) => DuplicateCache.keyOf(bytes, address, port)
    const base = key(request(7, 1))
    expect(key(request(7, 1))).toBe(base)
    expect(
      new Set([
        base,
        key(request(8, 1)),
        key(request(7, 2)),
        key(request(7, 1), '192.0.2.11'),
        key(request(7, 1), '192.0.2.1', 1814),
      ]).size,
    ).toBe(5)
    // The address is told apart by its length: "192.0.2.1" + a port can never read as "192.0.2.12".
    expect(key(request(7, 1), '192.0.2.1', 0x3200)).not.toBe(key(request(7, 1), '192.0.2.12', 0x0007))
    expect(key(Buffer.alloc(19), '192.0.2.1', 1)).toBeUndefined()
    expect(key(request(7, 1), 'fe80::1234:5678:9abc:def0%some-long-interface', 65535)).toContain('%some-long-interface')
  })

  it('should join a copy to the pending first one, then answer copies for at least the TTL and at most 1.5 times it', async () => {
    const cache = new DuplicateCache(30_000, 100)
    const key = DuplicateCache.keyOf(request(7, 1), '192.0.2.1', 1813)!
    let settle!: (response: Buffer) => void
    const first = new Promise<Buffer | undefined>((resolve) => (settle = resolve))
    cache.remember(key, first)
    expect(cache.get(key)).toBe(first)
    settle(answer)
    await first
    await vi.advanceTimersByTimeAsync(29_999)
    expect(await cache.get(key)).toEqual(answer)
    await vi.advanceTimersByTimeAsync(15_001)
    expect(cache.get(key)).toBeUndefined()
    expect(cache.size).toBe(0)
    cache.close()
  })

  it('should forget a request that was dropped or failed, so that its copy is judged afresh', async () => {
    const cache = new DuplicateCache(30_000, 100)
    const dropped = DuplicateCache.keyOf(request(1, 1), '192.0.2.1', 1813)!
    const failed = DuplicateCache.keyOf(request(2, 1), '192.0.2.1', 1813)!
    cache.remember(dropped, Promise.resolve(undefined))
    const failure = Promise.reject(new Error('Kafka down'))
    cache.remember(failed, failure)
    await failure.catch(() => undefined)
    await vi.advanceTimersByTimeAsync(0)
    expect(cache.get(dropped)).toBeUndefined()
    expect(cache.get(failed)).toBeUndefined()
    cache.close()
  })

  it('should stop remembering at maxEntries, and keep nothing past the request when the TTL is 0', async () => {
    const full = new DuplicateCache(30_000, 2)
    for (let id = 0; id < 3; id++)
      full.remember(DuplicateCache.keyOf(request(id, 1), '192.0.2.1', 1813)!, Promise.resolve(answer))
    await vi.advanceTimersByTimeAsync(0)
    expect(full.size).toBe(2)
    expect(full.get(DuplicateCache.keyOf(request(2, 1), '192.0.2.1', 1813)!)).toBeUndefined()
    full.close()

    const none = new DuplicateCache(0, 100)
    const key = DuplicateCache.keyOf(request(1, 1), '192.0.2.1', 1813)!
    none.remember(key, Promise.resolve(answer))
    await vi.advanceTimersByTimeAsync(0)
    expect(none.get(key)).toBeUndefined()
    none.close()
  })
})
