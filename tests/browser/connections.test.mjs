// Organisation connections in a real browser: headless Chromium (Debian's /usr/bin/chromium driven
// by playwright-core) against `fusion demo`. The demo starts with the two organisations already
// connected, so this makes a SECOND connection between them under another contract name, the way
// two people would: Contoso Manufacturing creates it as the Source and reads the verification code
// off the page, signs out; Northwind IT signs in, accepts the code and sees the connection Active,
// then configures its side (company, queue, status for new tickets, from its own tenant's choices),
// adds a status field mapping and fills its values with "Match by label". Contoso then composes
// the description and sees the live preview on one of its own tickets (`Label: value`).
// Screenshots go to a temporary directory.
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

const CONTRACT_NAME = 'Contoso ⇄ Northwind project work (browser test)';

/** The running `fusion demo` (child, ready line, stderr) and the browser. */
let demo;
let browser;

before(async () => {
  ({ demo, browser } = await startDemoAndBrowser({ label: 'connections' }));
});

after(() => stopDemoAndBrowser(demo, browser));

/** The demo organisation called `name` in the ready line (email and password). */
const demoOrganisation = (name) => organisationIn(demo, name);


const signIn = (page, organisation) => signInAs(page, demo, organisation);

async function signOut(page) {
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
}

async function openConnections(page) {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Connections' }).click();
  await page.getByRole('heading', { name: 'Organisation connections' }).waitFor();
}

/** The table row of the connection made by this test (the demo's own connection is there too). */
function connectionRow(page) {
  return page.locator('table.connections tbody tr').filter({ hasText: CONTRACT_NAME });
}

/** The text of the option a select shows as chosen. */
async function chosenLabel(select) {
  return (await select.locator('option:checked').innerText()).trim();
}

