import { useState } from 'preact/hooks'
import { signIn, signInReason } from '../api/auth'

/** Sign-in with an API client's id and secret (`radstream client create` prints both). */
export function SignIn() {
  const [clientId, setClientId] = useState('')
  const [secret, setSecret] = useState('')
  const [error, setError] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)
  const submit = async (event: Event) => {
    event.preventDefault()
    setBusy(true)
    setError(null)
    try {
      await signIn(clientId.trim(), secret)
    } catch (failure) {
      setError(failure instanceof Error ? failure.message : String(failure))
      setBusy(false)
    }
  }
  return (
    <main class="sign-in">
      <form onSubmit={submit} aria-labelledby="sign-in-title">
        <h1 id="sign-in-title">radstream console</h1>
        <p class="muted">Sign in with an API client's id and secret.</p>
        {signInReason.value && <p class="state notice">{signInReason.value}</p>}
        <label>
          Client id
          <input
            name="client_id"
            autoComplete="username"
            required
            autoFocus
            value={clientId}
            onInput={(e) => setClientId(e.currentTarget.value)}
          />
        </label>
        <label>
          Client secret
          <input
            name="client_secret"
            type="password"
            autoComplete="current-password"
            required
            value={secret}
            onInput={(e) => setSecret(e.currentTarget.value)}
          />
        </label>
        {error && (
          <p class="state error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  )
}
