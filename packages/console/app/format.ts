/** Octets as B, kB, MB, GB, TB (powers of 1000, as operators' bills count); from GraphQL's decimal text. */
export function formatOctets(octets: string | number | null | undefined): string {
  if (octets === null || octets === undefined) return '–'
  let value = Number(octets)
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB']
  let unit = 0
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000
    unit++
  }
  return `${unit === 0 ? value : value.toFixed(value < 10 ? 2 : 1)} ${units[unit]}`
}

/** Seconds as 1d 2h 3m 4s (the leading nonzero units). */
export function formatDuration(totalSeconds: number): string {
  if (!Number.isFinite(totalSeconds) || totalSeconds < 0) return '–'
  const s = Math.floor(totalSeconds)
  const parts = [
    [Math.floor(s / 86400), 'd'],
    [Math.floor((s % 86400) / 3600), 'h'],
    [Math.floor((s % 3600) / 60), 'm'],
    [s % 60, 's'],
  ] as const
  const first = parts.findIndex(([n]) => n > 0)
  return first === -1
    ? '0s'
    : parts
        .slice(first, first + 2)
        .map(([n, u]) => `${n}${u}`)
        .join(' ')
}

const localFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' })

/** An instant in the viewer's zone (the UTC instant is the element's title). */
export const formatLocal = (iso: string) => localFormat.format(new Date(iso))

/** A datetime-local input's value (the viewer's zone) from an instant, and back. */
export function toLocalInput(date: Date): string {
  const offset = date.getTimezoneOffset() * 60_000
  return new Date(date.getTime() - offset).toISOString().slice(0, 19)
}
export const fromLocalInput = (value: string): Date => new Date(value)

/** An ISO instant as the API takes it, whole seconds. */
export const toApiInstant = (date: Date) => date.toISOString().replace(/\.\d{3}Z$/, 'Z')
