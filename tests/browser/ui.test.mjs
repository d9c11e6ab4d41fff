// What a person sees (issue 19), in a real browser: headless Chromium (Debian's /usr/bin/chromium
// driven by playwright-core) against `fusion demo` — connected, synced once, automatic sync on.
// Every page is checked at 390 px (nothing scrolls sideways) and with axe-core (no serious or
// critical accessibility violation); then each finding: Settings' Save and test and the greyed-out
// stale result, the dry run shown where the eye is, the start date written the product's way, the
// Connections links, the Dashboard's pictures and wording, confirming destructive actions without
// JavaScript (and a reload not repeating them), and the wide-screen layout.
//
// Run: `cargo xtask browser`, or `cargo build -p fusion && (cd tests/browser && npm ci) && node --test tests/browser/`
// Env: FUSION_BIN (default target/debug/fusion), CHROMIUM (default /usr/bin/chromium),
//      FUSION_SCREENSHOT_DIR (default: a fresh temporary directory, printed),
//      FUSION_DOCS_SCREENSHOTS=1 also writes the README's screenshots to docs/screenshots/.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import {
  organisationIn,
  repositoryRoot,
  screenshot,
  startDemoAndBrowser,
  stopDemoAndBrowser,
  tenantIn,
} from './harness.mjs';

const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

const docsScreenshots = process.env.FUSION_DOCS_SCREENSHOTS === '1'
  ? path.join(repositoryRoot, 'docs', 'screenshots')
  : null;

const SMALL = { width: 390, height: 844 };
const WIDE = { width: 1366, height: 900 };

/** The running `fusion demo` (child, ready line, banner, stderr) and the browser. */
let demo;
let browser;

before(async () => {
  ({ demo, browser } = await startDemoAndBrowser({ label: 'ui' }));
});

after(() => stopDemoAndBrowser(demo, browser));

const organisation = (name) => organisationIn(demo, name);

const tenantOf = (name) => tenantIn(demo, name);


