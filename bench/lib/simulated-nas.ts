import { createSocket, type Socket } from 'node:dgram'
import { buildAccountingRequest, responseAuthenticator, type AttributeInput } from '@radstream/radius'

/** Seconds between two packets of a simulated session, as its Acct-Session-Time counts them. */
export const CADENCE_SECONDS = 300

/** What identifies a simulated NAS's sessions and their users. */
export interface SessionFamily {
  /** The NAS's number: its NAS-IP-Address and address pool derive from it. */
  readonly index: number
  readonly run: string
  /** Distinct User-Names the NAS's sessions cycle through. */
  readonly users: number
}

export const nasAddressOf = (index: number) => `198.19.${Math.floor(index / 250)}.${(index % 250) + 1}`
export const sessionIdOf = (family: SessionFamily, session: number) => `bench-${family.run}-${family.index}-${session}`

/**
 * The octet counters a simulated session reports at step `step`: about 1 kB/s in and 2 kB/s out,
 * unevenly (as traffic is), so that no two intervals split alike.
 */
export function simulatedCounters(step: number): { input: number; output: number } {
  const seconds = step * CADENCE_SECONDS
  return { input: seconds * 1000 + (step % 7) * 13, output: seconds * 2000 + (step % 5) * 29 }
}

/**
 * The attributes of step `step` of a simulated session (0 the Start, `last` the Stop, Interim-
 * Updates between): Acct-Session-Time step * CADENCE_SECONDS, with simulatedCounters.
 */
export function sessionAttributes(
  family: SessionFamily,
  session: number,
  step: number,
  last: number,
  eventTime: number,
): AttributeInput[] {
  const status = step === 0 ? 1 : step === last ? 2 : 3
  const seconds = step * CADENCE_SECONDS
  return [
    ['User-Name', `user-${family.index}-${session % family.users}`],
    ['Acct-Session-Id', sessionIdOf(family, session)],
    ['Acct-Status-Type', status],
    ['NAS-IP-Address', nasAddressOf(family.index)],
    ['NAS-Port-Id', String(session)],
    ['NAS-Port-Type', 5],
    ['Calling-Station-Id', 'AA:BB:CC:DD:EE:FF'],
    ['Framed-IP-Address', `10.${family.index % 250}.${(session >> 8) & 255}.${session & 255}`],
    ['Event-Timestamp', eventTime],
    ...(status === 1
      ? [['Connect-Info', 'WireGuard'] as const]
      : [
          ['Acct-Session-Time', seconds] as const,
          ...octets('Input', simulatedCounters(step).input),
          ...octets('Output', simulatedCounters(step).output),
        ]),
    ...(status === 2 ? [['Acct-Terminate-Cause', 1] as const] : []),
  ]
}

/** A 64-bit octet count as a NAS sends it: the low 32 bits, and Gigawords when there are more. */
function octets(direction: 'Input' | 'Output', total: number): AttributeInput[] {
  const gigawords = Math.floor(total / 2 ** 32)
  return [
    [`Acct-${direction}-Octets`, total % 2 ** 32],
    ...(gigawords > 0 ? [[`Acct-${direction}-Gigawords`, gigawords] as AttributeInput] : []),
  ]
}

export interface NasOptions {
  readonly index: number
  readonly run: string
  readonly port: number
  readonly secret: Buffer
  /** Requests awaiting an answer at most, like a NAS's outstanding-request window. */
  readonly window: number
  readonly sessions: number
  readonly interimsPerSession: number
  /** The step each session begins at (0, its Start, unless it is under way already). */
  readonly firstStep?: number
  /** How many packets each session sends in this run (default: all the steps left). */
  readonly steps?: number
  /** Distinct User-Names the NAS's sessions cycle through. */
  readonly users: number
  readonly retransmitMs: number
  /** Keep every answered datagram in `answered`, in the order of the answers. */
  readonly keepAnswered: boolean
  /** Asked before each new request; false holds it back (the fixed-rate mode's pacing). */
  readonly mayStart: () => boolean
}

interface Pending {
  readonly datagram: Buffer
  readonly session: number
  readonly step: number
  readonly firstSentAt: number
  timer: NodeJS.Timeout
}

/**
 * A simulated NAS: its own UDP socket and NAS-IP-Address, many sessions each sending Start,
 * Interim-Updates and Stop in order (the next once the previous is answered), a window of
 * requests in flight, and retransmission of the same datagram on timeout as RFC 5080 asks.
 */
export class SimulatedNas {
  /** Latencies of the requests first sent at or after `measureFrom`; earlier ones are warm-up. */
  readonly latenciesMs: number[] = []
  readonly warmupLatenciesMs: number[] = []
  measureFrom = 0
  sent = 0
  acked = 0
  retransmitted = 0
  /** Per session: the number of its last answered step plus one (0 = none yet). */
  readonly answeredSteps: Uint16Array
  readonly answered: Buffer[] = []
  private readonly pending = new Map<number, Pending>()
  private readonly freeIds: number[] = Array.from({ length: 256 }, (_, i) => i)
  private readonly nextStep: Uint16Array
  private readonly endStep: number
  private readonly ready: number[] = []
  private readonly socket: Socket
  private running = true

