import captures from './fixtures/radclient-captures.json' with { type: 'json' }

export const CAPTURE_SECRET = Buffer.from(captures.secret)

/** The raw bytes radclient sent for one of the captured packets. */
export function capture(name: 'start' | 'stop' | 'interim-ipv6'): Buffer {
  const found = captures.packets.find((p) => p.name === name)
  if (!found) throw new Error(`no capture named ${name}`)
  return Buffer.from(found.hex, 'hex')
}
