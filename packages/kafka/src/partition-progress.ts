/**
 * Where a partition's records are durably handled up to: `next` is the first offset not known to
 * be handled, every earlier one is. Batches may be handled out of order (a rebalance can deliver
 * records again, or a later run before an earlier one): a handled range beyond `next` waits in
 * `ahead` until the gap before it is handled too. Only `next` is ever committed to Kafka, so a
 * record is never passed over, whatever order the client delivers in.
 */
export class PartitionProgress {
  /** Handled ranges beyond `next`: first offset -> offset after the last. */
  private readonly ahead = new Map<bigint, bigint>()

  constructor(private nextOffset: bigint) {}

  get next(): bigint {
    return this.nextOffset
  }

  /** True while something beyond `next` is handled and the records before it are not. */
  get hasGap(): boolean {
    return this.ahead.size > 0
  }

  /** Records the handled offsets (any order, repeats allowed); true when `next` moved. */
  handled(offsets: readonly bigint[]): boolean {
    const before = this.nextOffset
    const sorted = [...offsets].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    let runStart: bigint | undefined
    let runEnd = 0n
    for (const offset of sorted) {
      if (runStart !== undefined && offset <= runEnd) {
        if (offset === runEnd) runEnd++
        continue
      }
      if (runStart !== undefined) this.addRange(runStart, runEnd)
      runStart = offset
      runEnd = offset + 1n
    }
    if (runStart !== undefined) this.addRange(runStart, runEnd)
    return this.nextOffset !== before
  }

  /**
   * Everything before `offset` is handled, known from elsewhere: a commit of another group member,
   * or records Kafka's retention deleted before anyone read them.
   */
  advanceTo(offset: bigint): boolean {
    if (offset <= this.nextOffset) return false
    this.nextOffset = offset
    this.absorb()
    return true
  }

  private addRange(first: bigint, end: bigint): void {
    if (end <= this.nextOffset) return
    if (first <= this.nextOffset) {
      this.nextOffset = end
      this.absorb()
      return
    }
    const known = this.ahead.get(first)
    if (known === undefined || known < end) this.ahead.set(first, end)
  }

  /** Folds into `next` the ranges ahead that now touch it. */
  private absorb(): void {
    for (let moved = true; moved;) {
      moved = false
      for (const [first, end] of this.ahead) {
        if (first > this.nextOffset) continue
        this.ahead.delete(first)
        if (end > this.nextOffset) this.nextOffset = end
        moved = true
      }
    }
  }
}
