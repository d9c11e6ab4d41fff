// The Tickets page in a real browser: headless Chromium (Debian's /usr/bin/chromium driven by
// playwright-core) against `fusion demo --manual-sync`. Contoso Manufacturing runs the first sync,
// opens the connection's Tickets from the Sync page, finds a ticket by a title word, retries it
// (a repair run whose details say who started it), unlinks it, finds it under "Unlinked" and links
// it again by the ticket numbers. Screenshots go to a temporary directory.
//
// Run: `cargo build -p fusion && (cd tests/browser && npm ci) && node --test tests/browser/`
// Env: FUSION_BIN (default target/debug/fusion), CHROMIUM (default /usr/bin/chromium),
//      FUSION_SCREENSHOT_DIR (default: a fresh temporary directory, printed).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  organisationIn,
  screenshot,
  screenshotDirectory,
  signIn as signInAs,
  startDemoAndBrowser,
  stopDemoAndBrowser,
} from './harness.mjs';

/** Before every ticket of the demo world, so the first sync copies them all. */
const START_DATE = '2000-01-01';
/** How long a run may take to finish on a slow machine. */
const RUN_TIMEOUT_MS = 120_000;

/** The running `fusion demo` (child, ready line, stderr) and the browser. */
let demo;
let browser;

before(async () => {
  ({ demo, browser } = await startDemoAndBrowser({ label: 'tickets', args: ['--manual-sync'] }));
});

after(() => stopDemoAndBrowser(demo, browser));

const demoOrganisation = (name) => organisationIn(demo, name);


const signIn = (page, organisation) => signInAs(page, demo, organisation);

/** Waits on the run details page (which reloads itself while Running) until the run has ended. */
async function waitForRunToEnd(page) {
  const ended = page.getByTestId('run-status').filter({ hasNotText: 'Running' });
  await ended.waitFor({ timeout: RUN_TIMEOUT_MS });
  return (await ended.innerText()).trim();
}

/**
 * Reloads the Sync page (bounded) until the readiness badge reads `label`: a manual run's record is
 * finished a moment before the server moves the connection to "Ready for automatic sync".
 */
async function waitForReadiness(page, label) {
  let shown = '';
  for (let attempt = 0; attempt < 50; attempt += 1) {
    shown = (await page.getByTestId('readiness').innerText()).trim();
    if (shown === label) return;
    await page.waitForTimeout(200);
    await page.reload();
  }
  assert.fail(`the readiness badge still reads ${shown}, not ${label}`);
}

test('the Tickets page finds a ticket, and Retry now, Unlink and Link repair it as runs that say who asked', async (t) => {
  t.diagnostic(`screenshots: ${screenshotDirectory}`);
  const contoso = demoOrganisation('Contoso Manufacturing');
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  try {
    await signIn(page, contoso);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Sync' }).click();
    await page.getByRole('heading', { name: demo.ready.contract_name }).waitFor();
    await page.getByLabel('Start date').fill(START_DATE);
    await page.getByRole('button', { name: 'Sync now' }).click();
    await page.getByRole('heading', { name: /^Sync run: / }).waitFor();
    assert.equal(await waitForRunToEnd(page), 'Success');

    // From the Sync page to the connection's Tickets.
    await page.getByRole('link', { name: '← Back to Sync' }).click();
    await page.getByTestId('tickets-link').click();
    await page.getByRole('heading', { name: /^Tickets: / }).waitFor();
    const rows = page.getByTestId('ticket-row');
    assert.ok((await rows.count()) > 0, 'the synced tickets are listed');
    const firstTitle = (await rows.first().locator('td').first().innerText()).trim();
    const word = firstTitle.split(/\s+/).find((candidate) => candidate.length > 3) ?? firstTitle;
    assert.equal((await rows.first().getByTestId('ticket-state').innerText()).trim(), 'In sync');
    const targetLink = rows.first().locator('td').nth(2).getByRole('link');
    assert.match(await targetLink.getAttribute('href'), /TicketDetail\.mvc\?.*ticketId=\d+/, 'opens the copy in Autotask');
    await screenshot(page, '40-tickets');

    // Search by a word of the title.
    await page.getByLabel('Ticket number or title words').fill(word);
    await page.getByRole('button', { name: 'Search' }).click();
    await page.getByRole('heading', { name: /^Tickets: / }).waitFor();
    const found = page.getByTestId('ticket-row').filter({ hasText: firstTitle });
    assert.equal(await found.count(), 1, `searching "${word}" finds "${firstTitle}"`);
    const sourceNumber = (await found.locator('td').nth(1).innerText()).trim();
    const targetNumber = (await found.locator('td').nth(2).innerText()).trim();

    // Retry now: a repair run, recorded with who asked.
    await found.getByRole('button', { name: 'Retry now' }).click();
    await page.getByRole('heading', { name: /^Sync run: / }).waitFor();
    await waitForRunToEnd(page);
    const facts = await page.locator('main').innerText();
    assert.match(facts, /Repair, started by /, facts);
    await screenshot(page, '41-repair-run');

    // Unlink it; it shows under "Unlinked" with who did it.
    await page.getByRole('link', { name: 'Tickets of this connection' }).click();
    await page.getByLabel('Ticket number or title words').fill(sourceNumber);
    await page.getByRole('button', { name: 'Search' }).click();
    await page.getByTestId('ticket-row').first().getByRole('button', { name: 'Unlink' }).click();
    await page.getByRole('heading', { name: /^Sync run: / }).waitFor();
    await page.getByRole('link', { name: 'Tickets of this connection' }).click();
    await page.getByLabel('State').selectOption({ label: 'Unlinked' });
    await page.getByRole('button', { name: 'Search' }).click();
    const unlinked = page.getByTestId('ticket-row').filter({ hasText: firstTitle });
    assert.equal(await unlinked.count(), 1);
    assert.match(await unlinked.innerText(), /unlinked by /i);

    // Link the two tickets again by their numbers.
    await page.getByLabel('Source ticket number').fill(sourceNumber);
    await page.getByLabel('Target ticket number').fill(targetNumber);
    await page.getByRole('button', { name: 'Link', exact: true }).click();
    await page.getByRole('heading', { name: /^Sync run: / }).waitFor();
    assert.match(await page.locator('main').innerText(), /Linked by /);
    await screenshot(page, '42-linked-again');
  } catch (error) {
    await screenshot(page, '99-tickets-failure').catch(() => {});
    throw error;
  } finally {
    await context.close();
  }
});
