import { createSocket, type RemoteInfo } from 'node:dgram'
import { isIPv6 } from 'node:net'
import { errorCauses, enumName, parsePacket, PacketCode, verifyResponse, type RadiusPacket } from '@radstream/radius'

/** How long to wait for an answer: the first wait, doubled after each retransmission. */
export interface ExchangeTiming {
  readonly timeoutMs: number
  /** Transmissions in all, the first included. */
  readonly attempts: number
}

export interface DaeTarget {
  readonly address: string
  readonly port: number
}

/**
 * ACK and NAK are the NAS's verified answers; TIMEOUT: no answer in time; UNVERIFIED: answers
 * came, but none was signed with the NAS's secret (a secret that differs, or a forged answer), so
 * none was trusted.
 */
export type DaeOutcome = 'ACK' | 'NAK' | 'TIMEOUT' | 'UNVERIFIED'

export interface ErrorCause {
  readonly code: number
  readonly name: string
}

export interface ExchangeResult {
  readonly outcome: DaeOutcome
  /** A NAK's Error-Cause (RFC 5176 section 3.6), when it carries one. */
  readonly errorCause: ErrorCause | undefined
  readonly attempts: number
  readonly elapsedMs: number
  /** Answers from the target that failed parsing, matching or their authenticators. */
  readonly unverifiedResponses: number
}

const ERROR_CAUSE = 101

/** The ACK and NAK codes that answer a Disconnect-Request or a CoA-Request. */
const ANSWERS: ReadonlyMap<number, { ack: number; nak: number }> = new Map([
  [PacketCode.DisconnectRequest, { ack: PacketCode.DisconnectAck, nak: PacketCode.DisconnectNak }],
  [PacketCode.CoaRequest, { ack: PacketCode.CoaAck, nak: PacketCode.CoaNak }],
])

function errorCauseOf(response: RadiusPacket): ErrorCause | undefined {
  const attribute = response.attributes.find((a) => a.type === ERROR_CAUSE && a.value.length === 4)
  if (!attribute) return undefined
  const code = attribute.value.readUInt32BE(0)
  return { code, name: enumName(errorCauses, code) }
}

/** Node reports IPv4 senders as a.b.c.d on udp4 sockets; compare addresses in one text. */
const sameAddress = (a: string, b: string) => a.toLowerCase() === b.toLowerCase()

/**
 * Sends a signed Disconnect- or CoA-Request and waits for its verified answer, retransmitting the
 * same bytes (RFC 5080 section 2.2.1: a retransmission is the same request) with a doubling wait.
 * Only a datagram from the target's address and port, with the request's Identifier, the right
 * code and a Response Authenticator made with `secret` is an answer; anything else is counted and
 * ignored, so a forged or mis-signed datagram can neither end the wait nor be believed.
 */
export function exchange(
  request: Buffer,
  target: DaeTarget,
  secret: Buffer,
  timing: ExchangeTiming,
): Promise<ExchangeResult> {
  const sent = parsePacket(request)
  const answers = ANSWERS.get(sent.code)
  if (!answers) throw new TypeError(`packet code ${sent.code} is not a Disconnect- or CoA-Request`)
  const socket = createSocket(isIPv6(target.address) ? 'udp6' : 'udp4')
  const started = performance.now()
  let attempts = 0
  let unverifiedResponses = 0
  let timer: NodeJS.Timeout | undefined

  return new Promise<ExchangeResult>((resolve, reject) => {
    const finish = (outcome: DaeOutcome, errorCause?: ErrorCause) => {
      clearTimeout(timer)
      socket.close()
      resolve({
        outcome,
        errorCause,
        attempts,
        elapsedMs: Math.round(performance.now() - started),
        unverifiedResponses,
      })
    }
    const transmit = () => {
      if (attempts === timing.attempts) {
        finish(unverifiedResponses > 0 ? 'UNVERIFIED' : 'TIMEOUT')
        return
      }
      const wait = timing.timeoutMs * 2 ** attempts
      attempts++
      // A send error (no route, say) is not fatal: the next transmission or the deadline decides.
      socket.send(request, target.port, target.address, () => undefined)
      timer = setTimeout(transmit, wait)
    }
    socket.on('message', (datagram: Buffer, from: RemoteInfo) => {
      if (!sameAddress(from.address, target.address) || from.port !== target.port) return
      let response: RadiusPacket
      try {
        response = parsePacket(datagram)
      } catch {
        unverifiedResponses++
        return
      }
      const isAnswer = response.code === answers.ack || response.code === answers.nak
      if (
        !isAnswer ||
        response.identifier !== sent.identifier ||
        !verifyResponse(response, sent.authenticator, secret)
      ) {
        unverifiedResponses++
        return
      }
      if (response.code === answers.ack) finish('ACK')
      else finish('NAK', errorCauseOf(response))
    })
    socket.once('error', (error) => {
      clearTimeout(timer)
      socket.close()
      reject(error)
    })
    socket.bind(0, transmit)
  })
}
