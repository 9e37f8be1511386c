// What a customer does after the till, in Debian's headless Chromium against the real binary:
// sign in by SMS code, open a receipt and see why each line earned what it did, the favourite
// category's chooser, a personal offer, a question to support, stores near the browser's
// location, the catalogue and promotions; in Russian and in English, at phone and desktop
// widths, with no console errors. Each page is photographed for docs/screens.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { start, stop, register, lastCode, createTill, purchase, screens, browser as chromiumBrowser, base as baseUrl } from './server.mjs';

let browser, base, key;
before(async () => { await start(); browser = chromiumBrowser(); base = baseUrl(); key = createTill(1); });
after(stop);

const shoot = (page, name, width) => page.screenshot({ path: join(screens, `${name}-${width === 390 ? 'phone' : 'desktop'}.png`), fullPage: true });

for (const [width, height, phone] of [[390, 844, '+79991240390'], [1280, 800, '+79991241280']]) {
  test(`receipts, the favourite category, an offer, a question and stores (${width} px)`, async () => {
    const card = await register(phone, 'Ветер-в-поле-2026');
    await purchase(key, {
      receipt_id: `E2E-${width}`, barcode: card, redeem_points: 0,
      lines: [
        { line_id: '1', sku: '10000001', category_id: 10, amount_kop: 50000 },
        { line_id: '2', sku: '14000001', category_id: 14, amount_kop: 30000 },
        { line_id: '3', sku: '08000001', category_id: 8, amount_kop: 20000 },
      ],
    });
    const context = await browser.newContext({
      viewport: { width, height }, deviceScaleFactor: width === 390 ? 2 : 1, locale: 'ru-RU',
      geolocation: { latitude: 59.80, longitude: 30.27 }, permissions: ['geolocation'],
    });
    const page = await context.newPage();
    const problems = [];
    page.on('console', (m) => { if (m.type() === 'error') problems.push(m.text()); });
    page.on('pageerror', (e) => problems.push(e.message));

    // Sign in by SMS code, the countdown visible before a new code may be asked for (the
    // code that joined must have cooled down first).
    await new Promise((r) => setTimeout(r, 6500));
    await page.goto(`${base}/login`);
    await page.getByLabel('Номер телефона').fill(phone);
    await page.getByRole('button', { name: 'Получить код' }).click();
    await page.getByLabel('Код из СМС').waitFor();
    assert.match(await page.locator('[data-countdown-text]').textContent(), /через \d+ с/);
    assert.ok(await page.getByRole('button', { name: 'Получить новый код' }).isDisabled());
    await shoot(page, 'login-code', width);
    await page.getByLabel('Код из СМС').fill(await lastCode(phone));
    await page.getByRole('button', { name: 'Войти', exact: true }).click();
    await page.waitForURL(`${base}/account`);

    // The receipt: each line with its reason.
    await page.getByRole('link', { name: 'Покупки', exact: true }).first().click();
    await page.waitForURL(`${base}/account/purchases`);
    await shoot(page, 'purchases', width);
    await page.locator('.purchases a').first().click();
    await page.getByRole('heading', { name: `Чек E2E-${width}` }).waitFor();
    const receipt = await page.locator('table.receipt').textContent();
    assert.ok(receipt.includes('Молоко пастеризованное 3,2% 930 мл'), receipt);
    assert.ok(receipt.includes('×2 — любимая категория'), receipt);
    assert.ok(receipt.includes('на эту категорию баллы не начисляются'), receipt);
    await shoot(page, 'receipt', width);

    // The chooser: what each category would have earned; chosen this month, so locked.
    await page.goto(`${base}/account/favourite`);
    assert.ok((await page.locator('label[for="category-10"]').textContent()).includes('сейчас'));
    assert.ok(await page.locator('#category-14').isDisabled());
    await shoot(page, 'favourite', width);

    // A personal offer, activated.
    await page.goto(`${base}/account/offers`);
    await page.locator('form[action^="/account/offers/"] button').first().click();
    await page.waitForURL(`${base}/account/offers?activated=1`);
    assert.ok(await page.getByText('Предложение активировано').isVisible());
    await shoot(page, 'offers', width);

    // A question to support, and its thread.
    await page.goto(`${base}/account/support`);
    await page.getByLabel('Тема').fill('Не вижу баллы за чек');
    await page.getByLabel('Вопрос').fill('Купила молоко, баллы пришли не все.');
    await page.getByRole('button', { name: 'Отправить', exact: true }).click();
    await page.getByRole('heading', { name: 'Не вижу баллы за чек' }).waitFor();
    assert.ok(await page.getByText('Купила молоко, баллы пришли не все.').isVisible());
    await shoot(page, 'ticket', width);

    // Stores near the browser's location (Pulkovo): St Petersburg's first, with distances.
    await page.goto(`${base}/stores`);
    await page.getByRole('button', { name: 'Рядом со мной' }).click();
    await page.waitForURL(/lat=59\.8/);
    assert.ok(await page.getByText('Ближайшие к вам магазины').isVisible());
    assert.match(await page.locator('.tiles li').first().textContent(), /км/);
    await shoot(page, 'stores', width);

    await page.goto(`${base}/catalog?q=${encodeURIComponent('молоком')}`);
    assert.ok((await page.locator('.products').textContent()).includes('Молоко'));
    await shoot(page, 'catalog', width);
    await page.goto(`${base}/promotions`);
    await shoot(page, 'promotions', width);

    // The rest of the account and the public pages, photographed as they stand.
    for (const [path, name] of [['/account/history', 'history'], ['/account/cards', 'cards'], ['/account/profile', 'profile'],
      ['/account/sessions', 'sessions'], ['/account/delete', 'delete'], ['/contacts', 'contacts'], ['/feedback', 'feedback']]) {
      await page.goto(`${base}${path}`);
      await shoot(page, name, width);
    }

    // English, remembered from here on.
    await page.goto(`${base}/account/purchases?lang=en`);
    assert.equal(await page.locator('html').getAttribute('lang'), 'en');
    await page.locator('.purchases a').first().click();
    assert.ok((await page.locator('table.receipt').textContent()).includes('×2 — favourite category'));
    await shoot(page, 'receipt-en', width);

    assert.deepEqual(problems, []);
    await context.close();
    const visitor = await browser.newPage({ viewport: { width, height }, deviceScaleFactor: width === 390 ? 2 : 1, locale: 'ru-RU' });
    await visitor.goto(`${base}/`);
    await shoot(visitor, 'home', width);
    await visitor.close();
  });
}
