// The Sync page in a real browser: headless Chromium (Debian's /usr/bin/chromium driven by
// playwright-core) against `fusion demo --manual-sync`, whose ready-made connection starts at
// "Initial sync required" with automatic sync off. Contoso Manufacturing opens Sync, runs a manual
// sync with a start date before every demo ticket, follows the run (its page refreshes itself while
// it is Running) to Success with Created tickets, sees the connection "Ready for automatic sync" and
// the run in the history, and opens its details again from there. Screenshots go to a temporary
// directory.
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
  ({ demo, browser } = await startDemoAndBrowser({ label: 'sync', args: ['--manual-sync'] }));
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

test('a manual sync with a start date from the Sync page shows in history and its details list Created tickets', async (t) => {
  t.diagnostic(`screenshots: ${screenshotDirectory}`);
  const contoso = demoOrganisation('Contoso Manufacturing');
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  try {
    await signIn(page, contoso);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Sync' }).click();
    await page.getByRole('heading', { name: 'Sync', exact: true }).waitFor();
    await page.getByRole('heading', { name: demo.ready.contract_name }).waitFor();
    assert.equal((await page.getByTestId('readiness').innerText()).trim(), 'Initial sync required');
    assert.ok(await page.getByText('No runs in this period.').isVisible(), 'no run yet');
    assert.ok(await page.getByLabel('Run automatically').isDisabled(), 'automatic sync waits for the baseline');
    await screenshot(page, '20-sync-before-first-run');

    // Sync now, since a date before every demo ticket.
    await page.getByLabel('Start date').fill(START_DATE);
    await page.getByRole('button', { name: 'Sync now' }).click();
    await page.getByRole('heading', { name: /^Sync run: / }).waitFor();
    const status = await waitForRunToEnd(page);
    assert.equal(status, 'Success', `the first sync succeeds: ${await page.locator('main').innerText()}`);
    const records = page.getByTestId('records');
    await records.waitFor();
    const createdRows = records.locator('tbody tr').filter({ hasText: 'Created' });
    assert.ok((await createdRows.count()) > 0, 'the run created tickets on the other side');
    const firstCreated = await createdRows.first().innerText();
    assert.match(firstCreated, /T\d{8}\.\d{4}[\s\S]*T\d{8}\.\d{4}/, `ticket numbers on both sides: ${firstCreated}`);
    await screenshot(page, '21-run-details');
    const detailsUrl = new URL(page.url()).pathname;

    // Back on Sync: the baseline is set and the run is in the history.
    await page.getByRole('link', { name: '← Back to Sync' }).click();
    await page.getByRole('heading', { name: 'Sync', exact: true }).waitFor();
    await waitForReadiness(page, 'Ready for automatic sync');
    const history = page.getByTestId('history');
    const runRow = history.locator('tbody tr').first();
    const runText = await runRow.innerText();
    assert.match(runText, /Manual/, runText);
    assert.match(runText, /Success/, runText);
    assert.ok(await page.getByLabel('Run automatically').isEnabled(), 'automatic sync may be switched on now');
    await screenshot(page, '22-sync-history');

    // The history filters: a Failed-only view does not list it.
    await page.getByLabel('Status').selectOption({ label: 'Failed' });
    await page.getByRole('button', { name: 'Show runs' }).click();
    await page.getByText('No runs in this period.').waitFor();
    await page.getByLabel('Status').selectOption({ label: 'Any status' });
    await page.getByRole('button', { name: 'Show runs' }).click();

    // Run details again, from the history.
    await page.getByTestId('history').locator('tbody tr').first().getByRole('link').click();
    await page.getByRole('heading', { name: /^Sync run: / }).waitFor();
    assert.equal(new URL(page.url()).pathname, detailsUrl, 'the history links the same run');
    assert.ok((await page.getByTestId('records').locator('tbody tr').filter({ hasText: 'Created' }).count()) > 0);
    await screenshot(page, '23-run-details-from-history');
  } catch (error) {
    await screenshot(page, '99-sync-failure').catch(() => {});
    throw error;
  } finally {
    await context.close();
  }
});
