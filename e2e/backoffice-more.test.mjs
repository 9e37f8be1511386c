// The rest of the back office in Debian's headless Chromium against the real binary: a store
// manager opens a till and issues a card batch, support keys in a paper form whose card then
// signs in, marketing writes an offer and sees its reach, accounting reads the points report;
// at desktop and tablet widths, with no console errors and no serious accessibility issue.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { start, stop, register, staffToken, lastCode, createTill, purchase, screens, browser as chromiumBrowser, base as baseUrl } from './server.mjs';

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

async function staffPage(width, height, login, role, password) {
  await staffToken(login, role, password);
  const context = await browser.newContext({ viewport: { width, height }, locale: 'ru-RU', bypassCSP: true, acceptDownloads: true });
  const page = await context.newPage();
  const problems = [];
  page.on('console', (m) => { if (m.type() === 'error' && !m.text().includes('status of 422')) problems.push(m.text()); });
  page.on('pageerror', (e) => problems.push(e.message));
  await page.goto(`${base}/admin/login`);
  await page.getByLabel('Логин').fill(login);
  await page.getByLabel('Пароль').fill(password);
  await page.getByRole('button', { name: 'Войти по паролю' }).click();
  return { page, problems, close: () => context.close() };
}

async function post(path, body, token) {
  const res = await fetch(`${base}/api/v1${path}`, {
    method: 'POST', body: JSON.stringify(body),
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
  });
  return { status: res.status, body: await res.json().catch(() => null) };
}

const sizes = [['desktop', 1280, 900], ['tablet', 820, 1180]];

