import { createSocket, type Socket } from 'node:dgram'
import { buildAccountingRequest, responseAuthenticator } from '@radstream/radius'

export interface NasOptions {
  readonly index: number
  readonly run: string
  readonly port: number
  readonly secret: Buffer
  /** Requests awaiting an answer at most, like a NAS's outstanding-request window. */
  readonly window: number
  readonly sessions: number
  readonly interimsPerSession: number
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
  /** Per session: how many of its packets were answered (0 = none yet). */
  readonly answeredSteps: Uint8Array
  readonly answered: Buffer[] = []
  private readonly pending = new Map<number, Pending>()
  private readonly freeIds: number[] = Array.from({ length: 256 }, (_, i) => i)
  private readonly nextStep: Uint8Array
  private readonly ready: number[] = []
  private readonly socket: Socket
  private running = true

  constructor(private readonly options: NasOptions) {
    this.answeredSteps = new Uint8Array(options.sessions)
    this.nextStep = new Uint8Array(options.sessions)
    for (let s = options.sessions - 1; s >= 0; s--) this.ready.push(s)
    this.socket = createSocket('udp4')
    this.socket.on('message', (message) => this.onAnswer(message))
  }

  get nasAddress(): string {
    return `198.19.${Math.floor(this.options.index / 250)}.${(this.options.index % 250) + 1}`
  }

  sessionId(session: number): string {
    return `bench-${this.options.run}-${this.options.index}-${session}`
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
    const last = this.stepsPerSession - 1
    const status = step === 0 ? 1 : step === last ? 2 : 3
    const seconds = step * 300
    return buildAccountingRequest({
      identifier,
      secret: this.options.secret,
      attributes: [
        ['User-Name', `user-${this.options.index}-${session % this.options.users}`],
        ['Acct-Session-Id', this.sessionId(session)],
        ['Acct-Status-Type', status],
        ['NAS-IP-Address', this.nasAddress],
        ['NAS-Port-Id', String(session)],
        ['NAS-Port-Type', 5],
        ['Calling-Station-Id', 'AA:BB:CC:DD:EE:FF'],
        ['Framed-IP-Address', `10.${this.options.index % 250}.${(session >> 8) & 255}.${session & 255}`],
        ['Event-Timestamp', Math.floor(Date.now() / 1000)],
        ...(status === 1
          ? [['Connect-Info', 'WireGuard'] as const]
          : [
              ['Acct-Session-Time', seconds] as const,
              ['Acct-Input-Octets', seconds * 1000] as const,
              ['Acct-Output-Octets', seconds * 2000] as const,
            ]),
        ...(status === 2 ? [['Acct-Terminate-Cause', 1] as const] : []),
      ],
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
    if (entry.step + 1 < this.stepsPerSession) {
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
