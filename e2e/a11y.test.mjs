// Every page through axe-core in Chromium: no serious or critical accessibility issue, signed
// out and signed in, in Russian and in English.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { start, stop, register, browser as chromiumBrowser, base as baseUrl } from './server.mjs';

const require = createRequire(import.meta.url);
const axePath = require.resolve('axe-core/axe.min.js');
let browser, base;

before(async () => { await start(); browser = chromiumBrowser(); base = baseUrl(); });
after(stop);

async function audit(page, path) {
  await page.goto(`${base}${path}`);
  await page.addScriptTag({ path: axePath });
  const result = await page.evaluate(async () => await window.axe.run(document, { resultTypes: ['violations'] }));
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${path}: ${v.id} (${v.impact}) ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

for (const locale of ['ru-RU', 'en-GB']) {
  test(`no serious or critical accessibility issue on any page (${locale})`, async () => {
    // axe is added as a script of its own; the pages' policy would refuse it, rightly.
    const context = await browser.newContext({ locale, bypassCSP: true, viewport: { width: 390, height: 844 } });
    const page = await context.newPage();
    const found = [];
    for (const path of ['/', '/login', '/register', '/contacts', '/feedback', '/stores', '/catalog?q=молоко', '/promotions']) found.push(...await audit(page, path));
    const phone = locale === 'ru-RU' ? '+79991238001' : '+79991238002';
    const card = await register(phone, 'Ветер-в-поле-2026');
    await page.goto(`${base}/login`);
    await page.locator('#login').fill(card);
    await page.locator('#password').fill('Ветер-в-поле-2026');
    await page.locator('form[action="/login/password"] button').click();
    await page.waitForURL(`${base}/account`);
    for (const path of ['/account', '/account/history', '/account/purchases', '/account/favourite', '/account/offers', '/account/support', '/account/cards', '/account/profile', '/account/sessions', '/account/delete']) {
      found.push(...await audit(page, path));
    }
    await context.close();
    assert.deepEqual(found, []);
  });
}
