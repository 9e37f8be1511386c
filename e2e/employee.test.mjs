// The employee's pages in Debian's headless Chromium against the real binary: sign in with
// the temporary password HR issued, replace it, order a payslip that is made at once and
// download it as a PDF that reads back, order a certificate that waits for HR; at phone and
// desktop widths, with no console errors and no serious accessibility issue.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { start, stop, createEmployee, staffToken, screens, browser as chromiumBrowser, base as baseUrl } from './server.mjs';

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

/// Last month, as YYYY-MM: the newest a payslip can be for.
function lastMonth() {
  const d = new Date();
  d.setUTCDate(1);
  d.setUTCMonth(d.getUTCMonth() - 1);
  return d.toISOString().slice(0, 7);
}

for (const [name, width, height] of [['phone', 390, 844], ['desktop', 1280, 900]]) {
  test(`an employee replaces the temporary password and downloads a payslip (${name})`, async () => {
    const login = `kassir.${name}`;
    const temporary = createEmployee(login, 'Петрова Анна Сергеевна');
    const month = lastMonth();
    const accounting = await staffToken(`buh.${name}`, 'accounting', 'бухгалтерия-пароль-2026');
    const csv = `employee,month,gross,tax,net,accruals,deductions\n${login},${month},85000,11050,73100,salary:80000; bonus:5000,union:850\n`;
    const imported = await fetch(`${base}/api/v1/admin/payroll`, { method: 'POST', body: csv, headers: { 'content-type': 'text/csv', authorization: `Bearer ${accounting}` } });
    assert.equal(imported.status, 201, await imported.text());

    // axe is added as a script of its own; the pages' policy would refuse it, rightly.
    const context = await browser.newContext({ viewport: { width, height }, deviceScaleFactor: name === 'phone' ? 3 : 1, locale: 'ru-RU', acceptDownloads: true, bypassCSP: true });
    const page = await context.newPage();
    const problems = [];
    // A form sent back with its errors answers 422 on purpose; Chromium logs that.
    page.on('console', (m) => { if (m.type() === 'error' && !m.text().includes('status of 422')) problems.push(m.text()); });
    page.on('pageerror', (e) => problems.push(e.message));
    const found = [];

    await page.goto(`${base}/employee`);
    await page.screenshot({ path: join(screens, `employee-login-${name}.png`), fullPage: true });
    found.push(...await axe(page));
    await page.getByLabel('Логин').fill(login);
    await page.getByLabel('Пароль').fill('не-тот');
    await page.getByRole('button', { name: 'Войти по паролю' }).click();
    assert.ok(await page.locator('#password-error').isVisible());
    await page.getByLabel('Пароль').fill(temporary);
    await page.getByRole('button', { name: 'Войти по паролю' }).click();
    await page.waitForURL(`${base}/employee`);
    await page.getByRole('heading', { name: 'Задайте свой пароль' }).waitFor();
    found.push(...await axe(page));
    await page.getByLabel('Временный пароль').fill(temporary);
    await page.getByLabel('Новый пароль').fill('12345678');
    await page.getByRole('button', { name: 'Сохранить пароль' }).click();
    assert.ok(await page.locator('#new_password-error').isVisible());
    await page.screenshot({ path: join(screens, `employee-password-${name}.png`), fullPage: true });
    await page.getByLabel('Временный пароль').fill(temporary);
    await page.getByLabel('Новый пароль').fill('Моя-зарплата-2026');
    await page.getByRole('button', { name: 'Сохранить пароль' }).click();
    await page.getByRole('heading', { name: 'Петрова Анна Сергеевна' }).waitFor();

    // A payslip: made at once from the payroll.
    await page.getByLabel('Документ', { exact: true }).selectOption('payslip');
    await page.getByLabel('Для чего').fill('Для себя');
    await page.getByLabel('Месяц', { exact: true }).fill(month);
    await page.getByRole('button', { name: 'Заказать', exact: true }).click();
    await page.getByText('Документ готов — его можно скачать.').waitFor();
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Скачать PDF' }).first().click()]);
    const pdf = join(screens, `..`, `..`, 'target', `employee-payslip-${name}.pdf`);
    await download.saveAs(pdf);
    const text = execFileSync('pdftotext', ['-layout', pdf, '-']).toString().replace(/[\u00a0\u202f]/g, ' ');
    for (const expected of ['Петрова Анна Сергеевна', 'Старший кассир', '85 000,00', '73 100,00']) assert.ok(text.includes(expected), `${expected} not in ${text}`);

    // An employment confirmation waits for HR, with its deadline shown; a wrong period is
    // named beside its field and nothing is ordered.
    await page.getByLabel('Документ', { exact: true }).selectOption('income_certificate');
    await page.getByLabel('Для чего').fill('Ипотека');
    await page.getByLabel('С месяца').fill(month);
    await page.getByLabel('По месяц').fill('2024-01');
    await page.getByRole('button', { name: 'Заказать', exact: true }).click();
    assert.ok(await page.locator('#period_to-error').isVisible());
    await page.getByLabel('Документ', { exact: true }).selectOption('employment_confirmation');
    await page.getByLabel('Для чего').fill('Для банка');
    await page.getByLabel('Куда').fill('ПАО Сбербанк');
    await page.getByRole('button', { name: 'Заказать', exact: true }).click();
    await page.getByText('Заявка принята').waitFor();
    assert.ok(await page.getByText('будет готова до').first().isVisible());
    assert.ok(await page.getByText('Выдана').first().isVisible());
    await page.screenshot({ path: join(screens, `employee-account-${name}.png`), fullPage: true });
    found.push(...await axe(page));
    assert.deepEqual(found, []);
    assert.deepEqual(problems, []);
    await context.close();
  });
}

