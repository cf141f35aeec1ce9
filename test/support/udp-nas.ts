import { createSocket, type Socket } from 'node:dgram'

/**
 * A NAS for tests: sends raw datagrams from its own socket (optionally from another loopback
 * address) and collects every answer by identifier.
 */
export class UdpNas {
  private readonly answers = new Map<number, Buffer[]>()
  private constructor(private readonly socket: Socket) {
    socket.on('message', (message) => {
      const id = message[1] ?? -1
      this.answers.set(id, [...(this.answers.get(id) ?? []), message])
    })
  }

  static async open(address = '127.0.0.1'): Promise<UdpNas> {
    const socket = createSocket('udp4')
    await new Promise<void>((resolve) => socket.bind(0, address, resolve))
    socket.setSendBufferSize(4 * 1024 * 1024)
    return new UdpNas(socket)
  }

  send(datagram: Buffer, port: number): Promise<void> {
    return new Promise((resolve, reject) =>
      this.socket.send(datagram, port, '127.0.0.1', (error) => (error ? reject(error) : resolve())),
    )
  }

  answersTo(identifier: number): Buffer[] {
    return this.answers.get(identifier) ?? []
  }

  /** Sends, and resends every `retransmitMs` like a NAS, until answered or `timeoutMs` passes. */
  async request(
    datagram: Buffer,
    port: number,
    options: { timeoutMs: number; retransmitMs?: number },
  ): Promise<Buffer | undefined> {
    const id = datagram[1]!
    const before = this.answersTo(id).length
    const deadline = Date.now() + options.timeoutMs
    let nextSend = 0
    while (Date.now() < deadline) {
      if (Date.now() >= nextSend) {
        await this.send(datagram, port)
        nextSend = Date.now() + (options.retransmitMs ?? options.timeoutMs)
      }
      const answers = this.answersTo(id)
      if (answers.length > before) return answers[answers.length - 1]
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    return undefined
  }

  close(): void {
    this.socket.close()
  }
}
