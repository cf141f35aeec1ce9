import { useMemo, useState } from 'preact/hooks'
import type { AlignedData } from 'uplot'
import { graphql } from '../api/client'
import { barOptions, Chart, type ChartOptions } from '../components/Chart'
import { DataTable } from '../components/DataTable'
import { Empty, Failure, Loading } from '../components/states'
import { formatLocal, formatOctets, toApiInstant } from '../format'
import { useAsync } from '../use-async'
import { useNow } from '../use-now'

const ACTIVITY = `query ($from: DateTime!, $to: DateTime!, $nas: String) {
  sessionTimeline(from: $from, to: $to, stepSeconds: 60, nasIpAddress: $nas) { at concurrent started stopped }
  terminateCauses(from: $from, to: $to, nasIpAddress: $nas) { cause sessions }
}`
const TOP_USERS = `query ($day: String!) {
  topUsers(by: OCTETS, period: $day, first: 10) { user { username } totalOctets sessions }
}`

interface Step {
  at: string
  concurrent: number
  started: number
  stopped: number
}
interface Activity {
  sessionTimeline: Step[]
  terminateCauses: { cause: string; sessions: number }[]
}
interface TopUser {
  user: { username: string }
  totalOctets: string
  sessions: number
}

const MINUTE = 60_000
const COLORS = {
  line: '#2f6fde',
  started: '#1f9d55',
  stopped: '#d64545',
  bar: '#2f6fde',
  fill: 'rgba(47,111,222,0.35)',
}

const timeSeries = (series: { label: string; stroke: string }[]): ChartOptions => ({
  scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(max, 1) * 1.1] } },
  axes: [{}, { size: 60 }],
  series: [
    { label: 'Time' },
    ...series.map(({ label, stroke }) => ({ label, stroke, width: 2, points: { show: false } })),
  ],
})

const CONCURRENT_OPTIONS = timeSeries([{ label: 'Open sessions', stroke: COLORS.line }])
const ACTIVITY_OPTIONS = timeSeries([
  { label: 'Started', stroke: COLORS.started },
  { label: 'Stopped', stroke: COLORS.stopped },
])

/** The concurrency samples where the count changes: the table stays short, the numbers exact. */
function changePoints(steps: readonly Step[]): Step[] {
  return steps.filter((step, i) => i === 0 || step.concurrent !== steps[i - 1]!.concurrent)
}

function Panel({ title, id, children }: { title: string; id: string; children: preact.ComponentChildren }) {
  return (
    <section class="panel" aria-labelledby={id} data-chart={id}>
      <h2 id={id}>{title}</h2>
      {children}
    </section>
  )
}

/**
 * The network at a glance: sessions open over the window and started and stopped each minute
 * (one sessionTimeline), why sessions ended (terminateCauses), and a day's heaviest users
 * (topUsers): every number computed by PostgreSQL, refreshed each minute.
 */
