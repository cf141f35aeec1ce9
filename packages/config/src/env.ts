import { readFileSync } from 'node:fs'
import { inspect } from 'node:util'

/** A bad environment variable: the message names the variable, the value and what was expected. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError'
  readonly code = 'RADSTREAM_BAD_CONFIG'
}

export type Env = Readonly<Record<string, string | undefined>>

/**
 * A password or key: the value is revealed only where it is used, and prints as `[redacted]` in
 * logs, JSON and `util.inspect`, so no settings dump can leak it.
 */
export class Secret {
  readonly #value: string
  constructor(value: string) {
    this.#value = value
  }
  reveal(): string {
    return this.#value
  }
  toJSON(): string {
    return '[redacted]'
  }
  toString(): string {
    return '[redacted]'
  }
  [inspect.custom](): string {
    return 'Secret([redacted])'
  }
}

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

  optionalInteger(name: string, range: { min: number; max: number }): number | undefined {
    const text = this.env[name]
    return text === undefined || text === '' ? undefined : this.integer(name, 0, range)
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

  optionalOneOf<T extends string>(name: string, allowed: readonly T[]): T | undefined {
    const text = this.env[name]
    return text === undefined || text === '' ? undefined : this.oneOf(name, allowed[0]!, allowed)
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

  /**
   * A secret from `NAME`, or from the file that `NAME_FILE` names (Docker and Kubernetes secrets),
   * without its trailing newline. Both set is an error: which one wins would be a guess.
   */
  secret(name: string): Secret | undefined {
    const inline = this.optionalString(name)
    const file = this.optionalString(`${name}_FILE`)
    if (inline !== undefined && file !== undefined) {
      throw new ConfigError(`${name} and ${name}_FILE are both set: keep one`)
    }
    if (file === undefined) return inline === undefined ? undefined : new Secret(inline)
    return new Secret(readSettingFile(`${name}_FILE`, file).replace(/\r?\n$/, ''))
  }

  /** The contents of the file whose path `NAME` gives (a PEM certificate, say), read once at start. */
  fileContents(name: string): string | undefined {
    const path = this.optionalString(name)
    return path === undefined ? undefined : readSettingFile(name, path)
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

function readSettingFile(name: string, path: string): string {
  try {
    return readFileSync(path, 'utf8')
  } catch (error) {
    throw new ConfigError(
      `${name}=${JSON.stringify(path)}: cannot read the file (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
    )
  }
}