for (const [name, width, height] of sizes) {
  test(`a store manager opens a till and issues a card batch; support keys in a paper form whose card signs in (${name})`, async () => {
    const found = [];
    const manager = await staffPage(width, height, `pavel.${name}`, 'store_manager', 'управляющий-пароль-2026');
    const page = manager.page;
    await page.waitForURL(`${base}/admin/members`);

    // A till: its key shown once, then listed without it; revoked with a button.
    await page.getByRole('link', { name: 'Кассы' }).click();
    await page.getByLabel('Магазин', { exact: true }).selectOption({ index: 0 });
    await page.getByRole('button', { name: 'Открыть кассу' }).click();
    const key = (await page.locator('#till-key').textContent()).trim();
    assert.match(key, /^kpt/);
    await page.screenshot({ path: join(screens, `admin-tills-${name}.png`), fullPage: true });
    found.push(...await axe(page));
    const identify = await fetch(`${base}/api/v1/pos/identify`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body: JSON.stringify({ barcode: '2600000000000' }) });
    assert.notEqual(identify.status, 401);
    // Revoked after a confirmation, the key is refused within the key cache's second.
    await page.getByRole('link', { name: /Отозвать ключ №/ }).first().click();
    await page.getByRole('button', { name: 'Отозвать ключ' }).click();
    await page.getByText('Ключ кассы отозван.').waitFor();
    let refused = false;
    for (let i = 0; i < 40 && !refused; i++) {
      const again = await fetch(`${base}/api/v1/pos/identify`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body: JSON.stringify({ barcode: '2600000000000' }) });
      refused = again.status === 401;
      if (!refused) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(refused, 'the revoked key is refused');

    // A batch of cards for the printer: its CSV holds the numbers, none bound yet.
    await page.getByRole('link', { name: 'Карты' }).click();
    await page.getByLabel('Сколько карт напечатать').fill('3');
    await page.getByRole('button', { name: 'Выпустить партию' }).click();
    await page.getByText(/Партия №\d+ выпущена/).waitFor();
    const download = page.waitForEvent('download');
    await page.getByRole('link', { name: 'CSV для типографии' }).first().click();
    const csv = await (await download).createReadStream();
    let text = '';
    for await (const chunk of csv) text += chunk;
    const lines = text.trim().split('\n');
    assert.equal(lines[0], 'number,status');
    assert.equal(lines.length, 4);
    const printed = lines[1].split(',')[0];
    assert.equal(lines[1].split(',')[1], 'unbound');
    await page.screenshot({ path: join(screens, `admin-cards-${name}.png`), fullPage: true });
    found.push(...await axe(page));

    // The catalogue: a file with a wrong row changes nothing and names the row; a good one
    // is taken whole.
    await page.getByRole('link', { name: 'Каталог' }).click();
    const products = page.locator('section', { has: page.getByRole('heading', { name: 'Товары' }) });
    const sku = name === 'desktop' ? '9990000000101' : '9990000000118';
    await products.getByLabel('Файл CSV').setInputFiles({ name: 'products.csv', mimeType: 'text/csv',
      buffer: Buffer.from(`sku,name,category_id,price_kop,unit\n${sku},Сыр «Проверочный»,10,19900,шт\n,Без артикула,10,100,шт\n`) });
    await products.getByRole('button', { name: 'Загрузить' }).click();
    await page.getByText('Строка 3: Артикул — от 1 до 64 знаков').waitFor();
    await page.screenshot({ path: join(screens, `admin-catalog-${name}.png`), fullPage: true });
    found.push(...await axe(page));
    await page.locator('section', { has: page.getByRole('heading', { name: 'Товары' }) }).getByLabel('Файл CSV').setInputFiles({ name: 'products.csv', mimeType: 'text/csv',
      buffer: Buffer.from(`sku,name,category_id,price_kop,unit\n${sku},Сыр «Проверочный»,10,19900,шт\n`) });
    await page.locator('section', { has: page.getByRole('heading', { name: 'Товары' }) }).getByRole('button', { name: 'Загрузить' }).click();
    await page.getByText('Товары: загружено строк — 1.').waitFor();
    const search = await fetch(`${base}/api/v1/products?q=${encodeURIComponent('проверочный')}`);
    assert.ok((await search.text()).includes(sku));

    // The paper form: a mistake is named beside its field, then the form is keyed in.
    await page.getByRole('link', { name: 'Бумажная анкета' }).click();
    const phone = name === 'desktop' ? '+79995554001' : '+79995554002';
    await page.getByLabel('Номер карты из анкеты').fill(printed);
    await page.getByLabel('Телефон').fill('12');
    await page.getByRole('button', { name: 'Внести анкету' }).click();
    assert.ok(await page.locator('#phone-error').isVisible());
    assert.ok(await page.locator('#last_name-error').isVisible());
    await page.screenshot({ path: join(screens, `admin-paper-form-${name}.png`), fullPage: true });
    found.push(...await axe(page));
    await page.getByLabel('Телефон').fill(phone);
    await page.getByLabel('Фамилия').fill('Бумажкина');
    await page.getByLabel('Имя').fill('Вера');
    await page.getByText('Женский').click();
    await page.getByLabel('Дата рождения').fill('1961-02-03');
    await page.getByLabel('Город').fill('Тверь');
    await page.getByLabel('Клиент подписал согласие на обработку персональных данных').check();
    await page.getByRole('button', { name: 'Внести анкету' }).click();
    await page.getByText('Анкета внесена, карта привязана.').waitFor();
    assert.ok(await page.getByText(printed).first().isVisible());
    await page.getByRole('link', { name: 'Карты' }).click();
    assert.ok(await page.getByRole('cell', { name: '1', exact: true }).first().isVisible());
    assert.deepEqual(manager.problems, []);
    await manager.close();

    // An administrator reads who did all this in the audit log.
    const admin = await staffPage(width, height, `anna.${name}`, 'admin', 'админ-пароль-2026-осень');
    await admin.page.getByRole('link', { name: 'Журнал действий' }).click();
    await admin.page.getByLabel('Что (member, offer:12…)').fill('till');
    await admin.page.getByRole('button', { name: 'Показать' }).click();
    assert.ok(await admin.page.getByRole('cell', { name: 'till.revoke' }).first().isVisible());
    assert.ok(await admin.page.getByRole('cell', { name: `pavel.${name}` }).first().isVisible());
    await admin.page.screenshot({ path: join(screens, `admin-audit-${name}.png`), fullPage: true });
    found.push(...await axe(admin.page));
    assert.deepEqual(admin.problems, []);
    await admin.close();

    // The customer sets a password through recovery and signs in on the site with the card.
    assert.equal((await post('/auth/password-reset', { login: printed })).status, 202);
    const reset = await post('/auth/password-reset/confirm', { login: printed, code: await lastCode(phone), password: 'Бумажный-пароль-1' });
    assert.ok(reset.status < 300, JSON.stringify(reset.body));
    const context = await browser.newContext({ viewport: { width, height }, locale: 'ru-RU' });
    const customer = await context.newPage();
    await customer.goto(`${base}/login`);
    await customer.getByLabel('Телефон или номер карты').fill(printed);
    await customer.getByLabel('Пароль').fill('Бумажный-пароль-1');
    await customer.getByRole('button', { name: 'Войти по паролю' }).click();
    await customer.waitForURL(`${base}/account`);
    assert.ok(await customer.getByText('300').first().isVisible());
    await context.close();
    assert.deepEqual(found, []);
  });

  test(`marketing writes an offer and sees its reach; accounting reads the points report (${name})`, async () => {
    const found = [];
    const suffix = name === 'desktop' ? '1' : '2';
    for (const n of ['1', '2']) {
      const token = await post('/auth/otp', { phone: `+7999555${suffix}10${n}` });
      assert.equal(token.status, 202);
    }
    const buyer = await register(`+79995556${suffix}01`, 'Клиентский-пароль-1');
    const key = createTill(1);
    await purchase(key, { receipt_id: `e2e-report-${name}`, barcode: buyer, redeem_points: 100,
      lines: [{ line_id: '1', sku: '4607001771234', category_id: 10, amount_kop: 250000 }] });

    const marketing = await staffPage(width, height, `mila.${name}`, 'marketing', 'маркетинг-пароль-2026');
    let page = marketing.page;
    await page.waitForURL(`${base}/admin/offers`);
    await page.getByRole('link', { name: 'Новое предложение' }).click();
    await page.getByLabel('Название').fill(`Двойные баллы на молочное (${name})`);
    await page.getByLabel('Описание для клиента').fill('Вдвое больше баллов за молочные продукты');
    await page.getByText('Жителям города…').click();
    await page.getByLabel('Город', { exact: true }).fill('Москва');
    // Without waiting for script: the button counts the reach on the server.
    await page.getByRole('button', { name: 'Посчитать охват' }).click();
    await page.getByText(/Охват сейчас, клиентов: \d+/).waitFor();
    const reach = Number((await page.locator('[data-reach]').textContent()).match(/\d+/)[0]);
    assert.ok(reach >= 1, `reach ${reach}`);
    // With script, the reach follows the targeting as it is typed.
    await page.getByLabel('Город', { exact: true }).fill('Нигдеград');
    await page.getByText('Охват сейчас, клиентов: 0').waitFor();
    await page.getByLabel('Город', { exact: true }).fill('Москва');
    await page.getByText(`Охват сейчас, клиентов: ${reach}`).waitFor();
    await page.screenshot({ path: join(screens, `admin-offer-${name}.png`), fullPage: true });
    found.push(...await axe(page));
    await page.getByRole('button', { name: 'Сохранить' }).click();
    await page.getByText('Сохранено.').waitFor();
    assert.ok(await page.getByRole('link', { name: `Двойные баллы на молочное (${name})` }).isVisible());
    assert.ok(await page.getByText('Город Москва').first().isVisible());
    await page.screenshot({ path: join(screens, `admin-offers-${name}.png`), fullPage: true });
    found.push(...await axe(page));
    assert.deepEqual(marketing.problems, []);
    await marketing.close();

    const accounting = await staffPage(width, height, `irina.${name}`, 'accounting', 'бухгалтерия-пароль-2026');
    page = accounting.page;
    await page.waitForURL(/\/admin\//);
    await page.getByRole('link', { name: 'Отчёты' }).click();
    await page.getByRole('heading', { name: 'Отчёты' }).waitFor();
    assert.equal(await page.locator('svg.chart').count(), 3);
    const spent = Number((await page.locator('[data-figure="spent"]').textContent()).trim());
    assert.ok(spent >= 100, `spent ${spent}`);
    const download = page.waitForEvent('download');
    await page.getByRole('link', { name: 'CSV по дням', exact: true }).click();
    let text = '';
    for await (const chunk of await (await download).createReadStream()) text += chunk;
    assert.match(text, /^day,earned,welcome,spent,expired,adjusted,returned,liability,active_customers\n/);
    assert.equal(text.trim().split('\n').length, 31);
    // A period backwards is named beside its field.
    await page.getByLabel('С', { exact: true }).fill('2026-12-31');
    await page.getByLabel('По', { exact: true }).fill('2026-01-01');
    await page.getByRole('button', { name: 'Показать' }).click();
    assert.ok(await page.locator('#to-error').isVisible());
    await page.goBack();
    await page.screenshot({ path: join(screens, `admin-reports-${name}.png`), fullPage: true });
    found.push(...await axe(page));
    assert.deepEqual(accounting.problems, []);
    await accounting.close();
    assert.deepEqual(found, []);
  });
}
