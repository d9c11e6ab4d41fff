import { chromium } from 'playwright-core';
import fs from 'node:fs';
const ready = JSON.parse(fs.readFileSync('/tmp/uidemo.out','utf8').split('\n')[0]);
const out = process.argv[2] || '/tmp/survey';
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox','--disable-gpu'] });
for (const orgName of ['Contoso Manufacturing']) {
  const org = ready.orgs.find(o => o.name === orgName);
  for (const width of [1366, 390]) {
    const ctx = await browser.newContext({ viewport: { width, height: 900 } });
    const page = await ctx.newPage();
    await page.goto(ready.url);
    await page.getByLabel('Email').fill(org.email);
    await page.getByLabel('Password').fill(org.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForLoadState();
    const orgPath = new URL(page.url()).pathname.replace(/\/settings$/, '');
    const rel = ready.relationship_id;
    const paths = ['settings','dashboard','connections','sync', `connections/${rel}/configuration`, `connections/${rel}/mappings`, `connections/${rel}/description`];
    console.log(page.url());
    for (const p of paths) {
      const url = new URL(`${orgPath}/${p}`, ready.url).toString();
      await page.goto(url);
      const sw = await page.evaluate(() => [document.documentElement.scrollWidth, document.documentElement.scrollHeight]);
      console.log(width, p, sw);
      await page.screenshot({ path: `${out}/${width}-${p.replaceAll('/','_').replace(rel,'R')}.png`, fullPage: true });
    }
    await ctx.close();
  }
}
await browser.close();
