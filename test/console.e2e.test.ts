import { mkdir } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createDb, ensureReseller, upsertNasClient, type Db } from '@radstream/db'
import { applyBatch } from '@radstream/sessionizer'
import { accessToken, graphqlAs, newApiClient, type ApiCredentials } from './support/api-client'
import { collectPageErrors, launchChromium } from './support/browser'
import { startPipeline, type RunningPipeline } from './support/pipeline'
import { radclient } from './support/radclient'
import { accountingRecord } from './support/records'
import { testSettings } from './support/settings'

/** Where the tests leave a screenshot of each view; the README links the folder. */
const SCREENSHOTS = fileURLToPath(new URL('../docs/console/', import.meta.url))
const SECRET = 'console-e2e-secret'
const ZONE = 'America/New_York'
const run = Date.now().toString(36)
const u = (name: string) => `${name}-${run}`

const LIVE_NAS = '192.0.2.210'
const LIVE_USER = u('live')
const LIVE_SESSION = u('live-session')
const LIVE_IP = '10.210.0.5'
const ACME_IP = '10.211.0.3'

let pipeline: RunningPipeline
let db: Db
let browser: Browser
let base: string
const clients: Record<'admin' | 'acme' | 'globex' | 'auditor' | 'trail', ApiCredentials> = {} as never
const errors: string[] = []

/** The time a page in ZONE shows for an instant, as formatLocal formats it there. */
const shownInZone = (date: Date) =>
  new Intl.DateTimeFormat('en-US', { dateStyle: 'medium', timeStyle: 'medium', timeZone: ZONE }).format(date)

async function signedIn(
  credentials: ApiCredentials,
  path = '/console',
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({
    viewport: { width: 1440, height: 900 },
    timezoneId: ZONE,
    locale: 'en-US',
  })
  const page = await context.newPage()
  const pageErrors = collectPageErrors(page)
  context.on('close', () => errors.push(...pageErrors))
  await page.goto(`${base}${path}`)
  await submitSignIn(page, credentials)
  await page.getByRole('button', { name: 'Sign out' }).waitFor()
  return { context, page }
}

/** Fills the sign-in form on screen and sends it. */
async function submitSignIn(page: Page, credentials: ApiCredentials): Promise<void> {
  await page.getByLabel('Client id').fill(credentials.clientId)
  await page.getByLabel('Client secret').fill(credentials.clientSecret)
  await page.getByRole('button', { name: 'Sign in' }).click()
}

/** A datetime-local value for an instant, in the page's own zone (as a viewer would type it). */
const localInput = (page: Page, date: Date) =>
  page.evaluate(
    (ms) => new Date(ms - new Date(ms).getTimezoneOffset() * 60_000).toISOString().slice(0, 19),
    date.getTime(),
  )

const screenshot = (page: Page, name: string) => page.screenshot({ path: `${SCREENSHOTS}${name}.png`, fullPage: true })

/** Rows of the chart panel's number table, as text cells. */
const chartNumbers = (page: Page, chart: string) =>
  page
    .locator(`[data-chart="${chart}"] details.data tbody tr`)
    .evaluateAll((rows) => rows.map((row) => [...row.querySelectorAll('td')].map((cell) => cell.textContent ?? '')))

// Chart data of reseller acme, relative to now; within one UTC day (an hour earlier near midnight).
const now = new Date(Math.floor(Date.now() / 1000) * 1000)
const shift = now.getUTCHours() === 0 ? 3_600_000 : 0
const ago = (minutes: number) => new Date(now.getTime() - shift - minutes * 60_000)
const chartDay = ago(50).toISOString().slice(0, 10)

/** One session of acme's; only the open one holds ACME_IP (a second holder would supersede the first). */
function seededSession(user: string, id: string, start: Date, stop?: { at: Date; cause: number; input: number }) {
  const common = [
    ['User-Name', user],
    ['Acct-Session-Id', u(id)],
    ['NAS-IP-Address', '192.0.2.211'],
    ...(stop ? [] : ([['Framed-IP-Address', ACME_IP]] as const)),
  ] as const
  const records = [accountingRecord([...common, ['Acct-Status-Type', 1], ['Event-Timestamp', start.getTime() / 1000]])]
  if (stop)
    records.push(
      accountingRecord([
        ...common,
        ['Acct-Status-Type', 2],
        ['Event-Timestamp', stop.at.getTime() / 1000],
        ['Acct-Session-Time', (stop.at.getTime() - start.getTime()) / 1000],
        ['Acct-Terminate-Cause', stop.cause],
        ['Acct-Input-Octets', stop.input],
        ['Acct-Output-Octets', 1_000_000],
      ]),
    )
  return records
}

