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
import {
  organisationIn,
  screenshot,
  screenshotDirectory,
  startDemoAndBrowser,
  stopDemoAndBrowser,
  tenantIn,
} from './harness.mjs';

/** The running `fusion demo` (child, ready line, stderr) and the browser. */
let demo;
let browser;

before(async () => {
  ({ demo, browser } = await startDemoAndBrowser({ label: 'settings' }));
});

after(() => stopDemoAndBrowser(demo, browser));

/** The demo organisation to use, and its tenant's credentials from the ready line. */
function demoOrganisation(index) {
  const organisation = organisationIn(demo, index);
  return { organisation, tenant: tenantIn(demo, organisation.name) };
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
