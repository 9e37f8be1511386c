// A support operator's day in the back office, in Debian's headless Chromium against the real
// binary: find a customer by card, adjust within the limit, ask for more than the limit, an
// administrator approves it on the queue, and the operator answers the customer's ticket; at
// desktop and tablet widths, with no console errors and no serious accessibility issue.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { start, stop, register, staffToken, screens, browser as chromiumBrowser, base as baseUrl } from './server.mjs';

const require = createRequire(import.meta.url);
const axePath = require.resolve('axe-core/axe.min.js');
let browser, base;
before(async () => { await start(); browser = chromiumBrowser(); base = baseUrl(); });
after(stop);

async function axe(page) {
  await page.addScriptTag({ path: axePath });
  const result = await page.evaluate(async () => await window.axe.run(document, { resultTypes: ['violations'] }));
  return result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${page.url()}: ${v.id} ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

async function staffPage(width, height, login, password) {
  // axe is added as a script of its own; the pages' policy would refuse it, rightly.
  const context = await browser.newContext({ viewport: { width, height }, locale: 'ru-RU', bypassCSP: true });
  const page = await context.newPage();
  const problems = [];
  // A form sent back with its errors answers 422 on purpose; Chromium logs that.
  page.on('console', (m) => { if (m.type() === 'error' && !m.text().includes('status of 422')) problems.push(m.text()); });
  page.on('pageerror', (e) => problems.push(e.message));
  await page.goto(`${base}/admin/login`);
  await page.getByLabel('Логин').fill(login);
  await page.getByLabel('Пароль').fill(password);
  await page.getByRole('button', { name: 'Войти по паролю' }).click();
  return { page, problems, close: () => context.close() };
}

for (const [name, width, height] of [['desktop', 1280, 900], ['tablet', 820, 1180]]) {
  test(`support finds a customer by card, asks for a large adjustment, an administrator approves (${name})`, async () => {
    const phone = name === 'desktop' ? '+79995553001' : '+79995553002';
    const card = await register(phone, 'Клиентский-пароль-1');
    await staffToken(`olga.${name}`, 'support', 'поддержка-пароль-2026');
    await staffToken(`anna.${name}`, 'admin', 'админ-пароль-2026-осень');
    const found = [];

    const support = await staffPage(width, height, `olga.${name}`, 'поддержка-пароль-2026');
    const page = support.page;
    await page.waitForURL(`${base}/admin/members`);
    assert.ok(await page.getByRole('link', { name: 'Согласование' }).isVisible());
    assert.equal(await page.getByRole('link', { name: 'Расчётные данные' }).count(), 0);
    await page.getByLabel('Телефон, номер карты, e-mail или фамилия').fill(card);
    await page.getByRole('button', { name: 'Найти' }).click();
    await page.getByRole('link', { name: 'Иванова Мария' }).waitFor();
    await page.screenshot({ path: join(screens, `admin-members-${name}.png`), fullPage: true });
    found.push(...await axe(page));
    await page.getByRole('link', { name: 'Иванова Мария' }).click();
    await page.getByRole('heading', { name: 'Иванова Мария' }).waitFor();
    assert.ok(await page.getByText(card).isVisible());

    // A mistake is named beside its field; within the limit it is applied at once.
    await page.getByLabel('Баллы: с плюсом — начислить, с минусом — списать').fill('сто');
    await page.getByRole('button', { name: 'Провести' }).click();
    assert.ok(await page.locator('#points-error').isVisible());
    assert.ok(await page.locator('#reason-error').isVisible());
    await page.getByLabel('Баллы: с плюсом — начислить, с минусом — списать').fill('+200');
    await page.getByLabel('Причина (увидит клиент в истории)').fill('Компенсация за очередь на кассе');
    await page.getByRole('button', { name: 'Провести' }).click();
    await page.getByText('Корректировка проведена: доступно 500.').waitFor();
    assert.ok(await page.getByText('Корректировка: Компенсация за очередь на кассе').isVisible());

    // Above the limit it waits for an administrator.
    await page.getByLabel('Баллы: с плюсом — начислить, с минусом — списать').fill('7000');
    await page.getByLabel('Причина (увидит клиент в истории)').fill('Компенсация по жалобе на списание');
    await page.getByRole('button', { name: 'Провести' }).click();
    await page.getByText('Сумма выше вашего лимита: корректировка ждёт согласования администратора.').waitFor();
    await page.screenshot({ path: join(screens, `admin-member-${name}.png`), fullPage: true });
    found.push(...await axe(page));

    // The administrator approves it on the queue.
    const admin = await staffPage(width, height, `anna.${name}`, 'админ-пароль-2026-осень');
    await admin.page.getByRole('link', { name: 'Согласование' }).click();
    await admin.page.getByText('Компенсация по жалобе на списание').waitFor();
    await admin.page.screenshot({ path: join(screens, `admin-adjustments-${name}.png`), fullPage: true });
    found.push(...await axe(admin.page));
    await admin.page.getByRole('button', { name: 'Согласовать и провести' }).click();
    await admin.page.getByText('Согласовано и проведено: у клиента доступно 7500.').waitFor();
    assert.ok(await admin.page.getByText('Нечего согласовывать.').isVisible());

    // The operator sees it applied.
    await page.reload();
    assert.equal(await page.locator('.balance').textContent(), '7500');
    assert.ok(await page.getByText('Корректировка: Компенсация по жалобе на списание').isVisible());

    // And answers the customer's question from the tickets queue.
    const signedIn = await fetch(`${base}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ login: card, password: 'Клиентский-пароль-1' }) });
    const customer = (await signedIn.json()).token;
    const asked = await fetch(`${base}/api/v1/me/tickets`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${customer}` }, body: JSON.stringify({ subject: `Баллы за чек (${name})`, body: 'Не пришли баллы за покупку 5 декабря.' }) });
    assert.equal(asked.status, 201, await asked.text());
    await page.getByRole('link', { name: 'Обращения' }).click();
    await page.getByRole('link', { name: `Баллы за чек (${name})` }).click();
    await page.getByText('Не пришли баллы за покупку 5 декабря.').waitFor();
    await page.getByLabel('Ответить').fill('Начислили баллы вручную, проверьте историю.');
    await page.getByRole('button', { name: 'Отправить ответ' }).click();
    await page.getByText('Начислили баллы вручную, проверьте историю.').waitFor();
    await page.screenshot({ path: join(screens, `admin-ticket-${name}.png`), fullPage: true });
    found.push(...await axe(page));

    assert.deepEqual([...support.problems, ...admin.problems], []);
    assert.deepEqual(found, []);
    await support.close();
    await admin.close();
  });
}
