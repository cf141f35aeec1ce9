/** A bad environment variable: the message names the variable, the value and what was expected. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError'
  readonly code = 'RADSTREAM_BAD_CONFIG'
}

export type Env = Readonly<Record<string, string | undefined>>

/** Reads typed settings from an environment; every reader fails with the variable's name. */
export class EnvReader {
  constructor(private readonly env: Env = process.env) {}

  string(name: string, fallback: string): string {
    const value = this.env[name]
    return value === undefined || value === '' ? fallback : value
  }

  optionalString(name: string): string | undefined {
    const value = this.env[name]
    return value === undefined || value === '' ? undefined : value
  }

  integer(name: string, fallback: number, range: { min: number; max: number }): number {
    const text = this.env[name]
    if (text === undefined || text === '') return fallback
    const value = Number(text)
    if (!Number.isInteger(value) || value < range.min || value > range.max) {
      throw new ConfigError(`${name}=${JSON.stringify(text)}: expected an integer from ${range.min} to ${range.max}`)
    }
    return value
  }

  port(name: string, fallback: number): number {
    return this.integer(name, fallback, { min: 0, max: 65535 })
  }

  oneOf<T extends string>(name: string, fallback: T, allowed: readonly T[]): T {
    const text = this.env[name]
    if (text === undefined || text === '') return fallback
    if (!(allowed as readonly string[]).includes(text)) {
      throw new ConfigError(`${name}=${JSON.stringify(text)}: expected one of ${allowed.join(', ')}`)
    }
    return text as T
  }

  boolean(name: string, fallback: boolean): boolean {
    const text = this.env[name]
    if (text === undefined || text === '') return fallback
    if (text === 'true' || text === '1') return true
    if (text === 'false' || text === '0') return false
    throw new ConfigError(`${name}=${JSON.stringify(text)}: expected true or false`)
  }

  list(name: string, fallback: readonly string[]): string[] {
    const text = this.env[name]
    if (text === undefined || text === '') return [...fallback]
    const items = text
      .split(',')
      .map((item) => item.trim())
      .filter(Boolean)
    if (items.length === 0) throw new ConfigError(`${name}=${JSON.stringify(text)}: expected a comma-separated list`)
    return items
  }

  url(name: string, fallback: string): string {
    const text = this.string(name, fallback)
    try {
      new URL(text)
    } catch {
      throw new ConfigError(`${name}: not a URL`)
    }
    return text
  }
}
