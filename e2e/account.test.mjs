// The customer's pages in Debian's headless Chromium against the real `kopilka` binary on a
// fresh SQLite file: sign in with a password, see the balance and a card barcode that a
// scanner reads from the screenshot, at phone and desktop widths, with no console errors.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const kopilka = process.env.KOPILKA_BIN ?? join(root, 'target/debug/kopilka');
const screens = join(root, 'docs/screens');
const dir = mkdtempSync(join(tmpdir(), 'kopilka-e2e-'));
const outbox = join(dir, 'outbox.jsonl');
let server, base, browser;

const freePort = () => new Promise((resolve) => {
  const s = createServer().listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
});

async function api(path, body) {
  const res = await fetch(`${base}/api/v1${path}`, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
  return { status: res.status, body: await res.json() };
}

async function lastCode(phone) {
  for (let i = 0; i < 250; i++) {
    try {
      const lines = readFileSync(outbox, 'utf8').trim().split('\n').reverse();
      const sms = lines.map((l) => JSON.parse(l)).find((s) => s.phone === phone);
      if (sms) return sms.text.match(/\b(\d{6})\b/)[1];
    } catch { /* not written yet */ }
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`no SMS to ${phone}`);
}

async function register(phone, password) {
  assert.equal((await api('/auth/otp', { phone })).status, 202);
  const verified = await api('/auth/otp/verify', { phone, code: await lastCode(phone) });
  const done = await api('/auth/register', {
    registration_token: verified.body.registration_token, last_name: 'Иванова', first_name: 'Мария',
    gender: 'female', birth_date: '1990-05-17', city: 'Москва', favourite_category_id: 10,
    consents: { personal_data: true, newsletters: false }, password,
  });
  assert.equal(done.status, 201, JSON.stringify(done.body));
  return done.body.card.number;
}

before(async () => {
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  server = spawn(kopilka, ['serve', '--demo'], {
    env: { ...process.env, KOPILKA_DATABASE_URL: `sqlite://${join(dir, 'k.db')}`, KOPILKA_LISTEN: `127.0.0.1:${port}`, KOPILKA_SMS_OUTBOX: outbox, RUST_LOG: 'warn' },
    stdio: 'ignore',
  });
  for (let i = 0; i < 100; i++) {
    try { if ((await fetch(`${base}/readyz`)).ok) break; } catch { /* starting */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
  mkdirSync(screens, { recursive: true });
});

after(async () => {
  await browser?.close();
  server?.kill();
});

for (const [name, width, height] of [['phone', 390, 844], ['desktop', 1280, 800]]) {
  test(`a customer signs in with a password and sees the account (${name})`, async () => {
    const phone = name === 'phone' ? '+79991230390' : '+79991231280';
    const password = 'Ветер-в-поле-2026';
    const card = await register(phone, password);
    const page = await browser.newPage({ viewport: { width, height }, deviceScaleFactor: name === 'phone' ? 3 : 1, locale: 'ru-RU' });
    const problems = [];
    page.on('console', (m) => { if (m.type() === 'error') problems.push(m.text()); });
    page.on('pageerror', (e) => problems.push(e.message));

    await page.goto(`${base}/login`);
    assert.equal(await page.locator('html').getAttribute('lang'), 'ru');
    await page.screenshot({ path: join(screens, `login-${name}.png`), fullPage: true });
    await page.getByLabel('Телефон или номер карты').fill(phone);
    await page.getByLabel('Пароль').fill(password);
    await page.getByRole('button', { name: 'Войти по паролю' }).click();
    await page.waitForURL(`${base}/account`);
    assert.equal(await page.locator('[data-available]').textContent(), '300');
    assert.ok((await page.content()).includes(card));
    const shot = join(screens, `account-${name}.png`);
    await page.screenshot({ path: shot, fullPage: true });
    // The barcode scans from what the screen shows.
    const read = execFileSync('zbarimg', ['-q', '--raw', shot]).toString().trim();
    assert.equal(read, card);
    assert.deepEqual(problems, []);
    await page.close();
  });
}

test('the card and the last known balance show with the network off', async () => {
  const phone = '+79991230000';
  const password = 'Ветер-в-поле-2026';
  const card = await register(phone, password);
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 3, locale: 'ru-RU' });
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(e.message));
  await page.goto(`${base}/login`);
  await page.getByLabel('Телефон или номер карты').fill(card);
  await page.getByLabel('Пароль').fill(password);
  await page.getByRole('button', { name: 'Войти по паролю' }).click();
  await page.waitForURL(`${base}/account`);
  // The worker takes charge, then one more visit fills what it keeps.
  await page.evaluate(() => navigator.serviceWorker.ready);
  await page.reload();
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null);
  await page.reload();
  const asOf = await page.locator('[data-as-of]').textContent();

  await context.setOffline(true);
  await page.reload();
  assert.equal(await page.locator('[data-available]').textContent(), '300');
  assert.equal(await page.locator('[data-as-of]').textContent(), asOf);
  const shot = join(screens, 'account-offline-phone.png');
  await page.screenshot({ path: shot, fullPage: true });
  assert.equal(execFileSync('zbarimg', ['-q', '--raw', shot]).toString().trim(), card);
  assert.deepEqual(problems, []);

  // Signed out, nothing of the account is kept.
  await context.setOffline(false);
  await page.locator('form[action="/logout"] button').click();
  await page.waitForURL(`${base}/`);
  await page.waitForFunction(async () => !(await caches.has('kopilka-account-v1')));
  await context.close();
});

test('a new phone joins through the wizard, reading its code from the SMS outbox', async () => {
  const phone = '+79991239999';
  const page = await browser.newPage({ viewport: { width: 390, height: 844 }, locale: 'ru-RU' });
  const problems = [];
  page.on('pageerror', (e) => problems.push(e.message));
  await page.goto(`${base}/login`);
  await page.getByLabel('Номер телефона').fill('8 999 123-99-99');
  await page.getByRole('button', { name: 'Получить код' }).click();
  await page.getByLabel('Код из СМС').fill(await lastCode(phone));
  await page.getByRole('button', { name: 'Войти', exact: true }).click();
  await page.waitForURL(`${base}/register`);
  // A mistake first: the message stands beside the field and in the summary.
  await page.getByRole('button', { name: 'Дальше' }).click();
  assert.ok(await page.locator('.error-summary').isVisible());
  await page.screenshot({ path: join(screens, 'register-errors-phone.png'), fullPage: true });
  await page.getByLabel('Фамилия').fill('Петрова');
  await page.getByLabel('Женский').check();
  await page.getByLabel('Дата рождения').fill('1988-03-08');
  await page.getByLabel('Город').fill('Москва');
  await page.getByRole('button', { name: 'Дальше' }).click();
  await page.getByLabel('Согласен(на) на обработку персональных данных').check();
  await page.getByRole('button', { name: 'Дальше' }).click();
  await page.getByLabel('Пароль', { exact: true }).fill('Ветер-в-поле-2026');
  await page.getByLabel('Пароль ещё раз').fill('Ветер-в-поле-2026');
  await page.getByRole('button', { name: 'Дальше' }).click();
  await page.locator('input[name="category"]').first().check();
  await page.screenshot({ path: join(screens, 'register-category-phone.png'), fullPage: true });
  await page.getByRole('button', { name: 'Завершить регистрацию' }).click();
  await page.getByRole('link', { name: 'Начать работу' }).click();
  await page.waitForURL(`${base}/account`);
  assert.equal(await page.locator('[data-available]').textContent(), '300');
  assert.deepEqual(problems, []);
  await page.close();
});
