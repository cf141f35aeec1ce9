import { useEffect, useState } from 'preact/hooks'

export type AsyncState<T> =
  | { readonly status: 'idle' }
  | { readonly status: 'loading' }
  | { readonly status: 'done'; readonly value: T }
  | { readonly status: 'failed'; readonly error: unknown }

/**
 * Runs `load` whenever `deps` change (not at all while `load` is null) and keeps only the newest
 * answer: a slow earlier request never overwrites a later one. With `keep`, the last answer stays
 * on screen while the next loads (a wall screen's refresh must not blink).
 */
export function useAsync<T>(
  load: (() => Promise<T>) | null,
  deps: readonly unknown[],
  options: { keep?: boolean } = {},
): AsyncState<T> {
  const [state, setState] = useState<AsyncState<T>>({ status: 'idle' })
  useEffect(() => {
    if (!load) return setState({ status: 'idle' })
    let current = true
    setState((previous) => (options.keep && previous.status === 'done' ? previous : { status: 'loading' }))
    load().then(
      (value) => current && setState({ status: 'done', value }),
      (error: unknown) => current && setState({ status: 'failed', error }),
    )
    return () => {
      current = false
    }
  }, deps)
  return state
}
