import { useState } from 'preact/hooks'
import { rest } from '../api/client'
import type { AuditEvent, AuditPage } from '../api/types'
import { Time } from '../components/Time'
import { Empty, Failure, Loading } from '../components/states'
import { fromLocalInput, toLocalInput } from '../format'
import { useAsync } from '../use-async'

const SIZE = 50
const HOUR = 3_600_000

interface Query {
  readonly startDate: string
  readonly endDate: string
  readonly initiatorId: string
}

/** The audit log's fields of an event as old -> new. */
function Changes({ event }: { event: AuditEvent }) {
  if (event.fields.length === 0) return <span class="muted">no fields</span>
  return (
    <table class="changes">
      <thead>
        <tr>
          <th scope="col">Field</th>
          <th scope="col">Old</th>
          <th scope="col" aria-label="becomes" />
          <th scope="col">New</th>
        </tr>
      </thead>
      <tbody>
        {event.fields.map((field) => (
          <tr key={field.name}>
            <td>{field.name}</td>
            <td class="old">{field.oldValue ?? <span class="muted">–</span>}</td>
            <td aria-hidden="true">→</td>
            <td class="new">{field.newValue ?? <span class="muted">–</span>}</td>
          </tr>
        ))}
      </tbody>
    </table>
  )
}

/**
 * The REST audit log (the auditor's API): a window of at most 24 hours, an initiator filter,
 * 50 events a page followed by nextCursor; each page's cursor is kept so Previous goes back.
 */
export function AuditLog() {
  const [draft, setDraft] = useState({
    start: toLocalInput(new Date(Date.now() - 24 * HOUR + 60_000)),
    end: toLocalInput(new Date(Date.now() + 60_000)),
    initiatorId: '',
  })
  const [query, setQuery] = useState<Query | null>(null)
  const [cursors, setCursors] = useState<readonly (string | undefined)[]>([undefined])
  const [open, setOpen] = useState<string | null>(null)
  const cursor = cursors.at(-1)
  const page = useAsync(query ? () => rest<AuditPage>('/api/v1/audit-log', { ...query, size: SIZE, cursor }) : null, [
    query,
    cursor,
  ])
  const search = (event: Event) => {
    event.preventDefault()
    setCursors([undefined])
    setQuery({
      startDate: fromLocalInput(draft.start).toISOString(),
      endDate: fromLocalInput(draft.end).toISOString(),
      initiatorId: draft.initiatorId.trim(),
    })
  }
  return (
    <section aria-labelledby="audit-title">
      <h1 id="audit-title">Audit log</h1>
      <form class="filters" role="search" onSubmit={search}>
        <label>
          From (your time)
          <input
            type="datetime-local"
            step="1"
            name="start"
            required
            value={draft.start}
            onInput={(e) => setDraft({ ...draft, start: e.currentTarget.value })}
          />
        </label>
        <label>
          To
          <input
            type="datetime-local"
            step="1"
            name="end"
            required
            value={draft.end}
            onInput={(e) => setDraft({ ...draft, end: e.currentTarget.value })}
          />
        </label>
        <label>
          Initiator
          <input
            name="initiatorId"
            placeholder="client id or user@host"
            value={draft.initiatorId}
            onInput={(e) => setDraft({ ...draft, initiatorId: e.currentTarget.value })}
          />
        </label>
        <button type="submit">Show</button>
      </form>
      <p class="muted">At most 24 hours a window; events appear once their transaction is final.</p>
      {page.status === 'idle' && <Empty>Pick a window (the last 24 hours is filled in) and press Show.</Empty>}
      {page.status === 'loading' && <Loading what="audit events" />}
      {page.status === 'failed' && <Failure error={page.error} />}
      {page.status === 'done' && page.value.auditLogs.length === 0 && <Empty>No audit event in this window.</Empty>}
      {page.status === 'done' && page.value.auditLogs.length > 0 && (
        <table class="audit">
          <caption class="visually-hidden">Audit events, oldest first</caption>
          <thead>
            <tr>
              <th scope="col">Time</th>
              <th scope="col">Initiator</th>
              <th scope="col">Operation</th>
              <th scope="col">Entity</th>
              <th scope="col">Description</th>
              <th scope="col">Fields</th>
            </tr>
          </thead>
          <tbody>
            {page.value.auditLogs.map((event) => (
              <tr key={event.id} data-audit-id={event.id}>
                <td>
                  <Time value={event.timestamp} />
                </td>
                <td>
                  {event.initiatorType}
                  {event.initiatorId && <div class="muted">{event.initiatorId}</div>}
                </td>
                <td>{event.operation}</td>
                <td>
                  {event.entityType} <span class="muted">{event.entityName || event.entityId}</span>
                </td>
                <td>{event.description}</td>
                <td>
                  {open === event.id ? (
                    <Changes event={event} />
                  ) : (
                    <button
                      type="button"
                      class="link"
                      onClick={() => setOpen(event.id)}
                      disabled={event.fields.length === 0}
                    >
                      {event.fields.length} field{event.fields.length === 1 ? '' : 's'}
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {query && (
        <nav class="pager" aria-label="Pages">
          <button type="button" disabled={cursors.length === 1} onClick={() => setCursors(cursors.slice(0, -1))}>
            Previous
          </button>
          <span>page {cursors.length}</span>
          <button
            type="button"
            disabled={page.status !== 'done' || !page.value.nextCursor}
            onClick={() => page.status === 'done' && setCursors([...cursors, page.value.nextCursor])}
          >
            Next
          </button>
        </nav>
      )}
    </section>
  )
}
