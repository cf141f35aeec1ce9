/** One error of the client library's wrappings: aggregates carry `errors`, wrappers a `cause`. */
export interface ErrorLink {
  readonly name?: string
  readonly code?: string
  readonly apiId?: string
  readonly message?: string
  readonly cause?: unknown
  readonly errors?: unknown[]
}

/** Every error in `error`'s wrappings, outermost first. */
export function errorChain(error: unknown): ErrorLink[] {
  const seen: ErrorLink[] = []
  const visit = (e: unknown) => {
    if (!e || typeof e !== 'object' || seen.includes(e as ErrorLink) || seen.length > 50) return
    const link = e as ErrorLink
    seen.push(link)
    visit(link.cause)
    for (const inner of link.errors ?? []) visit(inner)
  }
  visit(error)
  return seen
}

/** True when Kafka answered with one of these protocol error names anywhere in `error`. */
export function hasKafkaError(error: unknown, names: ReadonlySet<string>): boolean {
  return errorChain(error).some((link) => link.apiId !== undefined && names.has(link.apiId))
}
