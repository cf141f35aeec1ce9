// The day number of a date of the proleptic Gregorian calendar, both ways (H. Hinnant's
// days_from_civil and civil_from_days): 400-year eras of 146,097 days, years counted from March
// so that the leap day ends one; day 719,468 of that count is 1970-01-01. Reading and writing the
// API's instants by their fields this way costs a third to a half of Date.UTC and toISOString.

const DAYS_TO_EPOCH = 719_468
const DAYS_PER_ERA = 146_097

/** Days from 1970-01-01 to year-month-day (month 1-12), for years from 0 on. */
export function daysSinceEpoch(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year
  const era = Math.floor(y / 400)
  const yearOfEra = y - era * 400
  const dayOfYear = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear
  return era * DAYS_PER_ERA + dayOfEra - DAYS_TO_EPOCH
}

/** The date `days` after 1970-01-01 (month 1-12), for days from year 0 on. */
export function dateOfDay(days: number): { year: number; month: number; day: number } {
  const z = days + DAYS_TO_EPOCH
  const era = Math.floor(z / DAYS_PER_ERA)
  const dayOfEra = z - era * DAYS_PER_ERA
  const yearOfEra = Math.floor(
    (dayOfEra - Math.floor(dayOfEra / 1460) + Math.floor(dayOfEra / 36_524) - Math.floor(dayOfEra / 146_096)) / 365,
  )
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100))
  const monthFromMarch = Math.floor((5 * dayOfYear + 2) / 153)
  const month = monthFromMarch < 10 ? monthFromMarch + 3 : monthFromMarch - 9
  return {
    year: era * 400 + yearOfEra + (month <= 2 ? 1 : 0),
    month,
    day: dayOfYear - Math.floor((153 * monthFromMarch + 2) / 5) + 1,
  }
}
