import type { ComponentChildren } from 'preact'

export function Loading({ what }: { what: string }) {
  return (
    <p class="state loading" role="status" aria-live="polite">
      Loading {what}…
    </p>
  )
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <p class="state empty">{children}</p>
}

export function Failure({ error }: { error: unknown }) {
  const message = error instanceof Error ? error.message : String(error)
  return (
    <p class="state error" role="alert">
      {message}
    </p>
  )
}