export function Charts() {
  const [nas, setNas] = useState('')
  const [nasDraft, setNasDraft] = useState('')
  const [hours, setHours] = useState(24)
  const [day, setDay] = useState(new Date().toISOString().slice(0, 10))
  const minute = Math.floor(useNow(MINUTE) / MINUTE) * MINUTE
  const activity = useAsync(
    () =>
      graphql<Activity>(ACTIVITY, {
        from: toApiInstant(new Date(minute + MINUTE - hours * 3_600_000)),
        to: toApiInstant(new Date(minute + MINUTE)),
        nas: nas || null,
      }),
    [nas, hours, minute],
    { keep: true },
  )
  const top = useAsync(() => graphql<{ topUsers: TopUser[] }>(TOP_USERS, { day }), [day, minute], { keep: true })

  const timeline = activity.status === 'done' ? activity.value.sessionTimeline : []
  const seconds = useMemo(() => timeline.map((s) => Date.parse(s.at) / 1000), [timeline])
  const concurrentData = useMemo<AlignedData>(() => [seconds, timeline.map((s) => s.concurrent)], [timeline])
  const activityData = useMemo<AlignedData>(
    () => [seconds, timeline.map((s) => s.started), timeline.map((s) => s.stopped)],
    [timeline],
  )
  const causes = activity.status === 'done' ? activity.value.terminateCauses : []
  const causeOptions = useMemo(
    () =>
      barOptions(
        causes.map((c) => c.cause),
        { label: 'Sessions', stroke: COLORS.bar, fill: COLORS.fill },
      ),
    [causes.map((c) => c.cause).join('\n')],
  )
  const users = top.status === 'done' ? top.value.topUsers : []
  const userOptions = useMemo(
    () =>
      barOptions(
        users.map((u) => u.user.username),
        { label: 'Octets', stroke: COLORS.bar, fill: COLORS.fill },
        formatOctets,
      ),
    [users.map((u) => u.user.username).join('\n')],
  )

  const activityState =
    activity.status === 'failed' ? (
      <Failure error={activity.error} />
    ) : activity.status !== 'done' ? (
      <Loading what="the timeline" />
    ) : null
  return (
    <section aria-labelledby="charts-title">
      <h1 id="charts-title">Charts</h1>
      <form
        class="filters"
        onSubmit={(e) => {
          e.preventDefault()
          setNas(nasDraft.trim())
        }}
      >
        <label>
          NAS
          <input name="nas" placeholder="all" value={nasDraft} onInput={(e) => setNasDraft(e.currentTarget.value)} />
        </label>
        <label>
          Window
          <select name="hours" value={hours} onChange={(e) => setHours(Number(e.currentTarget.value))}>
            <option value={1}>1 hour</option>
            <option value={6}>6 hours</option>
            <option value={24}>24 hours</option>
          </select>
        </label>
        <button type="submit">Apply</button>
      </form>
      <div class="panels">
        <Panel id="chart-concurrent" title={`Open sessions, last ${hours} h${nas ? ` on ${nas}` : ''}`}>
          {activityState ?? (
            <>
              <Chart options={CONCURRENT_OPTIONS} data={concurrentData} />
              <DataTable
                caption="Open sessions where the count changes"
                columns={['From', 'Open']}
                rows={changePoints(timeline).map((s) => [formatLocal(s.at), s.concurrent])}
              />
            </>
          )}
        </Panel>
        <Panel id="chart-activity" title="Sessions started and stopped per minute">
          {activityState ?? (
            <>
              <Chart options={ACTIVITY_OPTIONS} data={activityData} />
              <DataTable
                caption="Minutes with sessions started or stopped"
                columns={['Minute', 'Started', 'Stopped']}
                rows={timeline
                  .filter((s) => s.started || s.stopped)
                  .map((s) => [formatLocal(s.at), s.started, s.stopped])}
              />
            </>
          )}
        </Panel>
        <Panel id="chart-causes" title={`Why sessions ended, last ${hours} h`}>
          {activityState ??
            (causes.length === 0 ? (
              <Empty>No session stopped in the window.</Empty>
            ) : (
              <>
                <Chart options={causeOptions} data={[causes.map((_, i) => i), causes.map((c) => c.sessions)]} />
                <DataTable
                  caption="Stopped sessions by terminate cause"
                  columns={['Cause', 'Sessions']}
                  rows={causes.map((c) => [c.cause, c.sessions])}
                />
              </>
            ))}
        </Panel>
        <Panel id="chart-top-users" title="Top users by traffic">
          <label class="inline">
            Day (UTC)
            <input
              type="date"
              name="day"
              value={day}
              onInput={(e) => e.currentTarget.value && setDay(e.currentTarget.value)}
            />
          </label>
          {top.status === 'failed' ? (
            <Failure error={top.error} />
          ) : top.status !== 'done' ? (
            <Loading what="top users" />
          ) : users.length === 0 ? (
            <Empty>No traffic recorded on {day}.</Empty>
          ) : (
            <>
              <Chart options={userOptions} data={[users.map((_, i) => i), users.map((u) => Number(u.totalOctets))]} />
              <DataTable
                caption={`Top users by traffic on ${day}`}
                columns={['User', 'Traffic', 'Octets', 'Sessions']}
                rows={users.map((u) => [u.user.username, formatOctets(u.totalOctets), u.totalOctets, u.sessions])}
              />
            </>
          )}
        </Panel>
      </div>
    </section>
  )
}
