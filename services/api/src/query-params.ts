import { badParameter } from './errors'

/**
 * A route's query string as single text values. A parameter given twice (`?cursor=a&cursor=b`)
 * arrives as an array, which no parameter of this API takes: a 400 naming it, never a 500.
 */
export function singleQueryValues<Name extends string>(
  query: unknown,
  names: readonly Name[],
): Partial<Record<Name, string>> {
  const given = (query ?? {}) as Record<string, unknown>
  const values: Partial<Record<Name, string>> = {}
  for (const name of names) {
    const value = given[name]
    if (value === undefined) continue
    if (typeof value !== 'string') throw badParameter(name, 'is given more than once')
    values[name] = value
  }
  return values
}
