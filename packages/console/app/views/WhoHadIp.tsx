import { useState } from 'preact/hooks'
import { graphql } from '../api/client'
import { SESSION_FIELDS, type Session } from '../api/types'
import { SessionTable } from '../components/SessionTable'
import { Empty, Failure, Loading } from '../components/states'
import { fromLocalInput, toApiInstant, toLocalInput } from '../format'
import { useAsync } from '../use-async'

const WHO_HAD_IP = `query ($ip: String!, $at: DateTime!) {
  whoHadIp(ip: $ip, at: $at) { ${SESSION_FIELDS} ambiguousAddress }
}`

type Holder = Session & { readonly ambiguousAddress: boolean }

/** Who held an IPv4 or IPv6 address at an instant (in the viewer's zone), one click to the user. */
export function WhoHadIp() {
  const [ip, setIp] = useState('')
  const [at, setAt] = useState(toLocalInput(new Date()))
  const [asked, setAsked] = useState<{ ip: string; at: Date } | null>(null)
  const answer = useAsync(
    asked
      ? async () =>
          (await graphql<{ whoHadIp: Holder[] }>(WHO_HAD_IP, { ip: asked.ip, at: toApiInstant(asked.at) })).whoHadIp
      : null,
    [asked],
  )
  return (
    <section aria-labelledby="ip-title">
      <h1 id="ip-title">Who had this IP</h1>
      <form
        class="filters"
        role="search"
        onSubmit={(e) => {
          e.preventDefault()
          setAsked({ ip: ip.trim(), at: fromLocalInput(at) })
        }}
      >
        <label>
          IP address
          <input
            name="ip"
            required
            autoFocus
            placeholder="10.0.0.5 or 2001:db8::1"
            value={ip}
            onInput={(e) => setIp(e.currentTarget.value)}
          />
        </label>
        <label>
          At (your time)
          <input
            name="at"
            type="datetime-local"
            step="1"
            required
            value={at}
            onInput={(e) => setAt(e.currentTarget.value)}
          />
        </label>
        <button type="submit">Look up</button>
      </form>
      {answer.status === 'idle' && <Empty>An address and an instant: the session that held it then.</Empty>}
      {answer.status === 'loading' && <Loading what="the address's holder" />}
      {answer.status === 'failed' && <Failure error={answer.error} />}
      {answer.status === 'done' && answer.value.length === 0 && (
        <Empty>
          Nobody this client may see held {asked!.ip} at {asked!.at.toLocaleString()}.
        </Empty>
      )}
      {answer.status === 'done' && answer.value.length > 0 && (
        <>
          {answer.value[0]!.ambiguousAddress && (
            <p class="state notice">
              Sessions on more than one NAS held this address then: the accounting cannot say which one had it.
            </p>
          )}
          <SessionTable sessions={answer.value} caption={`Holders of ${asked!.ip}`} />
        </>
      )}
    </section>
  )
}
