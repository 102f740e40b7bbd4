/**
 * The console in real headless Chromium (Debian's `chromium`, driven by
 * playwright-core): an operator signs in and onboards a client; the client
 * signs in, a customer writes in through the WhatsApp simulator, the message
 * appears live, the agent replies (text and a synced template) and the ticks move
 * to read, a refused send says why; the agent sends
 * an image and a document; a campaign runs with live progress; and on a phone
 * viewport sign-in, list → thread and the reply box fit the screen.
 * Skipped, saying why, only where Chromium is not installed (`.ci/run` installs it).
 */
import { existsSync } from 'node:fs';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { chromium, type Browser, type BrowserContextOptions, type Page } from 'playwright-core';
import sharp from 'sharp';
import { startTestApp, TEST_ADMIN_TOKEN, type TestApp, type TestClient } from '../harness.ts';

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

const PHONE: BrowserContextOptions = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 };

async function newPage(options: BrowserContextOptions = { viewport: { width: 1280, height: 800 } }): Promise<Page> {
  const context = await browser.newContext(options);
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
  // The client's database is checked live (auto-provisioned here: reachable and migrated).
  await page.getByText(/^Database health: ✓ reachable and migrated \(\d+ ms\)/).waitFor();
  // Secrets are set by name and shown masked.
  await page.getByLabel('Secret', { exact: true }).selectOption('whatsappAppSecret');
  await page.getByLabel('Value', { exact: true }).fill('app-secret-0123456789abcdef');
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await page.getByRole('cell', { name: 'whatsappAppSecret' }).waitFor();
  assert.doesNotMatch(await page.locator('main').innerText(), /app-secret-0123456789abcdef/);
  await page.getByRole('link', { name: 'Queues' }).click();
  await page.getByRole('region', { name: 'Queues' }).getByRole('cell', { name: 'whatsapp.send-message', exact: true }).waitFor();
  await page.getByRole('region', { name: 'Stuck jobs (active past their lease)' }).getByText('No stuck jobs.').waitFor();
  await page.getByRole('link', { name: 'Webhooks' }).click();
  await page.getByText('No dead webhooks.').waitFor();
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
  await page.getByRole('button', { name: 'Send', exact: true }).click();
  const reply = page.locator('.bubble.outbound', { hasText: 'Yes, we are open until 6 pm.' });
  await reply.waitFor();
  await reply.locator('.tick.read').waitFor({ timeout: 20_000 });
  assert.equal(await reply.getAttribute('data-status'), 'read');

  // Templates: synced from the (simulated) WhatsApp Business Account on demand, then sent with variables.
  await page.getByRole('button', { name: 'Sync templates' }).click();
  await page.getByText(/^Templates synced from WhatsApp: \d+ \(\d+ approved\)\.$/).waitFor();
  await page.getByLabel('Send as').selectOption({ label: 'hello_world (en_US)' });
  await page.getByRole('button', { name: 'Send', exact: true }).click();
  const template = page.locator('.bubble.outbound[data-type="template"]');
  await template.waitFor();
  const sentTemplate = await waitForOutbox(client, (item) => item.type === 'template' && item.outcome === 'accepted');
  assert.equal(sentTemplate.payload.template.name, 'hello_world');
  assert.deepEqual(sentTemplate.payload.template.language, { code: 'en_US' });
  await template.locator('.tick.read').waitFor({ timeout: 20_000 });
  await page.screenshot({ path: '/tmp/ecodrix-console-inbox.png' });
  await page.context().close();
});

async function signInAsClient(page: Page, client: TestClient): Promise<void> {
  await page.goto(`${h.url}/console/`);
  await page.getByLabel('Client code').fill(client.code);
  await page.getByLabel('API key').fill(client.apiKey);
  await page.getByRole('button', { name: 'Sign in as client' }).click();
  await page.getByRole('heading', { name: 'Inbox' }).waitFor();
}

async function customerWritesIn(client: TestClient, from: string, name: string, text: string): Promise<void> {
  const res = await fetch(`${h.url}/api/sandbox/inbound`, {
    method: 'POST', headers: { ...client.headers, 'content-type': 'application/json' }, body: JSON.stringify({ from, name, text }),
  });
  assert.ok(res.ok, `sandbox inbound: ${res.status} ${await res.text()}`);
}

