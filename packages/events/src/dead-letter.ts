/** What the sessionizer publishes to the dead-letter topic for a record it cannot apply. */
export interface DeadLetter {
  readonly schema: 'radstream.dead-letter.v1'
  readonly reason: string
  readonly source: { readonly topic: string; readonly partition: number; readonly offset: string }
  /** The original key and value, base64, byte for byte. */
  readonly key: string | null
  readonly value: string | null
  readonly failedAt: string
}

export function deadLetter(
  source: DeadLetter['source'],
  message: { readonly key: Buffer | null | undefined; readonly value: Buffer | null | undefined },
  reason: string,
): DeadLetter {
  return {
    schema: 'radstream.dead-letter.v1',
    reason,
    source,
    key: message.key?.toString('base64') ?? null,
    value: message.value?.toString('base64') ?? null,
    failedAt: new Date().toISOString(),
  }
}
