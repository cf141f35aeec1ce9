/** Node socket errors and PostgreSQL SQLSTATE classes that mean "the database is not there". */
const DOWN_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', '57P01', '57P02', '57P03'])

export function isDatabaseDown(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code
  if (typeof code === 'string' && (DOWN_CODES.has(code) || code.startsWith('08'))) return true
  const message = (error as { message?: unknown })?.message
  return (
    typeof message === 'string' &&
    /ECONNREFUSED|ECONNRESET|Connection terminated|timeout exceeded when trying to connect|the database system is (starting up|shutting down)|terminating connection due to administrator command/.test(
      message,
    )
  )
}
