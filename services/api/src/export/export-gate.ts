import { ApiError } from '../errors'

/**
 * How many exports run at once: at most `perClient` for one API client (429 beyond) and at most
 * `total` in all (503 beyond), the connections of the exports' own pool. An export holds its
 * connection as long as its client reads; without a gate, a few slow readers took every pooled
 * connection and stalled the whole API, the token endpoint included. Counted per API process.
 */
export class ExportGate {
  private readonly running = new Map<string, number>()
  private total = 0

  constructor(private readonly limits: { readonly perClient: number; readonly total: number }) {}

  /** Admits an export of `clientId`, or throws; the returned function ends it (once, however often called). */
  enter(clientId: string): () => void {
    const mine = this.running.get(clientId) ?? 0
    if (mine >= this.limits.perClient)
      throw new ApiError(
        'RATE_LIMITED',
        `at most ${this.limits.perClient} exports at once per client: retry once one has finished`,
        { 'retry-after': '10' },
      )
    if (this.total >= this.limits.total)
      throw new ApiError('SERVICE_UNAVAILABLE', 'every export connection is busy: retry shortly', {
        'retry-after': '10',
      })
    this.running.set(clientId, mine + 1)
    this.total++
    let ended = false
    return () => {
      if (ended) return
      ended = true
      this.total--
      const left = (this.running.get(clientId) ?? 1) - 1
      if (left === 0) this.running.delete(clientId)
      else this.running.set(clientId, left)
    }
  }
}
