import { formatLocal } from '../format'

/** An instant shown in the viewer's zone, UTC on hover. */
export function Time({ value }: { value: string | null | undefined }) {
  if (!value) return <span class="muted">–</span>
  return (
    <time dateTime={value} title={`${value.replace('T', ' ').replace('Z', '')} UTC`}>
      {formatLocal(value)}
    </time>
  )
}