/** A signed-in page; returns it with the organisation's base path (`/orgs/<id>`). */
async function signedIn(context, name) {
  const page = await context.newPage();
  const who = organisation(name);
  await page.goto(demo.ready.url);
  await page.getByLabel('Email').fill(who.email);
  await page.getByLabel('Password').fill(who.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Settings', exact: true }).waitFor();
  const base = new URL(page.url()).pathname.replace(/\/settings$/, '');
  return { page, base };
}

/** Every page a person of `base` reaches, as paths. */
async function everyPage(page, base) {
  const relationship = demo.ready.relationship_id;
  const connection = `${base}/connections/${relationship}`;
  await page.goto(new URL(`${connection}/mappings`, demo.ready.url).toString());
  const editLink = page.getByRole('link', { name: 'Edit' }).first();
  const mappingEdit = (await editLink.count()) > 0 ? new URL(await editLink.evaluate((a) => a.href)).pathname : null;
  await page.goto(new URL(`${base}/sync`, demo.ready.url).toString());
  const runLink = page.getByTestId('history').locator('tbody tr a').first();
  const runDetails = (await runLink.count()) > 0 ? new URL(await runLink.evaluate((a) => a.href)).pathname : null;
  return [
    `${base}/settings`,
    `${base}/connections`,
    `${base}/sync`,
    `${base}/dashboard`,
    `${connection}/configuration`,
    `${connection}/mappings`,
    `${connection}/description`,
    `${connection}/configuration/import`,
    ...(mappingEdit ? [mappingEdit] : []),
    ...(runDetails ? [runDetails] : []),
  ];
}

async function visit(page, pathname) {
  const response = await page.goto(new URL(pathname, demo.ready.url).toString());
  assert.equal(response.status(), 200, `${pathname} answers 200`);
}

test('no page scrolls sideways at 390 px, and the tab strips fit', async () => {
  for (const name of ['Contoso Manufacturing', 'Northwind IT']) {
    const context = await browser.newContext({ viewport: SMALL });
    try {
      const { page, base } = await signedIn(context, name);
      for (const pathname of await everyPage(page, base)) {
        await visit(page, pathname);
        const width = await page.evaluate(() => document.documentElement.scrollWidth);
        assert.ok(width <= SMALL.width, `${name}: ${pathname} is ${width} px wide at ${SMALL.width} px`);
        for (const nav of await page.getByRole('navigation').all()) {
          for (const link of await nav.getByRole('link').all()) {
            const box = await link.boundingBox();
            assert.ok(box && box.x >= 0 && box.x + box.width <= SMALL.width + 0.5,
              `${name}: ${pathname}: the tab "${await link.innerText()}" is on screen`);
          }
        }
      }
      // "End connection" is on screen in the stacked list.
      await visit(page, `${base}/connections`);
      const end = page.getByText('End connection…');
      const box = await end.boundingBox();
      assert.ok(box && box.x + box.width <= SMALL.width, 'End connection is reachable without scrolling sideways');
      await screenshot(page, `small-connections-${name.split(' ')[0]}`);
    } finally {
      await context.close();
    }
  }
});

test('every page passes axe-core with no serious or critical violation, at both widths', async () => {
  for (const viewport of [WIDE, SMALL]) {
    // bypassCSP lets the test inject axe; the pages themselves carry no script.
    const context = await browser.newContext({ viewport, bypassCSP: true });
    try {
      const { page, base } = await signedIn(context, 'Contoso Manufacturing');
      const pages = await everyPage(page, base);
      await page.goto(new URL('/sign-in', demo.ready.url).toString());
      for (const pathname of pages) {
        await visit(page, pathname);
        await page.evaluate(axeSource);
        const results = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
        const bad = results.violations.filter((violation) => ['serious', 'critical'].includes(violation.impact));
        assert.deepEqual(
          bad.map((violation) => `${violation.id}: ${violation.help} — ${violation.nodes.slice(0, 3).map((node) => node.target.join(' ')).join(', ')}`),
          [],
          `${pathname} at ${viewport.width} px`,
        );
      }
    } finally {
      await context.close();
    }
  }
});

test('Settings: Save and test is the main button, a result that no longer holds is greyed out, and What to do is a list', async () => {
  const context = await browser.newContext({ viewport: WIDE });
  const tenant = tenantOf('Northwind IT');
  try {
    const { page } = await signedIn(context, 'Northwind IT');
    const primary = page.locator('button.button--primary', { hasText: 'Save and test' });
    assert.equal(await primary.count(), 1, 'Save and test is the primary button');
    await primary.click();
    await page.getByText('Saved and tested.').waitFor();
    await page.getByRole('heading', { name: 'Connection tested' }).waitFor();
    assert.match(await page.getByTestId('test-result').innerText(), /Tested the saved settings/);
    assert.match(await page.getByTestId('budget').innerText(), /keeps to 5,000 of the 10,000/);

    // The tenant's API budget: the share is set here, in per cent, and said in requests.
    await page.getByLabel('Share this server may use, per cent').fill('30');
    await page.getByRole('button', { name: 'Save share' }).click();
    await page.waitForURL(/\/settings#api-budget$/);
    assert.match(
      await page.getByTestId('api-budget-sentence').innerText(),
      /may send 3,000 requests an hour to your Autotask database — 30 % of the 10,000 Autotask allows, as set here/,
    );
    assert.match(await page.getByTestId('api-budget-use').innerText(), /Settings, connection tests and webhooks/);
    await page.getByTestId('api-budget').scrollIntoViewIfNeeded();
    await screenshot(page, 'settings-api-budget');

    // A wrong username saved without testing: the green result is no longer shown as if it held.
    await page.getByLabel('API username').fill('jane.doe@northwindit.example');
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await page.getByText(/^Saved\. Press Save and test/).waitFor();
    const stale = page.getByTestId('test-result');
    assert.equal(await stale.getAttribute('class').then((value) => value.includes('result--stale')), true, 'greyed out');
    assert.equal(await page.getByRole('heading', { name: 'Connection tested' }).count(), 0, 'no green "Connection tested" any more');
    await page.getByRole('heading', { name: 'Not tested since the last change' }).waitFor();
    await screenshot(page, 'settings-stale');

    // Save and test tells what is wrong, and what to do as steps.
    await page.getByRole('button', { name: 'Save and test' }).click();
    await page.getByRole('heading', { name: 'Test failed' }).waitFor();
    const steps = await page.getByTestId('what-to-do').locator('li').allInnerTexts();
    assert.ok(steps.length >= 1, 'what to do is a list');
    assert.ok(steps.every((step) => /^[A-Z].*\.$/.test(step.trim())), `each step is a sentence: ${steps.join(' | ')}`);
    await screenshot(page, 'settings-failed');

    // Put it right again.
    await page.getByLabel('API username').fill(tenant.username);
    await page.getByRole('button', { name: 'Save and test' }).click();
    await page.getByRole('heading', { name: 'Connection tested' }).waitFor();
    // An API user that reads costs is told so, with the reason for the guide's level.
    const contosoContext = await browser.newContext({ viewport: WIDE });
    try {
      const contoso = await signedIn(contosoContext, 'Contoso Manufacturing');
      await contoso.page.getByRole('button', { name: 'Save and test' }).click();
      await contoso.page.getByRole('heading', { name: 'Connection tested' }).waitFor();
      assert.match(
        await contoso.page.getByTestId('test-result').innerText(),
        /can read cost fields[\s\S]*"API User \(system\) Can't Read Costs"/,
      );
    } finally {
      await contosoContext.close();
    }
  } finally {
    await context.close();
  }
});

test('Sync: the dry run is shown where the eye is, and the start date is written the product\'s way', async () => {
  const context = await browser.newContext({ viewport: WIDE });
  try {
    const { page, base } = await signedIn(context, 'Contoso Manufacturing');
    await visit(page, `${base}/sync`);
    const since = page.getByLabel('Start date');
    assert.equal(await since.getAttribute('type'), 'text', 'not the browser\'s US-format date picker');
    const offered = await since.inputValue();
    assert.match(offered, /^\d{1,2} [A-Z][a-z]{2} \d{4}$/, `the start date reads like "4 Dec 2026": ${offered}`);
    assert.match(await page.locator('#since_help').innerText(), /last manual sync|last run|7 days ago/);
    assert.equal(await page.locator('.help--warning').count(), 0, 'nothing on the Sync page is styled as an error');

    await since.fill('1 Jan 2000');
    await page.getByRole('button', { name: 'Dry run' }).click();
    const plan = page.getByTestId('dry-run');
    await plan.waitFor();
    assert.equal(new URL(page.url()).hash, '#dry-run', 'the page lands on the result');
    const box = await plan.boundingBox();
    assert.ok(box && box.y > -4 && box.y < WIDE.height, `the result is in view (top at ${box?.y})`);
    assert.match(await plan.innerText(), /since 1 Jan 2000/);
    assert.doesNotMatch(await plan.innerText(), /\(s\)/, 'counts read in words, not "(s)"');
    await screenshot(page, 'sync-dry-run');
    if (docsScreenshots) {
      mkdirSync(docsScreenshots, { recursive: true });
      await page.screenshot({ path: path.join(docsScreenshots, 'sync-dry-run.png') });
    }
  } finally {
    await context.close();
  }
});

test('Connections link each connection to its Sync page, and the readiness badge to where it is resolved', async () => {
  const context = await browser.newContext({ viewport: WIDE });
  try {
    const { page, base } = await signedIn(context, 'Contoso Manufacturing');
    await visit(page, `${base}/connections`);
    const row = page.locator('tr', { hasText: demo.ready.contract_name });
    await row.getByRole('link', { name: 'Sync', exact: true }).click();
    await page.getByRole('heading', { name: 'Sync', exact: true }).waitFor();
    assert.equal(new URL(page.url()).searchParams.get('relationship'), demo.ready.relationship_id);
    await visit(page, `${base}/connections`);
    const badge = page.getByTestId('readiness-link').first();
    assert.equal((await badge.innerText()).trim(), 'Ready for automatic sync');
    await badge.click();
    assert.equal(new URL(page.url()).hash, '#automatic-sync', 'the badge leads to the automatic switch');
    await page.getByLabel('Run automatically').waitFor();
  } finally {
    await context.close();
  }
});

test('the Dashboard draws the last 7 days as pictures that work without JavaScript, in plain words', async () => {
  const context = await browser.newContext({ viewport: WIDE, javaScriptEnabled: false });
  try {
    const { page, base } = await signedIn(context, 'Contoso Manufacturing');
    await visit(page, `${base}/dashboard`);
    const charts = page.locator('figure.chart svg[role="img"]');
    assert.equal(await charts.count(), 2, 'tickets per day for the connection, and requests per hour');
    for (const chart of await charts.all()) {
      const label = await chart.getAttribute('aria-label');
      assert.ok(label && label.length > 20, 'each chart says what it shows');
      const box = await chart.boundingBox();
      assert.ok(box && box.width > 200 && box.height > 80, 'each chart is drawn at a readable size');
    }
    assert.match(await page.getByTestId('tickets-chart').locator('svg').getAttribute('aria-label'), /synced/);
    assert.match(await page.getByTestId('in-sync').innerText(), /^\d[\d,]* tickets? in sync$/);
    const text = await page.locator('main').innerText();
    assert.doesNotMatch(text, /\(s\)/, 'no "run(s)"');
    assert.doesNotMatch(text, /Automatic: (On|Off)/);
    assert.match(text, /Automatic sync: (on, every|off)/);
    assert.match(await page.getByTestId('budget-used').innerText(), /keeps to 5,000 of the 10,000/);
    // The database's use by connection: the demo's connection by its name and partner.
    const use = await page.getByTestId('api-budget-use').locator('tbody tr').allInnerTexts();
    assert.ok(use.some((row) => /\(Northwind IT\)\s+\d+\s+\d+/.test(row)), `a row for the connection: ${use.join(' | ')}`);
    assert.equal(await page.getByRole('button', { name: 'Save share' }).count(), 0, 'the share is set on Settings');
    await screenshot(page, 'dashboard');
    if (docsScreenshots) {
      mkdirSync(docsScreenshots, { recursive: true });
      await page.screenshot({ path: path.join(docsScreenshots, 'dashboard.png'), fullPage: true });
      for (const [name, suffix] of [['settings', '/settings'], ['connections', '/connections'], ['sync', '/sync']]) {
        await visit(page, `${base}${suffix}`);
        await page.screenshot({ path: path.join(docsScreenshots, `${name}.png`) });
      }
    }
  } finally {
    await context.close();
  }
});

test('wide screens use the width: the signed-in line sits beside the navigation, dates do not wrap', async () => {
  const context = await browser.newContext({ viewport: WIDE });
  try {
    const { page, base } = await signedIn(context, 'Contoso Manufacturing');
    await visit(page, `${base}/sync`);
    const nav = await page.getByRole('navigation', { name: 'Main' }).boundingBox();
    const account = await page.locator('.account').boundingBox();
    assert.ok(Math.abs(nav.y + nav.height / 2 - (account.y + account.height / 2)) < 12, 'one header line');
    const main = await page.locator('main').boundingBox();
    assert.ok(main.width >= 1100, `the content column uses the window (${main.width} px)`);
    const started = page.getByTestId('history').locator('tbody td.when').first();
    const lineHeight = await started.evaluate((cell) => parseFloat(getComputedStyle(cell).lineHeight) || 24);
    const box = await started.boundingBox();
    assert.ok(box.height < lineHeight * 2 + 16, `a history date is one line (${box.height} px)`);
  } finally {
    await context.close();
  }
});

test('destructive actions ask to confirm, work without JavaScript, and a reload does not repeat them', async () => {
  const context = await browser.newContext({ viewport: SMALL, javaScriptEnabled: false });
  try {
    const { page, base } = await signedIn(context, 'Northwind IT');
    // A fresh pending connection to revoke.
    await visit(page, `${base}/connections`);
    await page.getByLabel(/^Target/).check();
    await page.getByLabel('Contract name').fill('Revoke me');
    await page.getByRole('button', { name: 'Create connection' }).click();
    await page.getByRole('heading', { name: /Verification code for Revoke me/ }).waitFor();
    const row = page.locator('tr', { hasText: 'Revoke me' });
    const confirm = row.getByRole('button', { name: 'Yes, revoke the code' });
    assert.equal(await confirm.isVisible(), false, 'nothing is revoked by one click');
    await row.getByText('Revoke…').click();
    assert.match(await row.innerText(), /cannot be undone/);
    await confirm.click();
    await page.getByText('Revoke me — Connection revoked.').waitFor();
    assert.equal(new URL(page.url()).searchParams.get('done'), 'revoke', 'the POST redirected to the list');
    await page.reload();
    await page.getByText('Revoke me — Connection revoked.').waitFor();
    assert.equal(await page.getByRole('alert').count(), 0, 'the reload repeated nothing (no refusal shown)');

    // Deleting a mapping: confirm, then back on the list.
    await visit(page, `${base}/connections/${demo.ready.relationship_id}/mappings`);
    const before = await page.locator('tbody tr').count();
    const first = page.locator('tbody tr').first();
    await first.getByText('Delete…').click();
    await first.getByRole('button', { name: 'Yes, delete the mapping' }).click();
    await page.getByText('Mapping removed.').waitFor();
    assert.match(page.url(), /\/mappings\?removed=1$/);
    await page.reload();
    assert.equal(await page.locator('tbody tr').count(), before - 1, 'one mapping removed, once');
  } finally {
    await context.close();
  }
});

test('the first five minutes: the banner says how to raise a test ticket, and the Sync page raises one with just a title', async () => {
  const banner = demo.banner.join('\n');
  assert.match(banner, /Raise a test ticket yourself: sign in as Contoso Manufacturing, open Sync/);
  const context = await browser.newContext({ viewport: WIDE, javaScriptEnabled: false });
  try {
    const { page, base } = await signedIn(context, 'Contoso Manufacturing');
    await visit(page, `${base}/sync`);
    const form = page.getByTestId('demo-ticket');
    await form.getByLabel('Ticket title').fill('Printer on floor 2 jams');
    await form.getByRole('button', { name: 'Raise test ticket' }).click();
    const raised = page.getByText(/^Raised ticket T\d{8}\.\d{4} in your simulated Autotask/);
    await raised.waitFor();
    const number = (await raised.innerText()).match(/T\d{8}\.\d{4}/)[0];
    // Carried across by a run (Sync now, or the automatic run if it holds the connection first):
    // the run that wrote it lists its number.
    await page.getByRole('button', { name: 'Sync now' }).click();
    let found = false;
    for (let attempt = 0; attempt < 75 && !found; attempt += 1) {
      await visit(page, `${base}/sync`);
      for (const link of (await page.getByTestId('history').locator('tbody tr a').all()).slice(0, 5)) {
        const details = await context.newPage();
        await details.goto(await link.evaluate((a) => a.href));
        found = (await details.locator('main').innerText()).includes(number);
        await details.close();
        if (found) break;
      }
      if (!found) await page.waitForTimeout(2_000);
    }
    assert.ok(found, `a run carried ${number} across`);
    // Northwind is not offered the form (tickets start at Contoso in this demo).
    const northwind = await signedIn(await browser.newContext({ viewport: WIDE }), 'Northwind IT');
    await visit(northwind.page, `${northwind.base}/sync`);
    assert.equal(await northwind.page.getByTestId('demo-ticket').count(), 0);
    await northwind.page.context().close();
  } finally {
    await context.close();
  }
});

test('Integration configuration: checkbox lists, a Save bar that stays in view, and the override fields only once chosen', async () => {
  const context = await browser.newContext({ viewport: WIDE });
  try {
    const { page, base } = await signedIn(context, 'Contoso Manufacturing');
    const configuration = `${base}/connections/${demo.ready.relationship_id}/configuration`;
    await visit(page, configuration);
    assert.equal(await page.locator('select[multiple]').count(), 0, 'no Ctrl-click multi-selects');
    const queues = page.getByRole('group', { name: 'Queues' });
    assert.ok((await queues.getByRole('checkbox').count()) >= 2, 'queues are a checkbox list');
    // Scrolled halfway down, Save is still on screen.
    await page.evaluate(() => window.scrollTo(0, document.body.scrollHeight / 2));
    const save = page.getByRole('button', { name: 'Save configuration' });
    const box = await save.boundingBox(); // relative to the viewport
    assert.ok(await page.evaluate(() => window.scrollY) > 500, 'scrolled');
    assert.ok(box && box.y >= 0 && box.y + box.height <= WIDE.height + 1, `the Save bar stays visible (${box?.y})`);
    // Every section is one click away.
    await page.getByRole('navigation', { name: 'Sections of the configuration' }).getByRole('link', { name: 'Closure' }).click();
    assert.equal(new URL(page.url()).hash, '#closure-heading');

    // The override fields appear only once chosen, with the organisation's own zone as the example.
    assert.equal(await page.getByTestId('override-card').count(), 0, 'not shown while unchosen');
    await page.getByRole('checkbox', { name: 'Override API settings for this relationship' }).check();
    await save.click();
    await page.getByTestId('override-card').waitFor();
    assert.equal(
      await page.getByTestId('override-card').getByLabel('API URL').getAttribute('placeholder'),
      tenantOf('Contoso Manufacturing').api_url,
    );
    await page.getByRole('checkbox', { name: 'Override API settings for this relationship' }).uncheck();
    await page.getByRole('button', { name: 'Save configuration' }).click();
    await page.getByText(/^Saved/).first().waitFor();
    assert.equal(await page.getByTestId('override-card').count(), 0, 'hidden again once unchosen');
  } finally {
    await context.close();
  }
});

test('Description preview: the ticket number people know works, and lines show labels, not API names', async () => {
  const context = await browser.newContext({ viewport: WIDE });
  try {
    const { page, base } = await signedIn(context, 'Contoso Manufacturing');
    await visit(page, `${base}/connections/${demo.ready.relationship_id}/description`);
    const main = page.locator('main');
    assert.doesNotMatch(await main.innerText(), /\([a-z]+ID\)/, 'no contactID-style API names');
    const latest = await page.getByText(/^On T\d{8}\.\d{4}/).innerText();
    const number = latest.match(/T\d{8}\.\d{4}/)[0];
    await page.getByLabel('Ticket number').fill(number.toLowerCase());
    await page.getByRole('button', { name: 'Preview' }).click();
    assert.equal(await page.getByText(/^On T\d{8}\.\d{4}/).innerText(), latest, 'the same ticket, found by its number');
    assert.equal(await page.getByRole('alert').count(), 0);
  } finally {
    await context.close();
  }
});

test('Field mappings both ways show the way back, flag values that share a target, and let the person choose', async () => {
  const context = await browser.newContext({ viewport: WIDE, javaScriptEnabled: false });
  try {
    const { page, base } = await signedIn(context, 'Northwind IT');
    await visit(page, `${base}/connections/${demo.ready.relationship_id}/mappings`);
    const note = page.getByTestId('ambiguous-way-back').first();
    const before = await note.innerText();
    const match = before.match(/(\S[^\n]*?) goes back as (.+?) \(also mapped from: (.+?)\)/);
    assert.ok(match, `the list says what a shared target value becomes on the way back: ${before}`);
    const [, target, chosen, other] = match;
    await note.getByRole('link', { name: "Choose on the mapping's page" }).click();
    assert.equal(new URL(page.url()).hash, '#way-back');
    const wayBack = page.getByTestId('way-back');
    assert.match(await wayBack.innerText(), /source values map here/);
    await wayBack.getByLabel(target).selectOption({ label: other });
    await page.getByRole('button', { name: 'Save mapping' }).click();
    await page.getByText(/^Saved/).first().waitFor();
    await visit(page, `${base}/connections/${demo.ready.relationship_id}/mappings`);
    assert.match(
      await page.getByTestId('ambiguous-way-back').first().innerText(),
      new RegExp(`${target} goes back as ${other} \\(also mapped from: ${chosen}\\)`),
      'the choice is kept',
    );
  } finally {
    await context.close();
  }
});