beforeAll(async () => {
  const settings = testSettings()
  db = createDb({ url: settings.database.url, poolSize: 2 })
  await upsertNasClient(db, { network: '127.0.0.1', secret: SECRET, name: 'console-e2e' })
  await mkdir(SCREENSHOTS, { recursive: true })
  const acme = await ensureReseller(db, u('acme'))
  await ensureReseller(db, u('globex'))
  clients.admin = await newApiClient(db, ['admin'])
  clients.acme = await newApiClient(db, ['reseller'], u('acme'))
  clients.globex = await newApiClient(db, ['reseller'], u('globex'))
  clients.auditor = await newApiClient(db, ['auditor'])
  clients.trail = await newApiClient(db, ['admin'])
  await db
    .transaction()
    .execute((tx) =>
      applyBatch(tx, [
        ...seededSession(u('ann'), 'a1', ago(50), { at: ago(30), cause: 1, input: 3_000_000 }),
        ...seededSession(u('bob'), 'a2', ago(45), { at: ago(20), cause: 4, input: 5_000_000 }),
        ...seededSession(u('ann'), 'a3', ago(40)),
      ]),
    )
  await db
    .updateTable('users')
    .set({ reseller_id: acme.id })
    .where('username', 'in', [u('ann'), u('bob')])
    .execute()
  pipeline = await startPipeline(settings)
  base = `http://127.0.0.1:${pipeline.api.port}`
  browser = await launchChromium()
}, 120_000)

afterAll(async () => {
  await browser?.close()
  await pipeline?.stop()
  await db?.destroy()
})

