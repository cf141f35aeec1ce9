import { loadSettings } from '@radstream/config'
import {
  changeSession,
  DaeError,
  disconnectSession,
  type SessionActionContext,
  type SessionActionResult,
  type VendorAttribute,
} from '@radstream/dae'
import { cliInitiator, CommandError, parseCommandArgs, UsageError, withDb } from './shared'

/** The NAS answered, but not with an ACK: the command failed, and its output says how. */
const NOT_ACKNOWLEDGED_EXIT_CODE = 3

function integer(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined
  if (!/^-?[0-9]+$/.test(text)) throw new UsageError(`${flag} ${JSON.stringify(text)}: expected a whole number`)
  return Number(text)
}

function vendorAttribute(text: string): VendorAttribute {
  const match = /^([0-9]+):([0-9]+):([0-9a-fA-F]*)$/.exec(text)
  if (!match)
    throw new UsageError(
      `--vendor ${JSON.stringify(text)}: expected <vendor id>:<type>:<hex value>, e.g. 14988:8:31304d`,
    )
  return { vendorId: Number(match[1]), type: Number(match[2]), value: match[3]! }
}

/**
 * Disconnect and CoA from a shell, with the operator (OS user and host) as the audit initiator.
 * Prints the outcome as JSON; exits 0 on ACK and 3 on NAK, TIMEOUT or UNVERIFIED.
 */
export async function runSession(args: readonly string[]): Promise<void> {
  const [action, id, ...rest] = args
  const { values } = parseCommandArgs({
    args: rest,
    options: {
      'session-timeout': { type: 'string' },
      'idle-timeout': { type: 'string' },
      'filter-id': { type: 'string' },
      vendor: { type: 'string', multiple: true },
    },
    strict: true,
  })
  if (action !== 'disconnect' && action !== 'change') throw new UsageError('expected disconnect <id> or change <id>')
  if (!id || id.startsWith('-')) throw new UsageError(`session ${action} needs the session's <id>`)
  const result = await withDb(async (db) => {
    const ctx: SessionActionContext = {
      db,
      timing: loadSettings().dynamicAuthorization,
      initiator: cliInitiator(),
    }
    try {
      if (action === 'disconnect') return await disconnectSession(ctx, id)
      return await changeSession(ctx, id, {
        sessionTimeout: integer('--session-timeout', values['session-timeout']),
        idleTimeout: integer('--idle-timeout', values['idle-timeout']),
        filterId: values['filter-id'],
        vendorAttributes: (values.vendor ?? []).map(vendorAttribute),
      })
    } catch (error) {
      if (error instanceof DaeError) throw new CommandError(error.message)
      throw error
    }
  })
  console.log(JSON.stringify(printable(result)))
  if (result.outcome !== 'ACK') {
    process.stderr.write(`radstream session ${action}: ${result.message}\n`)
    process.exitCode = NOT_ACKNOWLEDGED_EXIT_CODE
  }
}

function printable(result: SessionActionResult) {
  return {
    session: result.sessionId,
    outcome: result.outcome,
    errorCause: result.errorCause ?? null,
    nas: result.target,
    attempts: result.attempts,
    elapsedMs: result.elapsedMs,
    unverifiedResponses: result.unverifiedResponses,
    message: result.message,
  }
}
