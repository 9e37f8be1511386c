// The account page on a cheap phone: what its first and repeat visits cost over the wire
// (every byte the server sends, headers included, counted by a proxy in front of it), and
// its largest contentful paint under Chromium's 4× CPU slowdown on a 1.6 Mbit/s, 150 ms
// network. The budgets are the issue's: 60 KB, 8 KB, 1.5 s. The figures are printed for
// docs/PERFORMANCE.md.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect } from 'node:net';
import { start, stop, register, browser as chromiumBrowser, base as baseUrl } from './server.mjs';

const FIRST_VISIT_BUDGET = 60 * 1024;
const REPEAT_VISIT_BUDGET = 8 * 1024;
const LCP_BUDGET_MS = 1500;

let browser, base, proxy, received = 0;

/// A TCP proxy to the server that counts the bytes coming back.
function countingProxy(target) {
  const { hostname, port } = new URL(target);
  return new Promise((resolve) => {
    const server = createServer((client) => {
      const upstream = connect(Number(port), hostname);
      client.pipe(upstream);
      upstream.on('data', (chunk) => { received += chunk.length; });
      upstream.pipe(client);
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
    });
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

before(async () => {
  await start();
  browser = chromiumBrowser();
  base = baseUrl();
  proxy = await countingProxy(base);
});
after(async () => { proxy.close(); await stop(); });

async function signedInContext(token, options = {}) {
  const origin = `http://127.0.0.1:${proxy.address().port}`;
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, locale: 'ru-RU', ...options });
  await context.addCookies([{ name: 'kp_session', value: token, url: origin, httpOnly: true, sameSite: 'Lax' }]);
  return { context, origin };
}

/// Waits until the page has shown its one-time code and the service worker is in charge,
/// then a little longer for anything the page fetches after.
async function settled(page) {
  await page.locator('svg[data-one-time]').waitFor();
  await page.evaluate(() => navigator.serviceWorker.ready);
  await page.waitForLoadState('networkidle');
}

test('the account page fits a cheap phone on a slow network', async () => {
  const password = 'Ветер-в-поле-2026';
  const card = await register('+79991250001', password);
  const login = await fetch(`${base}/api/v1/auth/login`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ login: card, password }),
  });
  const { token } = await login.json();

  const { context, origin } = await signedInContext(token);
  const page = await context.newPage();
  received = 0;
  await page.goto(`${origin}/account`);
  await settled(page);
  const firstVisit = received;
  received = 0;
  await page.reload();
  await settled(page);
  const repeatVisit = received;
  await context.close();

  const slow = await signedInContext(token);
  const phone = await slow.context.newPage();
  const cdp = await slow.context.newCDPSession(phone);
  await cdp.send('Emulation.setCPUThrottlingRate', { rate: 4 });
  await cdp.send('Network.enable');
  await cdp.send('Network.emulateNetworkConditions', {
    offline: false, latency: 150, downloadThroughput: 1.6e6 / 8, uploadThroughput: 750e3 / 8,
  });
  await phone.goto(`${slow.origin}/account`);
  const lcp = await phone.evaluate(() => new Promise((resolve) => {
    new PerformanceObserver((list) => {
      const entries = list.getEntries();
      resolve(entries[entries.length - 1].startTime);
    }).observe({ type: 'largest-contentful-paint', buffered: true });
  }));
  await slow.context.close();

  console.log(`web figures: first visit ${firstVisit} B, repeat visit ${repeatVisit} B, LCP ${Math.round(lcp)} ms (4× CPU, 1.6 Mbit/s, 150 ms)`);
  assert.ok(firstVisit <= FIRST_VISIT_BUDGET, `first visit ${firstVisit} B`);
  assert.ok(repeatVisit <= REPEAT_VISIT_BUDGET, `repeat visit ${repeatVisit} B`);
  assert.ok(lcp <= LCP_BUDGET_MS, `LCP ${lcp} ms`);
});
