// What every browser test shares: the binary and Chromium it drives, `fusion demo` started on a
// free port with a fresh data directory (and stopped, checking it exits cleanly), headless
// Chromium, screenshots, and signing in as a demo organisation.
//
// Env: FUSION_BIN (default target/debug/fusion), CHROMIUM (default /usr/bin/chromium),
//      FUSION_SCREENSHOT_DIR (default: a fresh temporary directory).

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { chromium } from 'playwright-core';

export const repositoryRoot = path.resolve(import.meta.dirname, '..', '..');
export const fusionBinary = process.env.FUSION_BIN
  ? path.resolve(process.env.FUSION_BIN)
  : path.join(repositoryRoot, 'target', 'debug', 'fusion');
export const chromiumPath = process.env.CHROMIUM ?? '/usr/bin/chromium';
export const screenshotDirectory = process.env.FUSION_SCREENSHOT_DIR
  ? path.resolve(process.env.FUSION_SCREENSHOT_DIR)
  : mkdtempSync(path.join(tmpdir(), 'fusion-browser-screenshots-'));
mkdirSync(screenshotDirectory, { recursive: true });

/**
 * Starts `fusion demo` (with `args` after `demo`, and `env` added to the environment) on a free
 * port with a fresh data directory. Resolves with the child, its parsed JSON ready line, a promise
 * of its exit, the banner lines it printed after it, and what it wrote on stderr so far.
 */
export function startDemo({ label = 'demo', args = [], env = {} } = {}) {
  const dataDirectory = mkdtempSync(path.join(tmpdir(), `fusion-browser-${label}-`));
  const child = spawn(
    fusionBinary,
    ['demo', ...args, '--listen', '127.0.0.1:0', '--data-dir', dataDirectory],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env, RUST_LOG: process.env.RUST_LOG ?? 'warn' },
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
      // Keep draining stdout (the banner, kept) so the child never blocks on a full pipe.
      const banner = [];
      lines.on('line', (rest) => banner.push(rest));
      resolve({ child, ready, exited, banner, stderr: () => stderr });
    });
  });
}

/** Headless Debian Chromium, never a browser a test tool downloaded. */
export function launchBrowser() {
  return chromium.launch({
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
}

/** The binary and Chromium are there, then the demo (as `startDemo`) and the browser. */
export async function startDemoAndBrowser(options) {
  assert.ok(existsSync(fusionBinary), `build the binary first (cargo build -p fusion): ${fusionBinary} is missing`);
  assert.ok(existsSync(chromiumPath), `install Chromium first (apt-get install chromium): ${chromiumPath} is missing`);
  const demo = await startDemo(options);
  const browser = await launchBrowser();
  return { demo, browser };
}

/** Closes the browser and stops the demo with SIGTERM, which must end it cleanly. */
export async function stopDemoAndBrowser(demo, browser) {
  await browser?.close();
  if (demo && demo.child.exitCode === null && demo.child.signalCode === null) {
    demo.child.kill('SIGTERM');
    const { code } = await demo.exited;
    assert.equal(code, 0, `fusion demo stops cleanly on SIGTERM:\n${demo.stderr()}`);
  }
}

/** A demo organisation from the ready line, by name or by index. */
export function organisationIn(demo, nameOrIndex) {
  const organisation =
    typeof nameOrIndex === 'number'
      ? demo.ready.orgs[nameOrIndex]
      : demo.ready.orgs.find((candidate) => candidate.name === nameOrIndex);
  assert.ok(organisation, `the ready line lists ${nameOrIndex}`);
  return organisation;
}

/** The simulator tenant of a demo organisation, from the ready line. */
export function tenantIn(demo, organisationName) {
  const tenant = demo.ready.simulator.tenants.find((candidate) => candidate.org === organisationName);
  assert.ok(tenant, `the ready line lists the simulator tenant of ${organisationName}`);
  return tenant;
}

/** A full-page screenshot named `name`.png in the screenshot directory; its path. */
export async function screenshot(page, name) {
  const file = path.join(screenshotDirectory, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/** Signs in through the form as `organisation` (from the ready line); lands on Settings. */
export async function signIn(page, demo, organisation) {
  await page.goto(demo.ready.url);
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  await page.getByLabel('Email').fill(organisation.email);
  await page.getByLabel('Password').fill(organisation.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Settings', exact: true }).waitFor();
}