  constructor(private readonly options: NasOptions) {
    if (this.stepsPerSession > 65_535) throw new Error('a simulated session has at most 65,535 steps')
    this.answeredSteps = new Uint16Array(options.sessions)
    const first = options.firstStep ?? 0
    this.nextStep = new Uint16Array(options.sessions).fill(first)
    this.endStep = Math.min(this.stepsPerSession, first + (options.steps ?? this.stepsPerSession))
    for (let s = options.sessions - 1; s >= 0; s--) this.ready.push(s)
    this.socket = createSocket('udp4')
    this.socket.on('message', (message) => this.onAnswer(message))
  }

  get nasAddress(): string {
    return nasAddressOf(this.options.index)
  }

  sessionId(session: number): string {
    return sessionIdOf(this.options, session)
  }

  get stepsPerSession(): number {
    return this.options.interimsPerSession + 2
  }

  async open(): Promise<void> {
    await new Promise<void>((resolve) => this.socket.bind(0, '127.0.0.1', resolve))
    this.socket.setSendBufferSize(1 << 20)
    this.socket.setRecvBufferSize(1 << 20)
  }

  /** Fills the window; called on every answer and by the driver's ticks. */
  /** Sends up to `limit` new requests while the window has room; returns how many it sent. */
  pump(limit = Number.POSITIVE_INFINITY): number {
    let sent = 0
    while (
      sent < limit &&
      this.running &&
      this.pending.size < this.options.window &&
      this.ready.length > 0 &&
      this.freeIds.length > 0
    ) {
      if (!this.options.mayStart()) break
      const session = this.ready.pop()!
      this.send(session, this.nextStep[session]!)
      sent++
    }
    return sent
  }

  private packet(identifier: number, session: number, step: number): Buffer {
    return buildAccountingRequest({
      identifier,
      secret: this.options.secret,
      attributes: sessionAttributes(
        this.options,
        session,
        step,
        this.stepsPerSession - 1,
        Math.floor(Date.now() / 1000),
      ),
    })
  }

  private send(session: number, step: number): void {
    const identifier = this.freeIds.pop()!
    const datagram = this.packet(identifier, session, step)
    const entry: Pending = {
      datagram,
      session,
      step,
      firstSentAt: performance.now(),
      timer: setTimeout(() => this.retransmit(identifier), this.options.retransmitMs),
    }
    this.pending.set(identifier, entry)
    this.sent++
    this.socket.send(datagram, this.options.port, '127.0.0.1')
  }

  private retransmit(identifier: number): void {
    const entry = this.pending.get(identifier)
    if (!entry) return
    this.retransmitted++
    this.socket.send(entry.datagram, this.options.port, '127.0.0.1')
    entry.timer = setTimeout(() => this.retransmit(identifier), this.options.retransmitMs)
  }

  private onAnswer(message: Buffer): void {
    const identifier = message[1]!
    const entry = this.pending.get(identifier)
    if (!entry || message[0] !== 5 || message.length < 20) return
    // Identifiers are reused: a late answer to an earlier request with this identifier (a
    // retransmission answered from the duplicate cache) must not count for the current one. A NAS
    // tells them apart by the Response Authenticator, computed over the request's authenticator.
    const expected = responseAuthenticator(message, entry.datagram.subarray(4, 20), this.options.secret)
    if (!expected.equals(message.subarray(4, 20))) return
    clearTimeout(entry.timer)
    this.pending.delete(identifier)
    this.freeIds.push(identifier)
    this.acked++
    const latency = performance.now() - entry.firstSentAt
    if (entry.firstSentAt >= this.measureFrom) this.latenciesMs.push(latency)
    else this.warmupLatenciesMs.push(latency)
    this.answeredSteps[entry.session] = entry.step + 1
    if (this.options.keepAnswered) this.answered.push(entry.datagram)
    if (entry.step + 1 < this.endStep) {
      this.nextStep[entry.session] = entry.step + 1
      this.ready.push(entry.session) // a session under way goes before the ones not yet started
    }
    // One new request per answer keeps a full window full; the fleet's ticker spreads the rest.
    this.pump(1)
  }

  /** Stops starting new requests; resolves when every outstanding one is answered or `timeoutMs` passes. */
  async drain(timeoutMs: number): Promise<number> {
    this.running = false
    const deadline = Date.now() + timeoutMs
    while (this.pending.size > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50))
    const unanswered = this.pending.size
    for (const entry of this.pending.values()) clearTimeout(entry.timer)
    this.socket.close()
    return unanswered
  }
}