test('HR takes a request from the queue and makes the document (desktop)', async () => {
  const temporary = createEmployee('kassir.queue', 'Смирнов Олег Игоревич');
  await staffToken('hr.queue', 'hr', 'кадры-пароль-2026');
  // The employee orders through the API, after replacing the temporary password.
  const login = await (await fetch(`${base}/api/v1/employee/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ login: 'kassir.queue', password: temporary }) })).json();
  const auth = { 'content-type': 'application/json', authorization: `Bearer ${login.token}` };
  assert.equal((await fetch(`${base}/api/v1/employee/auth/password`, { method: 'POST', headers: auth, body: JSON.stringify({ old_password: temporary, new_password: 'Смена-пароля-2026' }) })).status, 204);
  const ordered = await fetch(`${base}/api/v1/employee/document-requests`, { method: 'POST', headers: auth, body: JSON.stringify({ type: 'employment_confirmation', purpose: 'Для банка', addressee: 'АО Альфа-Банк' }) });
  assert.equal(ordered.status, 201);

  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'ru-RU', bypassCSP: true });
  const page = await context.newPage();
  const problems = [];
  page.on('console', (m) => { if (m.type() === 'error') problems.push(m.text()); });
  await page.goto(`${base}/admin`);
  await page.getByLabel('Логин').fill('hr.queue');
  await page.getByLabel('Пароль').fill('кадры-пароль-2026');
  await page.getByRole('button', { name: 'Войти по паролю' }).click();
  await page.waitForURL(`${base}/admin/documents`);
  await page.screenshot({ path: join(screens, 'admin-documents-desktop.png'), fullPage: true });
  const found = await axe(page);
  await page.getByRole('link', { name: 'Смирнов Олег Игоревич' }).click();
  await page.getByRole('button', { name: 'Взять в работу' }).click();
  await page.getByText('Заявка в работе.').waitFor();
  await page.getByRole('button', { name: 'Подготовить документ' }).click();
  await page.getByText('Документ готов; сотрудник может его скачать.').waitFor();
  await page.screenshot({ path: join(screens, 'admin-document-desktop.png'), fullPage: true });
  found.push(...await axe(page));
  assert.deepEqual(found, []);
  assert.deepEqual(problems, []);
  await context.close();
});

test('HR opens an account on its screen and accounting imports payroll (desktop)', async () => {
  await staffToken('hr.people', 'hr', 'кадры-пароль-2026');
  await staffToken('buh.people', 'accounting', 'бухгалтерия-пароль-2026');
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'ru-RU', bypassCSP: true });
  const page = await context.newPage();
  const problems = [];
  page.on('console', (m) => { if (m.type() === 'error' && !m.text().includes('status of 422')) problems.push(m.text()); });
  const signIn = async (login, password) => {
    await page.goto(`${base}/admin/login`);
    await page.getByLabel('Логин').fill(login);
    await page.getByLabel('Пароль').fill(password);
    await page.getByRole('button', { name: 'Войти по паролю' }).click();
    await page.waitForURL(`${base}/admin/documents`);
  };
  await signIn('hr.people', 'кадры-пароль-2026');
  await page.getByRole('link', { name: 'Сотрудники' }).click();
  await page.getByLabel('Логин').fill('Bad Login!');
  await page.getByRole('button', { name: 'Создать учётную запись' }).click();
  assert.ok(await page.locator('#login-error').isVisible());
  await page.getByLabel('Логин').fill('kassir.screen');
  await page.getByLabel('Фамилия, имя, отчество').fill('Кузнецова Мария Ивановна');
  await page.getByLabel('Должность').fill('Кассир');
  await page.getByLabel('Номер магазина').fill('2');
  await page.getByLabel('Дата приёма').fill('2025-02-03');
  await page.getByRole('button', { name: 'Создать учётную запись' }).click();
  const temporary = await page.locator('[data-temporary-password]').textContent();
  assert.match(temporary, /^[a-z2-9]{12}$/);
  await page.screenshot({ path: join(screens, 'admin-employees-desktop.png'), fullPage: true });
  const found = await axe(page);
  // The temporary password signs the employee in.
  const signed = await fetch(`${base}/api/v1/employee/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ login: 'kassir.screen', password: temporary }) });
  assert.equal(signed.status, 200);

  await page.locator('form[action="/admin/logout"] button').click();
  await signIn('buh.people', 'бухгалтерия-пароль-2026');
  await page.getByRole('link', { name: 'Расчётные данные' }).click();
  const bad = 'employee,month,gross,tax,net\nkassir.screen,2026-10,1000,130,800\nnobody,2026-10,1,0,1\n';
  await page.getByLabel('Файл CSV').setInputFiles({ name: 'october.csv', mimeType: 'text/csv', buffer: Buffer.from(bad) });
  await page.getByRole('button', { name: 'Загрузить' }).click();
  await page.getByText('Файл не загружен').waitFor();
  assert.ok(await page.getByText('Строка 2:').isVisible());
  assert.ok(await page.getByText('Строка 3:').isVisible());
  await page.screenshot({ path: join(screens, 'admin-payroll-desktop.png'), fullPage: true });
  found.push(...await axe(page));
  const good = 'employee,month,gross,tax,net\nkassir.screen,2026-10,1000,130,870\n';
  await page.getByLabel('Файл CSV').setInputFiles({ name: 'october.csv', mimeType: 'text/csv', buffer: Buffer.from(good) });
  await page.getByRole('button', { name: 'Загрузить' }).click();
  await page.getByText('Загружено строк: 1').waitFor();
  // HR's screens are not accounting's.
  await page.goto(`${base}/admin/employees`);
  assert.ok(await page.getByRole('heading', { name: 'Этот раздел не для вашей роли' }).isVisible());
  assert.deepEqual(found, []);
  assert.deepEqual(problems.filter((p) => !p.includes('403')), []);
  await context.close();
});

