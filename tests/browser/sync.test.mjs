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
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { chromium } from 'playwright-core';

const repositoryRoot = path.resolve(import.meta.dirname, '..', '..');
const fusionBinary = process.env.FUSION_BIN
  ? path.resolve(process.env.FUSION_BIN)
  : path.join(repositoryRoot, 'target', 'debug', 'fusion');
const chromiumPath = process.env.CHROMIUM ?? '/usr/bin/chromium';
const screenshotDirectory = process.env.FUSION_SCREENSHOT_DIR
  ? path.resolve(process.env.FUSION_SCREENSHOT_DIR)
  : mkdtempSync(path.join(tmpdir(), 'fusion-browser-screenshots-'));
mkdirSync(screenshotDirectory, { recursive: true });

/** Before every ticket of the demo world, so the first sync copies them all. */
const START_DATE = '2000-01-01';
/** How long a run may take to finish on a slow machine. */
const RUN_TIMEOUT_MS = 120_000;

/** The running `fusion demo` child, its parsed ready line, and what it wrote on stderr. */
let demo;
let browser;

/** Starts `fusion demo --manual-sync` on a free port with a fresh data directory. */
function startDemo() {
  const dataDirectory = mkdtempSync(path.join(tmpdir(), 'fusion-browser-sync-demo-'));
  const child = spawn(
    fusionBinary,
    ['demo', '--manual-sync', '--listen', '127.0.0.1:0', '--data-dir', dataDirectory],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, RUST_LOG: process.env.RUST_LOG ?? 'warn' },
    },
  );
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  const lines = readline.createInterface({ input: child.stdout });
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    exited.then(({ code, signal }) =>
      reject(new Error(`fusion demo exited before it was ready (code ${code}, signal ${signal}):\n${stderr}`)),
    );
    lines.once('line', (line) => {
      let ready;
      try {
        ready = JSON.parse(line);
      } catch (error) {
        reject(new Error(`the first stdout line of fusion demo is not JSON: ${line}\n${stderr}`));
        return;
      }
      // Keep draining stdout (the banner) so the child never blocks on a full pipe.
      lines.on('line', () => {});
      resolve({ child, ready, exited, stderr: () => stderr });
    });
  });
}

before(async () => {
  assert.ok(existsSync(fusionBinary), `build the binary first (cargo build -p fusion): ${fusionBinary} is missing`);
  assert.ok(existsSync(chromiumPath), `install Chromium first (apt-get install chromium): ${chromiumPath} is missing`);
  demo = await startDemo();
  browser = await chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
});

after(async () => {
  await browser?.close();
  if (demo && demo.child.exitCode === null && demo.child.signalCode === null) {
    demo.child.kill('SIGTERM');
    const { code } = await demo.exited;
    assert.equal(code, 0, `fusion demo stops cleanly on SIGTERM:\n${demo.stderr()}`);
  }
});

function demoOrganisation(name) {
  const organisation = demo.ready.orgs.find((candidate) => candidate.name === name);
  assert.ok(organisation, `the ready line lists ${name}`);
  return organisation;
}

async function screenshot(page, name) {
  const file = path.join(screenshotDirectory, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

async function signIn(page, organisation) {
  await page.goto(demo.ready.url);
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  await page.getByLabel('Email').fill(organisation.email);
  await page.getByLabel('Password').fill(organisation.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Settings', exact: true }).waitFor();
}

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
