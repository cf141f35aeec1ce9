import { ApiError } from './errors'

const WINDOW_MS = 60_000

/**
 * At most `limit` requests per API client in each minute, counted in memory, per API process
 * (several API instances each allow `limit`). Refused requests cost nothing and are not counted.
 * `what` names the requests in the refusal ("GraphQL requests").
 */
export function perClientLimiter(limit: number, what: string, now: () => number = Date.now) {
  const windows = new Map<string, { start: number; count: number }>()
  return function admit(clientId: string): void {
    const at = now()
    let window = windows.get(clientId)
    if (!window || at - window.start >= WINDOW_MS) {
      window = { start: at, count: 0 }
      windows.set(clientId, window)
    }
    if (window.count >= limit) {
      const retryAfter = Math.ceil((window.start + WINDOW_MS - at) / 1000)
      throw new ApiError('RATE_LIMITED', `at most ${limit} ${what} a minute per client: retry after ${retryAfter} s`, {
        'retry-after': String(retryAfter),
      })
    }
    window.count++
  }
}
