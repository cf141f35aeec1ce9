import type { Session } from '../api/types'
import { formatDuration, formatOctets } from '../format'
import { Time } from './Time'

export const userLink = (username: string | null) =>
  username ? <a href={`/console/users/${encodeURIComponent(username)}`}>{username}</a> : <span class="muted">–</span>

const address = (s: Session) => s.framedIpAddress ?? s.framedIpv6Address ?? s.framedIpv6Prefix ?? '–'

/** Sessions as rows: live ones with a ticking duration (`now`), stopped ones with their cause. */
export function SessionTable({
  sessions,
  now,
  selected,
  onSelect,
  caption,
}: {
  sessions: readonly Session[]
  now?: number
  selected?: string | null
  onSelect?: (session: Session) => void
  caption: string
}) {
  return (
    <table class="sessions">
      <caption class="visually-hidden">{caption}</caption>
      <thead>
        <tr>
          <th scope="col">User</th>
          <th scope="col">NAS</th>
          <th scope="col">Framed IP</th>
          <th scope="col">Start</th>
          <th scope="col">{now === undefined ? 'Stop' : 'Duration'}</th>
          <th scope="col" class="number">
            In
          </th>
          <th scope="col" class="number">
            Out
          </th>
          {now === undefined && <th scope="col">Cause</th>}
          {onSelect && (
            <th scope="col">
              <span class="visually-hidden">Detail</span>
            </th>
          )}
        </tr>
      </thead>
      <tbody>
        {sessions.map((s) => (
          <tr key={s.id} data-session-id={s.sessionId} class={selected === s.id ? 'selected' : undefined}>
            <td>{userLink(s.username)}</td>
            <td>{s.nasIpAddress}</td>
            <td>{address(s)}</td>
            <td>
              <Time value={s.startTime} />
            </td>
            <td>
              {now === undefined ? (
                s.stopTime ? (
                  <Time value={s.stopTime} />
                ) : (
                  <span class="badge">online</span>
                )
              ) : (
                formatDuration((now - Date.parse(s.startTime)) / 1000)
              )}
            </td>
            <td class="number">{formatOctets(s.inputOctets)}</td>
            <td class="number">{formatOctets(s.outputOctets)}</td>
            {now === undefined && <td>{s.terminateCause ?? (s.stopTime ? 'not given' : '')}</td>}
            {onSelect && (
              <td>
                <button type="button" class="link" onClick={() => onSelect(s)} aria-label={`Details of ${s.sessionId}`}>
                  Details
                </button>
              </td>
            )}
          </tr>
        ))}
      </tbody>
    </table>
  )
}
