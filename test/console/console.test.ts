/**
 * The console in real headless Chromium (Debian's `chromium`, driven by
 * playwright-core): an operator signs in and onboards a client; the client
 * signs in, a customer writes in through the WhatsApp simulator, the message
 * appears live, the agent replies and the ticks move to read.
 * Skipped, saying why, only where Chromium is not installed (`.ci/run` installs it).
 */
import { existsSync } from 'node:fs';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startTestApp, TEST_ADMIN_TOKEN, type TestApp } from '../harness.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
const skip = hasChromium ? false : `Chromium not found at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`;

let h: TestApp;
let browser: Browser;

before(async () => {
  if (!hasChromium) return;
  h = await startTestApp({ listen: true, env: { WHATSAPP_MODE: 'sandbox' } });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});
after(async () => {
  await browser?.close();
  await h?.close();
});

async function newPage(): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  if (process.env.CONSOLE_TEST_DEBUG) {
    page.on('console', (msg) => process.stderr.write(`# browser ${msg.type()}: ${msg.text()}\n`));
    page.on('pageerror', (err) => process.stderr.write(`# page error: ${err.message}\n`));
    page.on('response', (res) => { if (res.status() >= 400) process.stderr.write(`# ${res.status()} ${res.request().method()} ${res.url()}\n`); });
  }
  return page;
}

test('operator signs in, onboards a client and sees it; wrong token is refused', { skip }, async () => {
  const page = await newPage();
  await page.goto(`${h.url}/console/`);
  await page.getByLabel('Admin token (x-core-api-key)').fill('wrong-token');
  await page.getByRole('button', { name: 'Sign in as operator' }).click();
  await page.getByText('That admin token is not valid.').waitFor();

  await page.getByLabel('Admin token (x-core-api-key)').fill(TEST_ADMIN_TOKEN);
  await page.getByRole('button', { name: 'Sign in as operator' }).click();
  await page.getByLabel('Business name').fill('Browser Clinic');
  await page.getByLabel('Email').fill('browser@example.com');
  await page.getByRole('button', { name: 'Create client' }).click();
  const key = await page.getByTestId('new-api-key').textContent();
  assert.match(key ?? '', /^ecx_live_/);
  await page.getByRole('cell', { name: 'browserclinic', exact: true }).click();
  await page.getByRole('heading', { name: 'Browser Clinic (browserclinic)' }).waitFor();
  await page.getByRole('link', { name: 'Health' }).click();
  await page.getByText('Healthy').waitFor();
  await page.context().close();
});

test('client inbox: a customer writes in, the message appears live, the agent replies and the ticks reach read', { skip }, async () => {
  const client = await h.createClient('Live Inbox Clinic');
  const page = await newPage();
  await page.goto(`${h.url}/console/`);
  await page.getByLabel('Client code').fill(client.code);
  await page.getByLabel('API key').fill(client.apiKey);
  await page.getByRole('button', { name: 'Sign in as client' }).click();
  await page.getByRole('heading', { name: 'Inbox' }).waitFor();
  await page.getByText('No conversations yet').waitFor();

  // The customer writes in through the simulator's HTTP API while the inbox is open: it must appear without a reload.
  const inbound = await fetch(`${h.url}/api/sandbox/inbound`, {
    method: 'POST', headers: { ...client.headers, 'content-type': 'application/json' },
    body: JSON.stringify({ from: '15550001234', name: 'Asha Customer', text: 'Hello, is the clinic open today?' }),
  });
  assert.ok(inbound.ok, `sandbox inbound: ${inbound.status} ${await inbound.text()}`);
  await page.getByRole('button', { name: /Asha Customer/ }).click();
  await page.locator('.bubble.inbound', { hasText: 'Hello, is the clinic open today?' }).waitFor();

  await page.getByRole('textbox', { name: 'Message' }).fill('Yes, we are open until 6 pm.');
  await page.getByRole('button', { name: 'Send' }).click();
  const reply = page.locator('.bubble.outbound', { hasText: 'Yes, we are open until 6 pm.' });
  await reply.waitFor();
  await reply.locator('.tick.read').waitFor({ timeout: 20_000 });
  assert.equal(await reply.getAttribute('data-status'), 'read');
  await page.screenshot({ path: '/tmp/ecodrix-console-inbox.png' });
  await page.context().close();
});
