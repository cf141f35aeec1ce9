import { useEffect, useRef, useState } from 'preact/hooks'
import { graphql } from '../api/client'
import { onSessionEvents, type SessionEvent } from '../api/live'
import { SESSION_FIELDS, type Session } from '../api/types'
import { SessionTable } from '../components/SessionTable'
import { Empty, Failure, Loading } from '../components/states'
import { useNow } from '../use-now'

const PAGE = 50

const ONLINE = `query ($nas: String, $userId: Int, $first: Int, $after: String) {
  getOnlineSessions(nasIpAddress: $nas, userId: $userId, first: $first, after: $after) { ${SESSION_FIELDS} }
  onlineSessionCount(nasIpAddress: $nas)
}`
const USER_ID = `query ($username: String!) { userByName(username: $username) { id } }`
const COUNT = `query ($nas: String) { onlineSessionCount(nasIpAddress: $nas) }`
/** The count follows the events, and is asked again this often: an event racing the first count is not counted twice for long. */
const RECOUNT_MS = 30_000

interface Filter {
  readonly nas: string
  readonly username: string
}

interface PageState {
  readonly rows: readonly Session[]
  /** Sessions open now under the NAS filter (the user filter is not counted). */
  readonly count: number
  /** The next page's cursor; null: this is the last page. */
  readonly after: string | null
}

/** Where the page is: its cursor, and those of the pages before it (none: the first page, where new sessions appear). */
interface Position {
  readonly after: string | null
  readonly before: readonly (string | null)[]
}

/** A session event applied to the page on screen: a start joins the first page, a stop leaves. */
function applyEvent(page: PageState, event: SessionEvent, filter: Filter, firstPage: boolean): PageState {
  const matches = !filter.username || event.session.username === filter.username
  const present = page.rows.some((row) => row.id === event.session.id)
  if (event.type === 'STARTED') {
    if (present) return page
    const count = page.count + 1
    if (!matches || !firstPage) return { ...page, count }
    return { ...page, count, rows: [event.session, ...page.rows].slice(0, PAGE) }
  }
  return { ...page, count: Math.max(page.count - 1, 0), rows: page.rows.filter((row) => row.id !== event.session.id) }
}

/**
 * The open sessions, newest first, 50 a page (keyset paging, so tens of thousands cost the page
 * no more than 50), kept live by the sessionEvents subscription: starts appear on the first page,
 * stops leave.
 */
export function LiveSessions() {
  const [filter, setFilter] = useState<Filter>({ nas: '', username: '' })
  const [draft, setDraft] = useState<Filter>(filter)
  const [position, setPosition] = useState<Position>({ after: null, before: [] })
  const [page, setPage] = useState<PageState | null>(null)
  const [error, setError] = useState<unknown>(null)
  const [liveState, setLiveState] = useState<'connecting' | 'live' | 'reconnecting'>('connecting')
  const now = useNow()
  const pending = useRef<SessionEvent[] | null>([])

  useEffect(() => {
    // Events that arrive while the page loads wait, then apply to it: none falls between.
    const firstPage = position.before.length === 0
    pending.current = []
    setPage(null)
    setError(null)
    const stop = onSessionEvents(
      SESSION_FIELDS,
      filter.nas || undefined,
      (event) => {
        if (pending.current) pending.current.push(event)
        else setPage((current) => current && applyEvent(current, event, filter, firstPage))
      },
      setLiveState,
    )
    let current = true
    void (async () => {
      try {
        const userId = filter.username
          ? ((await graphql<{ userByName: { id: number } | null }>(USER_ID, { username: filter.username })).userByName
              ?.id ?? -1)
          : null
        const data = await graphql<{ getOnlineSessions: Session[]; onlineSessionCount: number }>(ONLINE, {
          nas: filter.nas || null,
          userId,
          first: PAGE,
          after: position.after,
        })
        if (!current) return
        let loaded: PageState = {
          rows: data.getOnlineSessions,
          count: data.onlineSessionCount,
          after: data.getOnlineSessions.length === PAGE ? data.getOnlineSessions[PAGE - 1]!.cursor : null,
        }
        for (const event of pending.current ?? []) loaded = applyEvent(loaded, event, filter, firstPage)
        pending.current = null
        setPage(loaded)
      } catch (failure) {
        if (current) setError(failure)
      }
    })()
    return () => {
      current = false
      stop()
    }
  }, [filter, position])

  useEffect(() => {
    const timer = setInterval(() => {
      graphql<{ onlineSessionCount: number }>(COUNT, { nas: filter.nas || null }).then(
        ({ onlineSessionCount }) => setPage((current) => current && { ...current, count: onlineSessionCount }),
        () => undefined,
      )
    }, RECOUNT_MS)
    return () => clearInterval(timer)
  }, [filter])

  const submit = (event: Event) => {
    event.preventDefault()
    setPosition({ after: null, before: [] })
    setFilter({ nas: draft.nas.trim(), username: draft.username.trim() })
  }
  return (
    <section aria-labelledby="live-title">
      <div class="view-head">
        <h1 id="live-title">Live sessions</h1>
        <span class={`live-state ${liveState}`} role="status">
          {liveState === 'live' ? 'live' : liveState === 'connecting' ? 'connecting…' : 'reconnecting…'}
        </span>
        {page && (
          <span class="count" data-testid="online-count">
            {page.count.toLocaleString()} online{filter.nas ? ` on ${filter.nas}` : ''}
          </span>
        )}
      </div>
      <form class="filters" onSubmit={submit} role="search">
        <label>
          NAS
          <input
            name="nas"
            placeholder="e.g. 192.0.2.1"
            value={draft.nas}
            onInput={(e) => setDraft({ ...draft, nas: e.currentTarget.value })}
          />
        </label>
        <label>
          User
          <input
            name="username"
            placeholder="User-Name"
            value={draft.username}
            onInput={(e) => setDraft({ ...draft, username: e.currentTarget.value })}
          />
        </label>
        <button type="submit">Filter</button>
      </form>
      {error ? (
        <Failure error={error} />
      ) : !page ? (
        <Loading what="online sessions" />
      ) : page.rows.length === 0 ? (
        <Empty>No session is online{filter.nas || filter.username ? ' that matches the filter' : ''}.</Empty>
      ) : (
        <SessionTable sessions={page.rows} now={now} caption="Online sessions" />
      )}
      {page && (position.before.length > 0 || page.after) && (
        <nav class="pager" aria-label="Pages">
          <button
            type="button"
            disabled={position.before.length === 0}
            onClick={() => setPosition({ after: position.before.at(-1) ?? null, before: position.before.slice(0, -1) })}
          >
            Newer
          </button>
          <span>page {position.before.length + 1}</span>
          <button
            type="button"
            disabled={!page.after}
            onClick={() => setPosition({ after: page.after, before: [...position.before, position.after] })}
          >
            Older
          </button>
        </nav>
      )}
    </section>
  )
}
