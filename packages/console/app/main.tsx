import { render } from 'preact'
import { LocationProvider, Route, Router, useLocation } from 'preact-iso'
import { useEffect } from 'preact/hooks'
import { canQuery, canReadAudit, grant, signOut } from './api/auth'
import { AuditLog } from './views/AuditLog'
import { Charts } from './views/Charts'
import { LiveSessions } from './views/LiveSessions'
import { SignIn } from './views/SignIn'
import { UserHistory } from './views/UserHistory'
import { WhoHadIp } from './views/WhoHadIp'
import './styles.css'

interface View {
  readonly path: string
  readonly title: string
  readonly key: string
  readonly allowed: () => boolean
}

/** The views, each behind the scope its API needs; a digit key (Alt+1..5) opens each. */
const VIEWS: readonly View[] = [
  { path: '/console/live', title: 'Live sessions', key: '1', allowed: canQuery },
  { path: '/console/users', title: 'Users', key: '2', allowed: canQuery },
  { path: '/console/ip', title: 'Who had this IP', key: '3', allowed: canQuery },
  { path: '/console/audit', title: 'Audit log', key: '4', allowed: canReadAudit },
  { path: '/console/charts', title: 'Charts', key: '5', allowed: canQuery },
]

function Home() {
  const { route } = useLocation()
  const first = VIEWS.find((view) => view.allowed())
  useEffect(() => route(first?.path ?? '/console/live', true), [])
  return null
}

function Shell() {
  const { path, route } = useLocation()
  const views = VIEWS.filter((view) => view.allowed())
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      const view = event.altKey && views.find((v) => v.key === event.key)
      if (view) {
        event.preventDefault()
        route(view.path)
      }
    }
    addEventListener('keydown', onKey)
    return () => removeEventListener('keydown', onKey)
  }, [views.length])
  return (
    <>
      <header class="top">
        <span class="brand">radstream</span>
        <nav aria-label="Views">
          {views.map((view) => (
            <a
              key={view.path}
              href={view.path}
              aria-current={path.startsWith(view.path) ? 'page' : undefined}
              title={`Alt+${view.key}`}
            >
              {view.title}
            </a>
          ))}
        </nav>
        <span class="who" title={grant.value?.scopes.join(' ')}>
          {grant.value?.clientId}
        </span>
        <button type="button" class="link" onClick={() => signOut()}>
          Sign out
        </button>
      </header>
      <main>
        <Router>
          <Route path="/console" component={Home} />
          <Route path="/console/live" component={LiveSessions} />
          <Route path="/console/users" component={UserHistory} />
          <Route path="/console/users/:username" component={UserHistory} />
          <Route path="/console/ip" component={WhoHadIp} />
          <Route path="/console/audit" component={AuditLog} />
          <Route path="/console/charts" component={Charts} />
          <Route default component={Home} />
        </Router>
      </main>
    </>
  )
}

function App() {
  if (!grant.value) return <SignIn />
  return (
    <LocationProvider>
      <Shell />
    </LocationProvider>
  )
}

render(<App />, document.getElementById('app')!)