describe('operator console in Chromium', () => {
  it('should serve the page with hashed assets cached for a year, and refuse a wrong secret', async () => {
    const index = await fetch(`${base}/console/live`)
    expect(index.status).toBe(200)
    expect(index.headers.get('cache-control')).toBe('no-cache')
    expect(index.headers.get('content-security-policy')).toContain("default-src 'self'")
    const script = /src="(\/console\/assets\/[^"]+\.js)"/.exec(await index.text())?.[1]
    expect(script).toMatch(/index-[\w-]{8}\.js$/)
    const asset = await fetch(`${base}${script}`)
    expect(asset.status).toBe(200)
    expect(asset.headers.get('cache-control')).toContain('immutable')
    expect((await fetch(`${base}/console/assets/missing.js`)).status).toBe(404)

    const context = await browser.newContext({ viewport: { width: 1440, height: 900 } })
    const page = await context.newPage()
    const pageErrors = collectPageErrors(page)
    await page.goto(`${base}/console`)
    await submitSignIn(page, { clientId: clients.admin.clientId, clientSecret: 'not-the-secret' })
    await expect.poll(() => page.getByRole('alert').textContent()).toBe('Unknown client id or wrong secret.')
    await screenshot(page, 'sign-in')
    // The browser itself logs the refused request; nothing else may be printed.
    expect(pageErrors.filter((e) => !e.includes('status of 401'))).toEqual([])
    await context.close()
  })

  it('should show a session started by a real Accounting-Request live, and drop it at its Stop', async () => {
    const { context, page } = await signedIn(clients.admin)
    await page.waitForURL('**/console/live')
    await page.getByLabel('NAS').fill(LIVE_NAS)
    await page.getByRole('button', { name: 'Filter' }).click()
    await expect.poll(() => page.getByTestId('online-count').textContent()).toBe(`0 online on ${LIVE_NAS}`)
    await page.locator('.live-state.live').waitFor()

    const common = [
      `User-Name = "${LIVE_USER}"`,
      `Acct-Session-Id = "${LIVE_SESSION}"`,
      `NAS-IP-Address = ${LIVE_NAS}`,
      `Framed-IP-Address = ${LIVE_IP}`,
    ]
    const startedAt = Math.floor(Date.now() / 1000) - 600
    const start = await radclient(
      pipeline.collector.port,
      SECRET,
      [...common, 'Acct-Status-Type = Start', `Event-Timestamp = ${startedAt}`].join('\n'),
    )
    expect(start.answered, start.output).toBe(true)
    const row = page.locator(`tr[data-session-id="${LIVE_SESSION}"]`)
    await row.waitFor({ timeout: 15_000 })
    expect(await page.getByTestId('online-count').textContent()).toBe(`1 online on ${LIVE_NAS}`)
    expect(await row.locator('td').nth(0).textContent()).toBe(LIVE_USER)
    expect(await row.locator('td').nth(2).textContent()).toBe(LIVE_IP)
    // Times in the viewer's zone, UTC on hover.
    const time = row.locator('time')
    expect(await time.textContent()).toBe(shownInZone(new Date(startedAt * 1000)))
    expect(await time.getAttribute('title')).toBe(
      `${new Date(startedAt * 1000).toISOString().slice(0, 19).replace('T', ' ')} UTC`,
    )
    await screenshot(page, 'live-sessions')

    const stop = await radclient(
      pipeline.collector.port,
      SECRET,
      [
        ...common,
        'Acct-Status-Type = Stop',
        `Event-Timestamp = ${startedAt + 590}`,
        'Acct-Session-Time = 590',
        'Acct-Terminate-Cause = User-Request',
        'Acct-Input-Octets = 123456789',
        'Acct-Output-Octets = 4567',
      ].join('\n'),
    )
    expect(stop.answered, stop.output).toBe(true)
    await row.waitFor({ state: 'detached', timeout: 15_000 })
    expect(await page.getByTestId('online-count').textContent()).toBe(`0 online on ${LIVE_NAS}`)
    await context.close()
  })

  it('should find the user’s history and show a session’s every field', async () => {
    const { context, page } = await signedIn(clients.admin, '/console/users')
    await page.getByLabel('User-Name').fill(LIVE_USER)
    await page.getByLabel('User-Name').press('Enter')
    await page.waitForURL(`**/console/users/${LIVE_USER}`)
    const row = page.locator(`tr[data-session-id="${LIVE_SESSION}"]`)
    await row.getByRole('button', { name: `Details of ${LIVE_SESSION}` }).click()
    const detail = page.locator('aside.detail')
    await detail.waitFor()
    const text = await detail.textContent()
    expect(text).toContain('Terminate causeUser-Request')
    expect(text).toContain('123.5 MB (123,456,789 octets)')
    expect(text).toContain('Duration9m 50s')
    expect(text).toContain(`Framed IP${LIVE_IP}`)
    await screenshot(page, 'user-history')
    await context.close()
  })

  it('should say who had an IP at an instant, one click from the user', async () => {
    const { context, page } = await signedIn(clients.admin, '/console/ip')
    await page.getByLabel('IP address').fill(LIVE_IP)
    const during = new Date(Date.now() - 300_000)
    await page.getByLabel('At (your time)').fill(await localInput(page, during))
    await page.getByRole('button', { name: 'Look up' }).click()
    const row = page.locator(`tr[data-session-id="${LIVE_SESSION}"]`)
    await row.waitFor()
    await screenshot(page, 'who-had-ip')
    await row.getByRole('link', { name: LIVE_USER }).click()
    await page.waitForURL(`**/console/users/${LIVE_USER}`)
    await page.locator(`tr[data-session-id="${LIVE_SESSION}"]`).waitFor()

    await page.getByRole('link', { name: 'Who had this IP' }).click()
    await page.getByLabel('IP address').fill('10.210.0.250')
    await page.getByRole('button', { name: 'Look up' }).click()
    await page.getByText('Nobody this client may see held 10.210.0.250').waitFor()
    await context.close()
  })

  it('should page the audit log by its cursors and show an event’s fields as old -> new', async () => {
    // 55 events by one client: a page of 50, then 5.
    const token = await accessToken(base, clients.trail)
    for (let i = 0; i < 55; i++) {
      const made = await graphqlAs(base, token, 'mutation ($n: String!) { createReseller(name: $n) { id } }', {
        n: u(`trail-${String(i).padStart(2, '0')}`),
      })
      expect(made.status).toBe(200)
    }
    const { context, page } = await signedIn(clients.auditor)
    // An auditor's token reads the audit log only: the console offers nothing else.
    await page.waitForURL('**/console/audit')
    expect(await page.getByRole('navigation', { name: 'Views' }).getByRole('link').allTextContents()).toEqual([
      'Audit log',
    ])
    await page.getByLabel('Initiator').fill(clients.trail.clientId)
    await page.getByRole('button', { name: 'Show' }).click()
    const rows = page.locator('table.audit tbody tr')
    await expect.poll(() => rows.count()).toBe(50)
    await page.getByRole('button', { name: 'Next' }).click()
    await expect.poll(() => rows.count()).toBe(5)
    expect(await rows.last().textContent()).toContain(u('trail-54'))
    await page.getByRole('button', { name: 'Previous' }).click()
    await expect.poll(() => rows.count()).toBe(50)
    const first = rows.first()
    await first.getByRole('button', { name: '1 field' }).click()
    const change = first.locator('table.changes tbody tr')
    expect(await change.locator('td').allTextContents()).toEqual(['name', '–', '→', u('trail-00')])
    await screenshot(page, 'audit-log')
    await context.close()
  })

  it('should draw each chart from the reseller’s data, with the right numbers', async () => {
    const { context, page } = await signedIn(clients.acme, '/console/charts')
    await page.getByLabel('Day (UTC)').fill(chartDay)
    await expect
      .poll(() => chartNumbers(page, 'chart-top-users'))
      .toEqual([
        [u('bob'), '6.00 MB', '6000000', '1'],
        [u('ann'), '4.00 MB', '4000000', '2'],
      ])
    // The activity query is apart from the top users': it may come second.
    await expect
      .poll(() => chartNumbers(page, 'chart-causes'))
      .toEqual([
        ['Idle-Timeout', '1'],
        ['User-Request', '1'],
      ])
    // Open sessions where the count changes: none, the three starts, the two stops.
    expect((await chartNumbers(page, 'chart-concurrent')).map((row) => row[1])).toEqual(['0', '1', '2', '3', '2', '1'])
    const minutes = await chartNumbers(page, 'chart-activity')
    const total = (column: number) => minutes.reduce((sum, row) => sum + Number(row[column]), 0)
    expect([total(1), total(2)]).toEqual([3, 2])
    // Each chart is drawn: uPlot's canvas, sized to its panel.
    for (const chart of ['chart-concurrent', 'chart-activity', 'chart-causes', 'chart-top-users']) {
      const box = await page.locator(`[data-chart="${chart}"] canvas`).boundingBox()
      expect(box?.width, chart).toBeGreaterThan(300)
    }
    await screenshot(page, 'charts')
    await context.close()
  })

  it('should show a reseller its own users and never another reseller’s, anywhere on the page', async () => {
    const own = await signedIn(clients.acme)
    await own.page.waitForURL('**/console/live')
    await own.page.locator(`tr[data-session-id="${u('a3')}"]`).waitFor()
    expect(await own.page.getByRole('navigation', { name: 'Views' }).getByRole('link').allTextContents()).not.toContain(
      'Audit log',
    )
    await own.context.close()

    const { context, page } = await signedIn(clients.globex)
    await page.waitForURL('**/console/live')
    await page
      .getByText(/No session is online|online/)
      .first()
      .waitFor()
    expect(await page.locator('main').textContent()).not.toContain(u('ann'))
    await page.goto(`${base}/console/users/${u('ann')}`)
    await submitSignIn(page, clients.globex)
    await page.getByText(`No user ${u('ann')} that this client may see.`).waitFor()
    await page.getByRole('link', { name: 'Who had this IP' }).click()
    await page.getByLabel('IP address').fill(ACME_IP)
    await page.getByLabel('At (your time)').fill(await localInput(page, ago(35)))
    await page.getByRole('button', { name: 'Look up' }).click()
    await page.getByText(`Nobody this client may see held ${ACME_IP}`).waitFor()
    await page.getByRole('link', { name: 'Charts' }).click()
    await page.getByLabel('Day (UTC)').fill(chartDay)
    await page.locator('[data-chart="chart-top-users"] .state.empty').waitFor()
    expect(await page.locator('main').textContent()).not.toMatch(new RegExp(`${u('ann')}|${u('bob')}`))
    await context.close()
  })

  it('should ask for the secret again when the token expires, and keep the view', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } })
    const page = await context.newPage()
    const pageErrors = collectPageErrors(page)
    await page.clock.install()
    await page.goto(`${base}/console/ip`)
    await submitSignIn(page, clients.admin)
    await page.getByRole('heading', { name: 'Who had this IP' }).waitFor()
    await page.clock.fastForward('01:00:00')
    await page.getByText('Your session expired: sign in again.').waitFor()
    await submitSignIn(page, clients.admin)
    await page.getByRole('heading', { name: 'Who had this IP' }).waitFor()
    errors.push(...pageErrors)
    await context.close()
  })

  it('should have printed no error in any page', () => {
    expect(errors).toEqual([])
  })
})
