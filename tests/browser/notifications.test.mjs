// Settings › Notifications in a real browser: headless Chromium (Debian's /usr/bin/chromium driven
// by playwright-core) against `fusion demo` configured with an SMTP server that is a tiny SMTP
// sink inside this test process. A person opens Notifications from Settings, enters a recipient,
// saves, presses "Send test email" and sees where it went (and the sink receives it); an internal
// webhook address is refused with the reason.
//
// Run: `cargo build -p fusion && (cd tests/browser && npm ci) && node --test tests/browser/`
// Env: FUSION_BIN (default target/debug/fusion), CHROMIUM (default /usr/bin/chromium),
//      FUSION_SCREENSHOT_DIR (default: a fresh temporary directory, printed).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import {
  organisationIn,
  screenshot as screenshotNamed,
  screenshotDirectory,
  startDemoAndBrowser,
  stopDemoAndBrowser,
  tenantIn,
} from './harness.mjs';

/** A minimal SMTP responder on a free loopback port that keeps every message it accepts. */
function startSmtpSink() {
  const messages = [];
  const waiters = [];
  const server = net.createServer((socket) => {
    socket.setEncoding('utf8');
    let buffer = '';
    let inData = false;
    let current = { to: [], data: '' };
    socket.write('220 sink.test ESMTP ready\r\n');
    socket.on('data', (chunk) => {
      buffer += chunk;
      let end;
      while ((end = buffer.indexOf('\r\n')) >= 0) {
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (inData) {
          if (line === '.') {
            inData = false;
            messages.push(current);
            waiters.splice(0).forEach((wake) => wake());
            current = { to: [], data: '' };
            socket.write('250 OK queued\r\n');
          } else {
            current.data += `${line}\n`;
          }
          continue;
        }
        const command = line.toUpperCase();
        if (command.startsWith('EHLO') || command.startsWith('HELO')) socket.write('250-sink.test\r\n250 8BITMIME\r\n');
        else if (command.startsWith('MAIL FROM:')) socket.write('250 OK\r\n');
        else if (command.startsWith('RCPT TO:')) {
          current.to.push(line.slice(8).trim());
          socket.write('250 OK\r\n');
        } else if (command === 'DATA') {
          inData = true;
          socket.write('354 go ahead\r\n');
        } else if (command === 'QUIT') socket.end('221 bye\r\n');
        else socket.write('250 OK\r\n');
      }
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      resolve({
        server,
        port: server.address().port,
        messages,
        /** Resolves once at least `count` messages arrived. */
        received: (count) =>
          new Promise((wake) => {
            const check = () => (messages.length >= count ? wake(messages) : waiters.push(check));
            check();
          }),
      });
    });
  });
}

/** The running `fusion demo` (child, ready line, stderr) and the browser. */
let demo;
let browser;
/** The SMTP sink in this process that `fusion demo` sends notification email to. */
let smtp;

before(async () => {
  smtp = await startSmtpSink();
  ({ demo, browser } = await startDemoAndBrowser({
    label: 'notifications',
    env: {
      FUSION_SMTP_HOST: '127.0.0.1',
      FUSION_SMTP_PORT: String(smtp.port),
      FUSION_SMTP_SECURITY: 'none',
      FUSION_SMTP_FROM: 'Support Fusion <fusion@demo.example>',
    },
  }));
});

after(async () => {
  smtp?.server.close();
  await stopDemoAndBrowser(demo, browser);
});

/** The demo organisation to use, and its tenant's credentials from the ready line. */
function demoOrganisation(index) {
  const organisation = organisationIn(demo, index);
  return { organisation, tenant: tenantIn(demo, organisation.name) };
}

const screenshot = (page, name) => screenshotNamed(page, `notifications-${name}`);

test('a person sets up notification email, sends a test that arrives, and is told why an internal webhook is refused', async (t) => {
  t.diagnostic(`screenshots: ${screenshotDirectory}`);
  const organisation = demo.ready.orgs[0];
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  try {
    await page.goto(demo.ready.url);
    await page.getByLabel('Email').fill(organisation.email);
    await page.getByLabel('Password').fill(organisation.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Settings', exact: true }).waitFor();

    await page.getByRole('link', { name: 'Notifications' }).click();
    await page.getByRole('heading', { name: 'Notifications', exact: true }).waitFor();
    assert.ok(
      (await page.content()).includes('This server sends email through its SMTP server.'),
      'the page says email is available',
    );
    await page.getByLabel('Email recipients').fill('ops@contoso.example');
    await page.getByLabel("A connection's sync run failed").check();
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await page.getByText('Notification settings saved').waitFor();
    assert.equal(await page.getByLabel('Email recipients').inputValue(), 'ops@contoso.example');
    await screenshot(page, '01-saved');

    await page.getByRole('button', { name: 'Send test email' }).click();
    await page.getByText('Test email sent to ops@contoso.example').waitFor();
    const [mail] = await smtp.received(1);
    assert.deepEqual(mail.to, ['<ops@contoso.example>'], 'the sink received the test email');
    assert.match(mail.data, /Test notification/);
    await screenshot(page, '02-test-sent');

    await page.getByLabel('Webhook URL').fill('https://169.254.169.254/latest/meta-data/');
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await page.getByText(/Not saved: the webhook host 169\.254\.169\.254 is a cloud metadata address/).waitFor();
    assert.equal(
      await page.getByLabel('Webhook URL').inputValue(),
      'https://169.254.169.254/latest/meta-data/',
      'what was typed is kept to correct',
    );
    await screenshot(page, '03-webhook-refused');
  } catch (error) {
    await screenshot(page, '99-failure').catch(() => {});
    throw error;
  } finally {
    await context.close();
  }
});
