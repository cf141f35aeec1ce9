import pg from 'pg'
import { daysSinceEpoch } from './calendar'

export const TIMESTAMPTZ_OID = 1184

/** pg's own parser (postgres-date): every form PostgreSQL prints, through regular expressions. */
const parseAnyTimestamptz = pg.types.getTypeParser(TIMESTAMPTZ_OID, 'text') as (text: string) => Date | number | null

const PLUS = 43
const MINUS = 45
const DOT = 46
const COLON = 58
const SPACE = 32

/** The number the digits of text[from, to) make, or -1 if one is not a digit. */
function digits(text: string, from: number, to: number): number {
  let value = 0
  for (let i = from; i < to; i++) {
    const digit = text.charCodeAt(i) - 48
    if (digit < 0 || digit > 9) return -1
    value = value * 10 + digit
  }
  return value
}

/** The offset that text[i..] states, `±HH`, `±HH:MM` or `±HH:MM:SS`, in seconds; undefined if it is not one. */
function offsetSeconds(text: string, i: number): number | undefined {
  const sign = text.charCodeAt(i)
  const length = text.length - i
  if ((sign !== PLUS && sign !== MINUS) || (length !== 3 && length !== 6 && length !== 9)) return undefined
  let seconds = 0
  for (let at = i + 1; at < text.length; at += 3) {
    const value = digits(text, at, at + 2)
    if (value < 0 || (at > i + 1 && text.charCodeAt(at - 1) !== COLON)) return undefined
    seconds = seconds * 60 + value
  }
  seconds *= 60 ** ((9 - length) / 3)
  return sign === MINUS ? -seconds : seconds
}

/**
 * A timestamptz as PostgreSQL prints it with DateStyle ISO: `2026-12-07 14:39:33.123456+00`, the
 * offset `+05:30` or, for old dates, `-03:30:52`. pg parses each through regular expressions,
 * the API's most expensive step on a page of sessions (two or three instants a row); this reads
 * the common form by its characters, to the millisecond as pg does (the microseconds truncated),
 * and leaves the rest to pg's parser: years before 1000 or after 9999, BC, infinity.
 */
export function parseTimestamptz(text: string): Date | number | null {
  if (
    text.length < 22 ||
    text.charCodeAt(4) !== MINUS ||
    text.charCodeAt(7) !== MINUS ||
    text.charCodeAt(10) !== SPACE ||
    text.charCodeAt(13) !== COLON ||
    text.charCodeAt(16) !== COLON
  )
    return parseAnyTimestamptz(text)
  const year = digits(text, 0, 4)
  const month = digits(text, 5, 7)
  const day = digits(text, 8, 10)
  const hour = digits(text, 11, 13)
  const minute = digits(text, 14, 16)
  const second = digits(text, 17, 19)
  let i = 19
  let ms = 0
  if (text.charCodeAt(i) === DOT) {
    const from = ++i
    for (let scale = 100; i < text.length; i++, scale /= 10) {
      const digit = text.charCodeAt(i) - 48
      if (digit < 0 || digit > 9) break
      if (scale >= 1) ms += digit * scale
    }
    if (i === from) ms = -1
  }
  const offset = offsetSeconds(text, i)
  const valid = year >= 1000 && month >= 1 && month <= 12 && day >= 1 && hour >= 0 && minute >= 0 && second >= 0
  if (!valid || ms < 0 || offset === undefined) return parseAnyTimestamptz(text)
  const seconds = daysSinceEpoch(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second - offset
  return new Date(seconds * 1000 + ms)
}