interface OutboxItem { type: string | null; to: string | null; outcome: string; payload: Record<string, Record<string, unknown>> }

/** Waits until the simulator's outbox holds a send matching `match` (the send job runs asynchronously). */
async function waitForOutbox(client: TestClient, match: (item: OutboxItem) => boolean): Promise<OutboxItem> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const res = await fetch(`${h.url}/api/sandbox/outbox?limit=50`, { headers: client.headers });
    const { items } = await res.json() as { items: OutboxItem[] };
    const found = items.find(match);
    if (found) return found;
    if (Date.now() > deadline) assert.fail(`the simulator never received the send; outbox: ${JSON.stringify(items.map((i) => i.type))}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Waits until no section of the page still says "Loading…" (the page's CSP forbids waitForFunction's eval). */
async function waitUntilLoaded(page: Page): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (await page.locator('main').getByText('Loading…').count() > 0) {
    if (Date.now() > deadline) assert.fail('the page never finished loading');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The page does not scroll sideways and the element is fully inside the viewport. */
async function assertFitsScreen(page: Page, what: string, selector?: string): Promise<void> {
  const { scrollWidth, innerWidth } = await page.evaluate<{ scrollWidth: number; innerWidth: number }>('({ scrollWidth: document.scrollingElement.scrollWidth, innerWidth: window.innerWidth })');
  assert.ok(scrollWidth <= innerWidth, `${what}: the page scrolls sideways (${scrollWidth} > ${innerWidth})`);
  if (!selector) return;
  const box = await page.locator(selector).first().boundingBox();
  assert.ok(box, `${what}: ${selector} is not visible`);
  assert.ok(box.x >= 0 && box.x + box.width <= innerWidth, `${what}: ${selector} is outside the viewport horizontally (${JSON.stringify(box)})`);
}

test('client inbox: the agent sends an image, a document and audio from the browser; the simulator receives them and the thread shows them', { skip }, async () => {
  const client = await h.createClient('Media Clinic');
  const page = await newPage();
  await signInAsClient(page, client);
  await customerWritesIn(client, '15550002345', 'Ravi Customer', 'Can you send me the price list?');
  await page.getByRole('button', { name: /Ravi Customer/ }).click();
  await page.locator('.bubble.inbound', { hasText: 'Can you send me the price list?' }).waitFor();

  const png = await sharp({ create: { width: 64, height: 48, channels: 3, background: '#0f7b5f' } }).png().toBuffer();
  await page.getByLabel('Attach a file (image, document, video or audio)').setInputFiles({ name: 'prices.png', mimeType: 'image/png', buffer: png });
  await page.getByRole('textbox', { name: 'Message' }).fill('Here is our price list');
  await page.getByRole('button', { name: 'Send', exact: true }).click();
  const image = page.locator('.bubble.outbound[data-type="image"]', { hasText: 'Here is our price list' });
  await image.locator('img').waitFor();
  // The preview really rendered the picked file (a broken image has no natural size).
  assert.equal(await image.locator('img').evaluate((img) => { const i = img as unknown as { naturalWidth: number; naturalHeight: number }; return `${i.naturalWidth}x${i.naturalHeight}`; }), '64x48');
  const sentImage = await waitForOutbox(client, (item) => item.type === 'image' && item.outcome === 'accepted');
  assert.equal(sentImage.to, '15550002345');
  assert.match(String(sentImage.payload.image.id), /^\d+$/, 'the image was uploaded to the Graph media endpoint and sent by media id');
  assert.equal(sentImage.payload.image.caption, 'Here is our price list');
  await image.locator('.tick.read').waitFor({ timeout: 20_000 });

  const pdf = Buffer.from('%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n');
  await page.getByLabel('Attach a file (image, document, video or audio)').setInputFiles({ name: 'menu.pdf', mimeType: 'application/pdf', buffer: pdf });
  await page.getByRole('button', { name: 'Send', exact: true }).click();
  const doc = page.locator('.bubble.outbound[data-type="document"]');
  await doc.getByText('menu.pdf').waitFor();
  const sentDoc = await waitForOutbox(client, (item) => item.type === 'document' && item.outcome === 'accepted');
  assert.equal(sentDoc.payload.document.filename, 'menu.pdf');
  assert.match(String(sentDoc.payload.document.id), /^\d+$/);

  // A file WhatsApp does not take is refused in words before anything is sent.
  await page.getByLabel('Attach a file (image, document, video or audio)').setInputFiles({ name: 'movie.gif', mimeType: 'image/gif', buffer: Buffer.from('GIF89a') });
  await page.getByRole('button', { name: 'Send', exact: true }).click();
  await page.getByText('movie.gif: image/gif cannot be sent on WhatsApp').waitFor();
  assert.equal(await page.locator('.bubble.outbound').count(), 2);
  // Audio goes out too, but never with a caption (WhatsApp refuses one): the console says so before sending.
  const ogg = Buffer.concat([Buffer.from('OggS'), Buffer.alloc(60)]);
  await page.getByLabel('Attach a file (image, document, video or audio)').setInputFiles({ name: 'note.ogg', mimeType: 'audio/ogg', buffer: ogg });
  await page.getByRole('textbox', { name: 'Message' }).fill('listen');
  await page.getByRole('button', { name: 'Send', exact: true }).click();
  await page.getByText('WhatsApp audio messages cannot have a caption').waitFor();
  await page.getByRole('textbox', { name: 'Message' }).fill('');
  await page.getByRole('button', { name: 'Send', exact: true }).click();
  await page.locator('.bubble.outbound[data-type="audio"]').getByText('note.ogg').waitFor();
  await waitForOutbox(client, (item) => item.type === 'audio' && item.outcome === 'accepted');
  await page.screenshot({ path: '/tmp/ecodrix-console-media.png' });
  await page.context().close();
});

test('campaigns: the client creates and sends list and filter campaigns and watches their progress live to finished; the mail catcher has them', { skip }, async () => {
  const client = await h.createClient('Campaign Clinic');
  const page = await newPage();
  await signInAsClient(page, client);
  await page.getByRole('link', { name: 'Campaigns' }).click();
  await page.getByText('No campaigns yet').waitFor();
  await page.getByLabel('Campaign name').fill('Spring offer');
  await page.getByLabel('Subject').fill('Spring check-ups are open');
  await page.getByLabel('Text', { exact: true }).fill('Book your spring check-up.');
  await page.getByLabel('Recipient emails (comma or line separated)').fill('ana@example.test, ben@example.test\ncy@example.test');
  await page.getByRole('button', { name: 'Save draft' }).click();
  const card = page.getByRole('article', { name: 'Campaign Spring offer' });
  await card.getByText('Draft: recipients are chosen when it starts.').waitFor();
  await card.getByRole('button', { name: 'Send now: Spring offer' }).click();
  await card.getByText('3 sent · 0 failed · 0 pending of 3').waitFor({ timeout: 30_000 });
  await page.locator('article.campaign[data-status="finished"]').waitFor();
  assert.equal(await card.getByRole('button').count(), 0, 'a finished campaign offers no actions');
  assert.equal(await card.locator('progress').getAttribute('value'), '3');

  // A filter audience: the qualified leads with an email.
  await clientApi(client, 'POST', '/api/crm/leads', { contact: { name: 'Dee Qualified', email: 'dee@example.test' }, stage: 'qualified' });
  await clientApi(client, 'POST', '/api/crm/leads', { contact: { name: 'Eli New', email: 'eli@example.test' } });
  await page.getByLabel('Campaign name').fill('Qualified follow-up');
  await page.getByLabel('Subject').fill('Ready when you are');
  await page.getByLabel('Text', { exact: true }).fill('Shall we book your first session?');
  await page.getByRole('radio', { name: 'Leads matching a filter (with an email)' }).check();
  assert.equal(await page.getByLabel('Recipient emails (comma or line separated)').isVisible(), false);
  await page.getByLabel('Lead stages (comma separated)').fill('qualified');
  await page.getByRole('button', { name: 'Save draft' }).click();
  const filtered = page.getByRole('article', { name: 'Campaign Qualified follow-up' });
  await filtered.getByRole('button', { name: 'Send now: Qualified follow-up' }).click();
  await filtered.getByText('1 sent · 0 failed · 0 pending of 1').waitFor({ timeout: 30_000 });

  await page.getByRole('link', { name: 'Sandbox' }).click();
  const mail = page.getByRole('region', { name: 'Mail catcher' });
  for (const to of ['ana@example.test', 'ben@example.test', 'cy@example.test', 'dee@example.test']) await mail.getByRole('cell', { name: to }).waitFor();
  assert.equal(await mail.getByRole('cell', { name: 'eli@example.test' }).count(), 0, 'a lead outside the filter is not mailed');
  await page.context().close();
});

test('campaigns: pause, resume and cancel drive the state shown (live events, no reload)', { skip }, async () => {
  const client = await h.createClient('Paced Clinic');
  const emails = Array.from({ length: 40 }, (_, i) => `p${i}@example.test`);
  // One message a second: the campaign stays running long enough to pause it.
  const created = await fetch(`${h.url}/api/saas/email/campaigns`, {
    method: 'POST', headers: { ...client.headers, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'Slow news', subject: 'News', text: 'Hi', audience: { type: 'list', emails }, ratePerSecond: 1 }),
  });
  assert.equal(created.status, 201);
  const page = await newPage();
  await signInAsClient(page, client);
  await page.getByRole('link', { name: 'Campaigns' }).click();
  const card = page.getByRole('article', { name: 'Campaign Slow news' });
  await card.getByRole('button', { name: 'Send now: Slow news' }).click();
  await page.locator('article.campaign[data-status="sending"]').waitFor();
  await card.getByText(/of 40$/).waitFor();
  await card.getByRole('button', { name: 'Pause: Slow news' }).click();
  await page.locator('article.campaign[data-status="paused"]').waitFor();
  await card.getByText('Paused: paused by the client').waitFor();
  await card.getByRole('button', { name: 'Resume: Slow news' }).click();
  await page.locator('article.campaign[data-status="sending"]').waitFor();
  page.once('dialog', (dialog) => { void dialog.accept(); });
  await card.getByRole('button', { name: 'Cancel: Slow news' }).click();
  await page.locator('article.campaign[data-status="cancelled"]').waitFor();
  await card.getByText(/\d+ cancelled/).waitFor();
  // Rows in flight when it was cancelled finish, then the runner publishes its last progress.
  await card.getByText(/ 0 pending of 40$/).waitFor();
  const text = await card.getByTestId('campaign-progress').textContent();
  const [, sent, failed, pending, total] = /^(\d+) sent · (\d+) failed · (\d+) pending of (\d+)$/.exec(text ?? '') ?? [];
  assert.equal(total, '40');
  assert.equal(failed, '0');
  assert.ok(Number(sent) < 40, `cancelled before the end (${text})`);
  assert.equal(pending, '0', 'nothing is left pending once cancelled');
  await page.context().close();
});

test('phone: sign-in, conversation list → thread and the reply box fit a 390 px screen; every client page stays within the width', { skip }, async () => {
  const client = await h.createClient('Phone Clinic');
  await customerWritesIn(client, '15550003456', 'Mina Customer', 'Hi! Do you have a slot tomorrow morning for a check-up? My number is 15550003456 and I prefer 9am.');
  const page = await newPage(PHONE);
  await page.goto(`${h.url}/console/`);
  await assertFitsScreen(page, 'sign-in', 'button:has-text("Sign in as client")');
  await page.getByLabel('Client code').fill(client.code);
  await page.getByLabel('API key').fill(client.apiKey);
  await page.getByRole('button', { name: 'Sign in as client' }).tap();
  await page.getByRole('heading', { name: 'Inbox' }).waitFor();
  const conversation = page.getByRole('button', { name: /Mina Customer/ });
  await conversation.waitFor();
  await assertFitsScreen(page, 'conversation list', '.conversations button');
  await page.screenshot({ path: '/tmp/ecodrix-console-phone-list.png' });

  await conversation.tap();
  await page.locator('.bubble.inbound', { hasText: 'Do you have a slot tomorrow' }).waitFor();
  // On a phone the thread replaces the list; a back button returns to it.
  assert.equal(await page.getByRole('list', { name: 'Conversations' }).isVisible(), false);
  const message = page.getByRole('textbox', { name: 'Message' });
  await message.scrollIntoViewIfNeeded();
  assert.ok(await message.isVisible());
  await assertFitsScreen(page, 'thread', '.thread');
  await assertFitsScreen(page, 'reply box', '.composer input[name=text]');
  await assertFitsScreen(page, 'send button', '.composer button[type=submit]');
  await assertFitsScreen(page, 'attach', '.composer input[type=file]');
  await message.fill('Yes, 9am tomorrow works.');
  await page.getByRole('button', { name: 'Send', exact: true }).tap();
  await page.locator('.bubble.outbound', { hasText: 'Yes, 9am tomorrow works.' }).locator('.tick.read').waitFor({ timeout: 20_000 });
  await assertFitsScreen(page, 'thread after the reply');
  await page.screenshot({ path: '/tmp/ecodrix-console-phone-thread.png' });
  await page.getByRole('button', { name: '← Conversations' }).tap();
  await conversation.waitFor();

  for (const name of ['Leads', 'Appointments', 'Automations', 'Campaigns', 'Sandbox']) {
    await page.getByRole('link', { name, exact: true }).tap();
    await page.locator('main .card h2').first().waitFor();
    await waitUntilLoaded(page);
    await assertFitsScreen(page, `${name} page`);
    await page.screenshot({ path: `/tmp/ecodrix-console-phone-${name.toLowerCase()}.png`, fullPage: true });
  }
  await page.getByRole('button', { name: 'Sign out' }).tap();
  await page.getByLabel('Admin token (x-core-api-key)').fill(TEST_ADMIN_TOKEN);
  await page.getByRole('button', { name: 'Sign in as operator' }).tap();
  await page.getByRole('heading', { name: 'New client' }).waitFor();
  for (const name of ['Clients', 'Queues', 'Webhooks', 'Health']) {
    await page.getByRole('link', { name, exact: true }).tap();
    await page.locator('main .card h2').first().waitFor();
    await waitUntilLoaded(page);
    await assertFitsScreen(page, `operator ${name} page`);
  }
  await page.screenshot({ path: '/tmp/ecodrix-console-phone-operator.png', fullPage: true });
  await page.context().close();
});

async function clientApi<T = unknown>(client: TestClient, method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${h.url}${path}`, {
    method, headers: { ...client.headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  assert.ok(res.ok, `${method} ${path}: ${res.status} ${text}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

test('client pages: empty states, leads with the score "why", the pipeline board moves a lead, appointments, job history and the sandbox panel', { skip }, async () => {
  const client = await h.createClient('Pages Clinic');
  const page = await newPage();
  await signInAsClient(page, client);
  // Empty states say what is missing, not a bare table.
  await page.getByRole('link', { name: 'Leads', exact: true }).click();
  await page.getByText('No leads yet.').waitFor();
  await page.getByRole('list', { name: 'Pipeline Default' }).waitFor();
  await page.getByRole('link', { name: 'Appointments' }).click();
  await page.getByText('No appointments yet.').waitFor();
  await page.getByRole('link', { name: 'Automations' }).click();
  await page.getByText('No jobs have run yet.').waitFor();
  await page.getByText('No CRM automations yet.').waitFor();
  await page.getByRole('link', { name: 'Sandbox' }).click();
  await page.getByText('No mail caught yet.').waitFor();

  const lead = await clientApi<{ id: string; contactId: string }>(client, 'POST', '/api/crm/leads', { contact: { name: 'Zara Lead', phone: '+15550004567', email: 'zara@example.test' }, source: 'website' });
  await clientApi(client, 'POST', `/api/crm/leads/${lead.id}/signals`, { signal: 'purchase' });
  const startsAt = new Date(Date.now() + 2 * 86_400_000);
  await clientApi(client, 'POST', '/api/crm/appointments', {
    contactId: lead.contactId, title: 'Spring check-up', startsAt: startsAt.toISOString(), endsAt: new Date(startsAt.getTime() + 1_800_000).toISOString(), location: 'Room 2',
  });

  await page.getByRole('link', { name: 'Leads', exact: true }).click();
  await page.getByRole('cell', { name: 'Zara Lead' }).click();
  const why = page.getByRole('region', { name: 'Score of Zara Lead' });
  // Scoring also runs on events (lead captured, appointment booked) in the background: the total may still move.
  await why.getByRole('heading', { name: /^Why is Zara Lead \d+\?$/ }).waitFor();
  await why.getByRole('row', { name: 'purchase conversion 1 25' }).waitFor();
  await why.getByRole('row', { name: /^warm 30 (yes|no)$/ }).waitFor();
  await why.getByRole('cell', { name: /^0 → \d+$/ }).waitFor();
  // The search filter goes to the API's q parameter.
  await page.getByLabel('Search (name, phone, email)').fill('nobody-matches');
  await page.getByRole('button', { name: 'Filter' }).click();
  await page.getByText('No lead matches these filters.').waitFor();
  await page.getByLabel('Search (name, phone, email)').fill('Zara');
  await page.getByRole('button', { name: 'Filter' }).click();
  await page.getByRole('cell', { name: 'Zara Lead' }).waitFor();

  const board = page.getByRole('list', { name: 'Pipeline Default' });
  await board.getByRole('listitem', { name: 'Stage New' }).getByRole('article', { name: 'Zara Lead' }).waitFor();
  await board.getByLabel('Move Zara Lead to stage').selectOption('qualified');
  await board.getByRole('listitem', { name: 'Stage Qualified' }).getByRole('article', { name: 'Zara Lead' }).waitFor();
  const moved = await clientApi<{ stage: string }>(client, 'GET', `/api/crm/leads/${lead.id}`);
  assert.equal(moved.stage, 'qualified');

  await page.getByRole('link', { name: 'Appointments' }).click();
  const appointment = page.getByRole('row').filter({ hasText: 'Spring check-up' });
  await appointment.waitFor();
  const cells = await appointment.getByRole('cell').allTextContents();
  assert.deepEqual(cells.slice(2, 6), ['Spring check-up', 'Zara Lead', 'confirmed', 'Room 2'], `appointment row: ${JSON.stringify(cells)}`);

  // Job history: a reminder scheduled two hours out is listed, and its detail shows it has not been attempted.
  await clientApi(client, 'POST', '/api/saas/workflows', { name: 'Reminder 2h', trigger: 'appointment_reminder', templateName: 'hello_world', language: 'en_US', delayMinutes: 120 });
  await clientApi(client, 'POST', '/api/saas/workflows/trigger', { trigger: 'appointment_reminder', phone: '15550004567' });
  await page.getByRole('link', { name: 'Automations' }).click();
  await page.getByRole('region', { name: 'Communication workflows' }).getByRole('cell', { name: 'Reminder 2h' }).waitFor();
  await page.getByRole('region', { name: 'Job history' }).getByRole('cell', { name: 'Reminder 2h' }).click();
  const attempts = page.getByRole('region', { name: 'Job attempts' });
  await attempts.getByRole('heading', { name: /^Reminder 2h · send_whatsapp \(\w+\)$/ }).waitFor();
  await attempts.getByText('Not attempted yet.').waitFor();

  await page.getByRole('link', { name: 'Sandbox' }).click();
  await page.getByLabel('Customer phone (E.164 digits)').fill('15550004567');
  await page.getByLabel('Customer name').fill('Zara Lead');
  await page.getByLabel('Customer message').fill('Thanks, see you then!');
  await page.getByRole('button', { name: 'Send as customer' }).click();
  await page.getByText('appears in the Inbox').waitFor();
  await page.getByRole('link', { name: 'Inbox' }).click();
  await page.getByRole('button', { name: /Zara Lead/ }).click();
  await page.locator('.bubble.inbound', { hasText: 'Thanks, see you then!' }).waitFor();
  await page.context().close();
});

test('client inbox: a reply WhatsApp cannot deliver is marked failed with the reason in words', { skip }, async () => {
  const client = await h.createClient('Failing Clinic');
  // The simulator refuses delivery to +1 555 999… numbers (131026: not a WhatsApp user / undeliverable).
  await customerWritesIn(client, '15559990001', 'Lost Customer', 'Hello?');
  const page = await newPage();
  await signInAsClient(page, client);
  await page.getByRole('button', { name: /Lost Customer/ }).click();
  await page.getByRole('textbox', { name: 'Message' }).fill('Hi, how can we help?');
  await page.getByRole('button', { name: 'Send', exact: true }).click();
  const reply = page.locator('.bubble.outbound', { hasText: 'Hi, how can we help?' });
  await reply.locator('.tick.failed').waitFor({ timeout: 20_000 });
  assert.match(await reply.getByRole('note').textContent() ?? '', /^Not delivered: Message undeliverable \(131026\)/);
  await page.context().close();
});
