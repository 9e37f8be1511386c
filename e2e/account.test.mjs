// The customer's pages in Debian's headless Chromium against the real `kopilka` binary on a
// fresh SQLite file: sign in with a password, see the balance and a card barcode that a
// scanner reads from the screenshot, at phone and desktop widths, with no console errors.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { start, stop, register, lastCode, screens, browser as chromiumBrowser, base as baseUrl } from './server.mjs';

let browser, base;
before(async () => { await start(); browser = chromiumBrowser(); base = baseUrl(); });
after(stop);

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
    // Online, the barcode is a one-time code (prefix 29) that the page renews.
    const oneTime = await page.locator('svg[data-one-time]').getAttribute('data-one-time');
    assert.match(oneTime, /^29\d{11}$/);
    const shot = join(screens, `account-${name}.png`);
    await page.screenshot({ path: shot, fullPage: true });
    // The barcode scans from what the screen shows.
    const read = execFileSync('zbarimg', ['-q', '--raw', shot]).toString().trim();
    assert.equal(read, oneTime);
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