test('two organisations connect with a verification code, then configure defaults, a status mapping and the description', async (t) => {
  t.diagnostic(`screenshots: ${screenshotDirectory}`);
  const contoso = demoOrganisation('Contoso Manufacturing');
  const northwind = demoOrganisation('Northwind IT');
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  try {
    // Contoso creates the connection as the Source and reads the code off the page.
    await signIn(page, contoso);
    await openConnections(page);
    assert.ok(
      (await page.locator('table.connections').innerText()).includes(demo.ready.contract_name),
      'the demo starts with its own connection listed',
    );
    await page.getByLabel(/^Source/).check();
    await page.getByLabel('Contract name').fill(CONTRACT_NAME);
    await page.getByRole('button', { name: 'Create connection' }).click();
    const code = (await page.locator('.verification-code code').innerText()).trim();
    assert.match(code, /^[2-9A-HJKMNP-TV-Z]{4}-[2-9A-HJKMNP-TV-Z]{4}-[2-9A-HJKMNP-TV-Z]{4}$/, `a readable code: ${code}`);
    assert.match(await connectionRow(page).innerText(), /Pending/, 'the new connection waits for the partner');
    await screenshot(page, '10-connection-created-with-code');
    await signOut(page);

    // Northwind accepts the code: the connection is Active.
    await signIn(page, northwind);
    await openConnections(page);
    await page.getByLabel('Verification code').fill(code.toLowerCase().replaceAll('-', ' '));
    await page.getByRole('button', { name: 'Accept connection' }).click();
    const row = connectionRow(page);
    await row.waitFor();
    const rowText = await row.innerText();
    assert.match(rowText, /Active/, `the accepted connection is Active: ${rowText}`);
    assert.match(rowText, /Contoso Manufacturing/, 'the partner is named');
    assert.match(rowText, /Target/, 'Northwind is the Target');
    await screenshot(page, '11-connection-accepted');

    // Integration configuration: Northwind's own tenant's choices fill the selects.
    await row.getByRole('link', { name: 'Integration configuration' }).click();
    await page.getByRole('heading', { name: 'Integration configuration', exact: true }).waitFor();
    assert.ok((await page.locator('.lead').first().innerText()).includes(CONTRACT_NAME), 'the page names the connection');
    await page.getByLabel('Company', { exact: true }).selectOption({ label: 'Contoso Manufacturing' });
    await page.getByLabel('Queue', { exact: true }).selectOption({ label: 'Level II Support' });
    await page.getByLabel('Status for new tickets').selectOption({ label: 'New' });
    await page.getByRole('button', { name: 'Save configuration' }).click();
    await page.getByText(/^Saved/).first().waitFor();
    assert.equal(await chosenLabel(page.getByLabel('Company', { exact: true })), 'Contoso Manufacturing');
    assert.equal(await chosenLabel(page.getByLabel('Queue', { exact: true })), 'Level II Support');
    assert.equal(await chosenLabel(page.getByLabel('Status for new tickets')), 'New');
    await screenshot(page, '12-configuration-saved');

    // Field mappings: a status mapping whose values are matched by label.
    await page.getByRole('navigation', { name: 'Configuration' }).getByRole('link', { name: 'Field mappings' }).click();
    await page.getByRole('heading', { name: 'Field mappings (Ticket)' }).waitFor();
    await page.getByLabel('Source field').selectOption({ label: 'Status' });
    await page.getByLabel('Target field').selectOption({ label: 'Status' });
    await page.getByLabel('Direction').selectOption({ label: 'Both' });
    await page.getByRole('button', { name: 'Add mapping' }).click();
    await page.getByRole('heading', { name: 'Status → Status' }).waitFor();
    const newStatus = page.getByLabel('New', { exact: true });
    assert.equal(await chosenLabel(newStatus), '— not mapped —', 'a new mapping has no values yet');
    await page.getByRole('button', { name: 'Match by label' }).click();
    await page.getByText(/^Matched \d+ values? by label/).waitFor();
    assert.equal(await chosenLabel(page.getByLabel('New', { exact: true })), 'New', 'New is matched to New');
    assert.equal(await chosenLabel(page.getByLabel('Complete', { exact: true })), 'Complete', 'Complete is matched');
    await page.getByRole('button', { name: 'Save mapping' }).click();
    await page.getByText(/^Saved/).first().waitFor();
    assert.equal(await chosenLabel(page.getByLabel('New', { exact: true })), 'New', 'the value mapping was saved');
    await screenshot(page, '13-status-mapping-matched');
    await signOut(page);

    // Contoso chooses the company that represents Northwind in its tenant: the connection carries
    // only that company's tickets, and the page says so in words.
    await signIn(page, contoso);
    await openConnections(page);
    await connectionRow(page).getByRole('link', { name: 'Integration configuration' }).click();
    await page.getByRole('heading', { name: 'Integration configuration', exact: true }).waitFor();
    await page.getByLabel('Company', { exact: true }).selectOption({ label: 'Northwind IT' });
    await page.getByRole('button', { name: 'Save configuration' }).click();
    await page.getByText(/^Saved/).first().waitFor();
    await page.getByText(/Only tickets of Northwind IT are sent to Northwind IT/).first().waitFor();
    await screenshot(page, '13b-contoso-scope');

    // Contoso composes the description and previews it on one of the tickets the connection carries.
    await page.getByRole('navigation', { name: 'Configuration' }).getByRole('link', { name: 'Description composition' }).click();
    await page.getByRole('heading', { name: 'Description composition', exact: true }).waitFor();
    await page.getByLabel('Source field').selectOption({ label: 'Ticket number' });
    await page.getByLabel('Label', { exact: true }).fill('Customer ticket');
    await page.getByRole('button', { name: 'Add line' }).click();
    const preview = page.locator('section[aria-labelledby="preview-heading"] pre');
    await preview.waitFor();
    const previewText = await preview.innerText();
    assert.match(previewText, /^Customer ticket: T\d{8}\.\d{4}\n/, `the preview starts with the composed line: ${previewText}`);
    assert.match(previewText, /Reported by Chris Green\./, 'then the original description');
    await screenshot(page, '14-description-preview');
  } catch (error) {
    await screenshot(page, '99-connections-failure').catch(() => {});
    throw error;
  } finally {
    await context.close();
  }
});
