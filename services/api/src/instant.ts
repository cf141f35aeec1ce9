/**
 * ISO-8601 instants as the API takes them: date, time, optional fraction, and Z or an offset.
 * JavaScript's Date.parse rolls impossible dates over (2026-11-31 becomes 2026-12-01) and takes
 * 24:00; here every field must name a real calendar instant, so nothing odd reaches PostgreSQL.
 */
const ISO = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|[+-](\d{2}):(\d{2}))$/

const daysInMonth = (year: number, month: number) => new Date(Date.UTC(year, month, 0)).getUTCDate()

/** The instant's milliseconds since the epoch, or undefined when `text` is not a real ISO instant. */
export function parseInstant(text: string, { utcOnly = false } = {}): number | undefined {
  const match = ISO.exec(text)
  if (!match) return undefined
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ]
  const zone = match[8]!
  if (utcOnly && zone !== 'Z') return undefined
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined
  if (hour > 23 || minute > 59 || second > 59) return undefined
  if (zone !== 'Z' && (Number(match[9]) > 23 || Number(match[10]) > 59)) return undefined
  const ms = Date.parse(text)
  return Number.isNaN(ms) ? undefined : ms
}
