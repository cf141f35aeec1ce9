import type { ComponentChildren } from 'preact'
import type { Session } from '../api/types'
import { formatDuration, formatOctets } from '../format'
import { Time } from './Time'

function Field({ name, children }: { name: string; children: ComponentChildren }) {
  return (
    <>
      <dt>{name}</dt>
      <dd>{children ?? <span class="muted">–</span>}</dd>
    </>
  )
}

const octets = (value: string | null) =>
  value === null ? null : (
    <>
      {formatOctets(value)} <span class="muted">({BigInt(value).toLocaleString()} octets)</span>
    </>
  )

/** Every recorded field of one session. */
export function SessionDetail({ session, onClose }: { session: Session; onClose: () => void }) {
  const s = session
  return (
    <aside class="detail" aria-labelledby="detail-title">
      <div class="view-head">
        <h2 id="detail-title">Session {s.sessionId}</h2>
        <button type="button" class="link" onClick={onClose}>
          Close
        </button>
      </div>
      <dl>
        <Field name="User">{s.username}</Field>
        <Field name="Acct-Session-Id">{s.sessionId}</Field>
        <Field name="NAS">{s.nasIpAddress}</Field>
        <Field name="NAS port">{[s.nasPortId, s.nasPortType].filter(Boolean).join(' · ') || null}</Field>
        <Field name="Start">
          <Time value={s.startTime} />
        </Field>
        <Field name="Stop">{s.stopTime ? <Time value={s.stopTime} /> : <span class="badge">online</span>}</Field>
        <Field name="Last heard">
          <Time value={s.updateTime} />
        </Field>
        <Field name="Duration">{s.sessionTime === null ? null : formatDuration(Number(s.sessionTime))}</Field>
        <Field name="Terminate cause">{s.terminateCause ?? (s.stopTime ? 'not given by the NAS' : null)}</Field>
        <Field name="Framed IP">{s.framedIpAddress}</Field>
        <Field name="Framed IPv6">{s.framedIpv6Address}</Field>
        <Field name="IPv6 prefix">{s.framedIpv6Prefix}</Field>
        <Field name="Delegated prefix">{s.delegatedIpv6Prefix}</Field>
        <Field name="Calling station">{s.callingStationId}</Field>
        <Field name="Connect info">{s.connectInfoStart}</Field>
        <Field name="Input">{octets(s.inputOctets)}</Field>
        <Field name="Output">{octets(s.outputOctets)}</Field>
      </dl>
    </aside>
  )
}
