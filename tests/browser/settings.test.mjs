// Settings in a real browser: headless Chromium (Debian's /usr/bin/chromium driven by
// playwright-core) against `fusion demo`. A person signs in, enters the demo tenant's Autotask
// credentials, saves, tests ("Connection tested"), then enters a wrong secret, saves, tests
// again ("Test failed" with the reason and what to do). Screenshots go to a temporary directory.
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

/** The running `fusion demo` child, its parsed ready line, and what it wrote on stderr. */
let demo;
let browser;

/** Starts `fusion demo` on a free port with a fresh data directory; resolves with its ready line. */
function startDemo() {
  const dataDirectory = mkdtempSync(path.join(tmpdir(), 'fusion-browser-demo-'));
  const child = spawn(fusionBinary, ['demo', '--listen', '127.0.0.1:0', '--data-dir', dataDirectory], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, RUST_LOG: process.env.RUST_LOG ?? 'warn' },
  });
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

/** The demo organisation to use, and its tenant's credentials from the ready line. */
function demoOrganisation(index) {
  const organisation = demo.ready.orgs[index];
  const tenant = demo.ready.simulator.tenants.find((candidate) => candidate.org === organisation.name);
  assert.ok(tenant, `the ready line lists the simulator tenant of ${organisation.name}`);
  return { organisation, tenant };
}

async function screenshot(page, name) {
  const file = path.join(screenshotDirectory, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

test('a person saves and tests Autotask credentials in Settings, then sees why a wrong secret fails', async (t) => {
  t.diagnostic(`screenshots: ${screenshotDirectory}`);
  const { organisation, tenant } = demoOrganisation(1);
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  try {
    await page.goto(demo.ready.url);
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await screenshot(page, '01-sign-in');
    await page.getByLabel('Email').fill(organisation.email);
    await page.getByLabel('Password').fill(organisation.password);
    await page.getByRole('button', { name: 'Sign in' }).click();

    await page.getByRole('heading', { name: 'Settings', exact: true }).waitFor();
    assert.ok((await page.content()).includes(organisation.name), 'Settings names the signed-in organisation');

    // Enter the values as a person would after copying them from Autotask.
    await page.getByLabel('API URL').fill(tenant.api_url);
    await page.getByLabel('API username').fill(tenant.username);
    await page.getByLabel('API secret').fill(tenant.secret);
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await page.getByText(/^Saved\./).waitFor();
    await screenshot(page, '02-saved');
    assert.equal(await page.getByLabel('API secret').inputValue(), '', 'the secret field is write-only');
    assert.ok(!(await page.content()).includes(tenant.secret), 'the page never shows the secret');

    await page.getByRole('button', { name: 'Test without saving' }).click();
    const success = page.getByRole('heading', { name: 'Connection tested' });
    await success.waitFor();
    const successResult = await page.locator('section.result').innerText();
    assert.match(successResult, new RegExp(tenant.zone_name.replace(/[()]/g, '\\$&')), 'the result names the zone');
    await screenshot(page, '03-connection-tested');

    // A wrong secret: the failure says so, with the reason and what to do.
    const wrongSecret = 'not-the-real-secret-42';
    await page.getByLabel('API secret').fill(wrongSecret);
    await page.getByRole('button', { name: 'Save and test' }).click();
    await page.getByText(/^Saved, but the test failed/).waitFor();
    await page.getByRole('heading', { name: 'Test failed' }).waitFor();
    const failureResult = await page.locator('section.result').innerText();
    assert.match(failureResult, /Authentication failed/, 'the reason is shown');
    const steps = page.getByTestId('what-to-do').locator('li');
    assert.ok((await steps.count()) >= 2, `what to do is a list of steps: ${failureResult}`);
    assert.ok(!(await page.content()).includes(wrongSecret), 'the page never shows the secret');
    await screenshot(page, '04-test-failed');
  } catch (error) {
    await screenshot(page, '99-failure').catch(() => {});
    throw error;
  } finally {
    await context.close();
  }
});

test('a person who enters the portal URL is offered the API URL and can use it with one click', async (t) => {
  const { organisation, tenant } = demoOrganisation(0);
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  try {
    await page.goto(demo.ready.url);
    await page.getByLabel('Email').fill(organisation.email);
    await page.getByLabel('Password').fill(organisation.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Settings', exact: true }).waitFor();

    const portalUrl = tenant.api_url.replace('https://webservices', 'https://ww');
    await page.getByLabel('API URL').fill(portalUrl);
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    const useThis = page.getByRole('button', { name: `Use this: ${tenant.api_url}` });
    await useThis.waitFor();
    await screenshot(page, '05-portal-url-suggestion');
    await useThis.click();
    await page.getByText(/^Saved\./).waitFor();
    assert.equal(await page.getByLabel('API URL').inputValue(), tenant.api_url, 'the API URL was corrected and saved');

    await page.getByRole('button', { name: 'Test without saving' }).click();
    await page.getByRole('heading', { name: 'Connection tested' }).waitFor();
  } catch (error) {
    await screenshot(page, '99-portal-failure').catch(() => {});
    throw error;
  } finally {
    await context.close();
  }
});
