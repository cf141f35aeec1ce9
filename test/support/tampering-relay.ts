import { createSocket, type RemoteInfo } from 'node:dgram'

/**
 * A man in the middle on loopback: forwards each request to the real peer and hands the peer's
 * answer back with one bit of its Response Authenticator flipped, so that the answer is genuine
 * FreeRADIUS bytes that no longer verify.
 */
export async function startTamperingRelay(peerPort: number): Promise<{ port: number; stop(): Promise<void> }> {
  const front = createSocket('udp4')
  const back = createSocket('udp4')
  let client: RemoteInfo | undefined
  front.on('message', (request, from) => {
    client = from
    back.send(request, peerPort, '127.0.0.1')
  })
  back.on('message', (answer) => {
    if (!client) return
    const tampered = Buffer.from(answer)
    tampered[4]! ^= 0x01
    front.send(tampered, client.port, client.address)
  })
  await Promise.all([
    new Promise<void>((resolve) => front.bind(0, '127.0.0.1', resolve)),
    new Promise<void>((resolve) => back.bind(0, '127.0.0.1', resolve)),
  ])
  return {
    port: front.address().port,
    stop: async () => {
      front.close()
      back.close()
    },
  }
}
