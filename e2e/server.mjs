// One `kopilka serve --demo` on a fresh SQLite file and a free port, and Debian's Chromium,
// for a test file; SMS go to an outbox the tests read codes from.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const screens = join(root, 'docs/screens');
const kopilka = process.env.KOPILKA_BIN ?? join(root, 'target/debug/kopilka');
const dir = mkdtempSync(join(tmpdir(), 'kopilka-e2e-'));
const outbox = join(dir, 'outbox.jsonl');
let server, chromiumBrowser, baseUrl, env;

export const base = () => baseUrl;
export const browser = () => chromiumBrowser;

const freePort = () => new Promise((resolve) => {
  const s = createServer().listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
});

export async function start() {
  const port = await freePort();
  baseUrl = `http://127.0.0.1:${port}`;
  env = { ...process.env, KOPILKA_DATABASE_URL: `sqlite://${join(dir, 'k.db')}`, KOPILKA_LISTEN: `127.0.0.1:${port}`, KOPILKA_SMS_OUTBOX: outbox, RUST_LOG: 'warn',
    // Short, so a story may sign in by code soon after joining; the countdown still shows.
    KOPILKA_OTP_RESEND_COOLDOWN_S: '6' };
  server = spawn(kopilka, ['serve', '--demo'], { env, stdio: 'ignore' });
  for (let i = 0; i < 100; i++) {
    try { if ((await fetch(`${baseUrl}/readyz`)).ok) break; } catch { /* starting */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  chromiumBrowser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
  mkdirSync(screens, { recursive: true });
}

export async function stop() {
  await chromiumBrowser?.close();
  server?.kill();
}

async function api(path, body) {
  const res = await fetch(`${baseUrl}/api/v1${path}`, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
  return { status: res.status, body: await res.json() };
}

/// The newest code sent to `phone`, waiting for it: SMS leave after the answer.
export async function lastCode(phone) {
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

/// A customer registered through the API; their card number.
export async function register(phone, password) {
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

/// A staffed till's key for `store`, made by the binary's own command on the same database.
export function createTill(store) {
  const out = execFileSync(kopilka, ['till', 'create', '--store', String(store), '--kind', 'staffed'], { env }).toString();
  return out.trim().split('\n').pop();
}

/// A sale at the till, as a till sends it.
export async function purchase(key, body) {
  const res = await fetch(`${baseUrl}/api/v1/pos/purchases`, {
    method: 'POST', body: JSON.stringify(body),
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
  });
  const answer = await res.text();
  assert.equal(res.status, 201, answer);
  return JSON.parse(answer);
}

/// An employee's account made by the binary's own command; the temporary password.
export function createEmployee(login, name) {
  const out = execFileSync(kopilka, ['employee', 'create', '--login', login, '--name', name,
    '--position', 'Старший кассир', '--store', '1', '--hired', '2024-03-01'], { env }).toString();
  return out.trim().split('\n').pop();
}

/// A staff member with `role`, signed in through the API: the token.
export async function staffToken(login, role, password) {
  execFileSync(kopilka, ['staff', 'create', '--login', login, '--role', role], { env, input: `${password}\n` });
  const signed = await api('/admin/auth/login', { login, password });
  assert.equal(signed.status, 200, JSON.stringify(signed.body));
  return signed.body.token;
}
