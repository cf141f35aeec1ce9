import { describe, expect, it } from 'vitest'
import { buildAccountingRequest, parsePacket, readAccountingRequest, type AttributeInput } from '@radstream/radius'
import { recordFromPacket, type IgnoredTimeAttribute } from '@radstream/events'

const ARRIVAL = new Date('2026-11-24T12:00:00.250Z')

/** The event time the collector would record for these attributes, and what it ignored. */
function eventTime(attributes: readonly AttributeInput[]): { at: string; ignored: IgnoredTimeAttribute[] } {
  const bytes = buildAccountingRequest({
    identifier: 1,
    secret: Buffer.from('s'),
    attributes: [['Acct-Status-Type', 1], ['Acct-Session-Id', 'time-1'], ...attributes],
  })
  const packet = parsePacket(bytes)
  const ignored: IgnoredTimeAttribute[] = []
  const record = recordFromPacket(packet, readAccountingRequest(packet), {
    receivedAt: ARRIVAL,
    address: '192.0.2.1',
    port: 1,
    onIgnored: (attribute) => ignored.push(attribute),
  })
  return { at: record.eventTime, ignored }
}

const seconds = (iso: string) => Date.parse(iso) / 1000

describe('the event time of a record', () => {
  it('should be the arrival minus a believable Acct-Delay-Time', () => {
    expect(eventTime([['Acct-Delay-Time', 60]])).toEqual({ at: '2026-11-24T11:59:00.250Z', ignored: [] })
    expect(eventTime([['Acct-Delay-Time', 30 * 86_400]]).ignored).toEqual([])
  })

  it('should ignore an Acct-Delay-Time beyond 30 days, as 4294967295 would date the session in 1890', () => {
    expect(eventTime([['Acct-Delay-Time', 4294967295]])).toEqual({
      at: ARRIVAL.toISOString(),
      ignored: ['Acct-Delay-Time'],
    })
    expect(eventTime([['Acct-Delay-Time', 30 * 86_400 + 1]]).ignored).toEqual(['Acct-Delay-Time'])
  })

  it('should take a believable Event-Timestamp over the delay', () => {
    const sent = seconds('2026-11-24T11:58:00Z')
    expect(
      eventTime([
        ['Event-Timestamp', sent],
        ['Acct-Delay-Time', 5],
      ]),
    ).toEqual({ at: '2026-11-24T11:58:00.000Z', ignored: [] })
  })

  it('should keep an old but plausible Event-Timestamp: buffered or replayed accounting', () => {
    expect(eventTime([['Event-Timestamp', seconds('2024-01-15T10:30:00Z')]])).toEqual({
      at: '2024-01-15T10:30:00.000Z',
      ignored: [],
    })
  })

  it('should ignore an Event-Timestamp before 2000 or more than a day ahead, and fall back to the delay', () => {
    for (const far of ['1999-12-31T23:59:59Z', '1970-01-01T00:00:10Z', '2026-11-25T12:00:01Z']) {
      expect(
        eventTime([
          ['Event-Timestamp', seconds(far)],
          ['Acct-Delay-Time', 10],
        ]),
      ).toEqual({
        at: '2026-11-24T11:59:50.250Z',
        ignored: ['Event-Timestamp'],
      })
    }
  })
})