test('an employee asks HR a question and reads the answer (phone and desktop)', async () => {
  const temporary = createEmployee('kassir.asks', 'Орлова Нина Павловна');
  await staffToken('hr.answers', 'hr', 'кадры-пароль-2026');
  const employee = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 3, locale: 'ru-RU', bypassCSP: true });
  const mine = await employee.newPage();
  await mine.goto(`${base}/employee`);
  await mine.getByLabel('Логин').fill('kassir.asks');
  await mine.getByLabel('Пароль').fill(temporary);
  await mine.getByRole('button', { name: 'Войти по паролю' }).click();
  await mine.getByLabel('Временный пароль').fill(temporary);
  await mine.getByLabel('Новый пароль').fill('Вопрос-в-кадры-2026');
  await mine.getByRole('button', { name: 'Сохранить пароль' }).click();
  await mine.getByRole('navigation').getByRole('link', { name: 'Вопросы' }).click();
  await mine.getByLabel('Куда').selectOption('hr');
  await mine.getByLabel('Тема').fill('Отпуск в январе');
  await mine.getByLabel('Вопрос').fill('Можно ли перенести отпуск на январь?');
  await mine.getByRole('button', { name: 'Отправить', exact: true }).click();
  await mine.getByRole('heading', { name: 'Отпуск в январе' }).waitFor();
  const found = await axe(mine);

  const office = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'ru-RU', bypassCSP: true });
  const hr = await office.newPage();
  await hr.goto(`${base}/admin/login`);
  await hr.getByLabel('Логин').fill('hr.answers');
  await hr.getByLabel('Пароль').fill('кадры-пароль-2026');
  await hr.getByRole('button', { name: 'Войти по паролю' }).click();
  await hr.getByRole('link', { name: 'Вопросы' }).click();
  assert.ok(await hr.getByText('Новых: 1').isVisible());
  await hr.getByRole('link', { name: 'Отпуск в январе' }).click();
  assert.ok(await hr.getByText('Можно ли перенести отпуск на январь?').isVisible());
  await hr.getByLabel('Ответить').fill('Да, напишите заявление до 20 декабря.');
  await hr.getByRole('button', { name: 'Отправить ответ' }).click();
  await hr.getByText('Да, напишите заявление до 20 декабря.').waitFor();
  await hr.screenshot({ path: join(screens, 'admin-thread-desktop.png'), fullPage: true });
  found.push(...await axe(hr));

  await mine.goto(`${base}/employee`);
  assert.ok(await mine.getByText('Новых: 1').isVisible());
  await mine.goto(`${base}/employee/messages`);
  await mine.getByRole('link', { name: 'Отпуск в январе' }).click();
  await mine.getByText('Да, напишите заявление до 20 декабря.').waitFor();
  await mine.screenshot({ path: join(screens, 'employee-thread-phone.png'), fullPage: true });
  assert.deepEqual(found, []);
  await employee.close();
  await office.close();
});
