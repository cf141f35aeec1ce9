import { useLocation, useRoute } from 'preact-iso'
import { useEffect, useState } from 'preact/hooks'
import { graphql } from '../api/client'
import { SESSION_FIELDS, type Session, type User } from '../api/types'
import { SessionDetail } from '../components/SessionDetail'
import { SessionTable } from '../components/SessionTable'
import { Empty, Failure, Loading } from '../components/states'
import { useAsync } from '../use-async'

const PAGE = 50
const USER = `query ($username: String!) { userByName(username: $username) { id username reseller } }`
const HISTORY = `query ($userId: Int!, $first: Int, $after: String) {
  getConnectionHistory(userId: $userId, first: $first, after: $after) { ${SESSION_FIELDS} }
}`

interface History {
  readonly sessions: readonly Session[]
  readonly more: boolean
}

async function historyPage(userId: number, after: string | null): Promise<History> {
  const { getConnectionHistory } = await graphql<{ getConnectionHistory: Session[] }>(HISTORY, {
    userId,
    first: PAGE,
    after,
  })
  return { sessions: getConnectionHistory, more: getConnectionHistory.length === PAGE }
}

/** A user by User-Name: their sessions newest first, 50 at a time, each with its detail. */
export function UserHistory() {
  const { params } = useRoute()
  const { route } = useLocation()
  const username = params.username ? decodeURIComponent(params.username) : ''
  const [draft, setDraft] = useState(username)
  const [history, setHistory] = useState<History | null>(null)
  const [olderError, setOlderError] = useState<unknown>(null)
  const [selected, setSelected] = useState<Session | null>(null)
  useEffect(() => setDraft(username), [username])

  const user = useAsync(
    username
      ? async () => {
          const found = (await graphql<{ userByName: User | null }>(USER, { username })).userByName
          setHistory(null)
          setSelected(null)
          if (found) setHistory(await historyPage(found.id, null))
          return found
        }
      : null,
    [username],
  )

  const older = async () => {
    if (user.status !== 'done' || !user.value || !history) return
    try {
      const next = await historyPage(user.value.id, history.sessions.at(-1)!.cursor)
      setHistory({ sessions: [...history.sessions, ...next.sessions], more: next.more })
    } catch (failure) {
      setOlderError(failure)
    }
  }

  return (
    <section aria-labelledby="user-title">
      <h1 id="user-title">Users</h1>
      <form
        class="filters"
        role="search"
        onSubmit={(e) => {
          e.preventDefault()
          if (draft.trim()) route(`/console/users/${encodeURIComponent(draft.trim())}`)
        }}
      >
        <label>
          User-Name
          <input name="username" value={draft} autoFocus onInput={(e) => setDraft(e.currentTarget.value)} />
        </label>
        <button type="submit">Find</button>
      </form>
      {user.status === 'idle' && <Empty>Type a User-Name, as the NAS sends it.</Empty>}
      {user.status === 'loading' && <Loading what={`${username}'s sessions`} />}
      {user.status === 'failed' && <Failure error={user.error} />}
      {user.status === 'done' && !user.value && <Empty>No user {username} that this client may see.</Empty>}
      {user.status === 'done' && user.value && history && (
        <div class={selected ? 'with-detail' : undefined}>
          <div>
            <h2>
              {user.value.username}{' '}
              <span class="muted">
                user {user.value.id}
                {user.value.reseller ? ` · ${user.value.reseller}` : ''}
              </span>
            </h2>
            {history.sessions.length === 0 ? (
              <Empty>No sessions recorded.</Empty>
            ) : (
              <SessionTable
                sessions={history.sessions}
                selected={selected?.id ?? null}
                onSelect={setSelected}
                caption={`Sessions of ${user.value.username}, newest first`}
              />
            )}
            {olderError ? <Failure error={olderError} /> : null}
            {history.more && (
              <button type="button" onClick={older}>
                Older sessions
              </button>
            )}
          </div>
          {selected && <SessionDetail session={selected} onClose={() => setSelected(null)} />}
        </div>
      )}
    </section>
  )
}
