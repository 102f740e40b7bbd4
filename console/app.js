// ECODrIx console: one page, no build step. Operator view (admin token) and client view (client code + API key).
// Credentials live in sessionStorage only (gone when the tab closes). All text goes through textContent.

const store = {
  get session() {
    try { return JSON.parse(sessionStorage.getItem('ecodrix.session') || 'null'); } catch { return null; }
  },
  set session(value) {
    if (value) sessionStorage.setItem('ecodrix.session', JSON.stringify(value));
    else sessionStorage.removeItem('ecodrix.session');
  },
};

/** Creates an element: h('button', { onclick, class: 'x' }, 'text', child). */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else if (key === 'class') el.className = value;
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** Live check of a client's tenant database (operator view): reachable or what failed, with the time it took. */
function datasourceHealth(code) {
  const out = h('p', { 'aria-live': 'polite', 'data-health': 'checking' }, 'Database health: checking…');
  const check = async () => {
    out.dataset.health = 'checking';
    out.textContent = 'Database health: checking…';
    try {
      const r = await api('GET', `/api/clients/${encodeURIComponent(code)}/datasource/health`);
      out.dataset.health = r.ok ? 'ok' : 'fail';
      out.replaceChildren(`Database health: ${r.ok ? '✓ ' : '✗ '}${r.detail} (${r.latencyMs} ms) `, h('button', { class: 'secondary', type: 'button', onclick: check }, 'Check again'));
      if (!r.ok) out.setAttribute('role', 'alert');
    } catch (err) {
      out.dataset.health = 'fail';
      out.textContent = `Database health: could not check (${err.message})`;
    }
  };
  void check();
  return out;
}

function flash(message, isError = false) {
  const el = document.getElementById('flash');
  el.textContent = message;
  el.className = isError ? 'flash error' : 'flash';
  el.hidden = false;
  clearTimeout(flash.timer);
  flash.timer = setTimeout(() => { el.hidden = true; }, isError ? 8000 : 4000);
}

class ApiError extends Error {
  constructor(status, body) {
    super(body?.error?.message || `HTTP ${status}`);
    this.status = status;
    this.code = body?.error?.code;
  }
}

async function api(method, path, body) {
  const session = store.session;
  const headers = {};
  if (session?.kind === 'operator') headers['x-core-api-key'] = session.token;
  if (session?.kind === 'client') { headers['x-api-key'] = session.apiKey; headers['x-client-code'] = session.clientCode; }
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  let data;
  try { data = text ? JSON.parse(text) : undefined; } catch { data = text; }
  if (res.status === 401 && session) { store.session = null; render(); }
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}

/** Items of a list response, whatever its envelope ({items}, {data}, {conversations}, an array...). */
function itemsOf(data) {
  if (Array.isArray(data)) return data;
  if (!data || typeof data !== 'object') return [];
  for (const key of ['items', 'data', 'results', 'conversations', 'messages', 'leads', 'contacts', 'jobs', 'campaigns', 'templates', 'automations', 'workflows', 'appointments', 'mail', 'rows', 'queues', 'webhooks']) {
    if (Array.isArray(data[key])) return data[key];
  }
  return [];
}

function formatValue(value) {
  if (value === null || value === undefined) return '';
  if (typeof value === 'object') return JSON.stringify(value);
  if (typeof value === 'string' && /^\d{4}-\d\d-\d\dT/.test(value)) return new Date(value).toLocaleString();
  return String(value);
}

/** A table for any list of objects; `columns` picks and orders keys. */
function table(items, columns, onRowClick, caption, emptyText = 'Nothing here yet.') {
  if (!items.length) return h('p', { class: 'empty' }, emptyText);
  const cols = columns || Object.keys(items[0]).filter((k) => typeof items[0][k] !== 'object' || items[0][k] === null).slice(0, 7);
  return h('div', { class: 'table-wrap' }, h('table', {},
    caption ? h('caption', { class: 'visually-hidden' }, caption) : null,
    h('thead', {}, h('tr', {}, cols.map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', {}, items.map((item) => h('tr', {
      class: onRowClick ? 'clickable' : '',
      tabindex: onRowClick ? '0' : undefined,
      onclick: onRowClick ? () => onRowClick(item) : undefined,
      onkeydown: onRowClick ? (e) => { if (e.key === 'Enter') onRowClick(item); } : undefined,
    }, cols.map((c) => h('td', {}, formatValue(item[c]))))))));
}

function field(labelText, attrs) {
  const id = `f-${Math.random().toString(36).slice(2)}`;
  return h('div', {}, h('label', { for: id }, labelText), h(attrs.tag || 'input', { id, ...attrs, tag: undefined }));
}

function formValues(form) {
  return Object.fromEntries([...new FormData(form)].filter(([, v]) => v !== ''));
}

async function section(title, loader) {
  const body = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  const card = h('section', { class: 'card', 'aria-label': title }, h('h2', {}, title), body);
  (async () => {
    try {
      const content = await loader();
      body.replaceChildren(content);
    } catch (err) {
      body.replaceChildren(h('p', { class: 'error', role: 'alert' }, err.status === 404 ? 'Not available on this server yet.' : `Could not load: ${err.message}`));
    }
  })();
  return card;
}

/** Navigates to `hash`, rendering exactly once (a hash change renders through its listener). */
function go(hash) {
  if (location.hash === hash) render();
  else location.hash = hash;
}

// ---------- sign in ----------

function signIn() {
  const operatorForm = h('form', { 'aria-label': 'Operator sign in', onsubmit: async (e) => {
    e.preventDefault();
    const { token } = formValues(e.target);
    store.session = { kind: 'operator', token };
    try { await api('GET', '/api/clients?limit=1'); go('#/clients'); }
    catch (err) { store.session = null; flash(err.status === 401 ? 'That admin token is not valid.' : err.message, true); }
  } },
    field('Admin token (x-core-api-key)', { name: 'token', type: 'password', required: true, autocomplete: 'off' }),
    h('p', {}, h('button', { type: 'submit' }, 'Sign in as operator')));
  const clientForm = h('form', { 'aria-label': 'Client sign in', onsubmit: async (e) => {
    e.preventDefault();
    const { clientCode, apiKey } = formValues(e.target);
    store.session = { kind: 'client', clientCode, apiKey };
    try { await api('GET', '/api/saas/cors'); go('#/inbox'); }
    catch (err) { store.session = null; flash(err.status === 401 || err.status === 404 ? err.message : `Sign-in failed: ${err.message}`, true); }
  } },
    field('Client code', { name: 'clientCode', required: true, autocomplete: 'username' }),
    field('API key', { name: 'apiKey', type: 'password', required: true, autocomplete: 'current-password' }),
    h('p', {}, h('button', { type: 'submit' }, 'Sign in as client')));
  return h('div', { class: 'row' },
    h('section', { class: 'card' }, h('h2', {}, 'Operator'), h('p', { class: 'muted' }, 'Onboard clients, watch queues and the webhook inbox.'), operatorForm),
    h('section', { class: 'card' }, h('h2', {}, 'Client'), h('p', { class: 'muted' }, 'Work the WhatsApp inbox, leads and automations.'), clientForm));
}

// ---------- operator ----------

async function clientsPage() {
  const createForm = h('form', { 'aria-label': 'Create client', onsubmit: async (e) => {
    e.preventDefault();
    try {
      const created = await api('POST', '/api/clients', formValues(e.target));
      e.target.reset();
      result.replaceChildren(h('p', {}, `Created ${created.clientCode}. Its API key is shown once — save it now:`), h('p', { class: 'secret', 'data-testid': 'new-api-key' }, created.apiKey));
      list.replaceChildren(await clientTable());
    } catch (err) { flash(err.message, true); }
  } },
    h('div', { class: 'row' },
      field('Business name', { name: 'name', required: true }),
      field('Email', { name: 'email', type: 'email', required: true }),
      field('Client code (optional)', { name: 'clientCode', pattern: '[A-Za-z0-9][A-Za-z0-9_-]{1,39}' }),
      h('button', { type: 'submit' }, 'Create client')));
  const result = h('div', {});
  const list = h('div', {}, await clientTable());
  return h('div', {}, h('section', { class: 'card' }, h('h2', {}, 'New client'), createForm, result), h('section', { class: 'card' }, h('h2', {}, 'Clients'), list));
}

async function clientTable() {
  const data = await api('GET', '/api/clients?limit=100');
  return table(itemsOf(data), ['clientCode', 'name', 'email', 'whatsappStatus', 'createdAt'], (c) => { location.hash = `#/clients/${encodeURIComponent(c.clientCode)}`; }, 'Clients');
}

async function clientDetailPage(code) {
  const client = await api('GET', `/api/clients/${encodeURIComponent(code)}`);
  const out = h('div', {});
  const secrets = Object.entries(client.secrets || {}).map(([name, s]) => ({ name, hint: s.hint, updatedAt: s.updatedAt }));
  const secretForm = h('form', { 'aria-label': 'Set secrets', onsubmit: async (e) => {
    e.preventDefault();
    try { await api('POST', `/api/clients/${encodeURIComponent(code)}/secrets`, formValues(e.target)); flash('Secrets saved.'); render(); }
    catch (err) { flash(err.message, true); }
  } }, h('div', { class: 'row' },
    field('Secret', { tag: 'select', name: '__name', onchange: (e) => { e.target.closest('form').querySelector('[data-value]').name = e.target.value; } }),
    field('Value', { 'data-value': '', name: 'whatsappToken', type: 'password', autocomplete: 'off', required: true }),
    h('button', { type: 'submit' }, 'Save')));
  const select = secretForm.querySelector('select');
  select.removeAttribute('name');
  for (const name of ['whatsappToken', 'whatsappBusinessId', 'whatsappPhoneNumberId', 'whatsappWebhookToken', 'whatsappAppSecret', 'smtpHost', 'smtpPort', 'smtpUser', 'smtpPass', 'smtpFrom', 'automationWebhookSecret']) select.append(h('option', { value: name }, name));
  out.append(
    h('section', { class: 'card' }, h('h2', {}, `${client.name} (${client.clientCode})`),
      h('p', {}, `Email ${client.email} · WhatsApp ${client.whatsappStatus}${client.whatsappStatusReason ? ` (${client.whatsappStatusReason})` : ''} · key ${client.apiKeyHint}`),
      h('p', {}, 'Datasource: ', client.datasource ? `${client.datasource.uri}${client.datasource.provisioned ? ' (provisioned)' : ''}` : 'none registered (created automatically with the embedded database)'),
      datasourceHealth(code),
      h('div', { class: 'row' },
        h('button', { class: 'secondary', onclick: async () => {
          if (!confirm(`Rotate the API key of ${code}? The old key stops working at once.`)) return;
          try { const r = await api('POST', `/api/clients/${encodeURIComponent(code)}/rotate-key`); out.prepend(h('section', { class: 'card' }, h('p', {}, 'New API key (shown once):'), h('p', { class: 'secret' }, r.apiKey))); }
          catch (err) { flash(err.message, true); }
        } }, 'Rotate key'),
        h('button', { class: 'danger', onclick: async () => {
          if (!confirm(`Delete client ${code}? Its tenant database is kept.`)) return;
          try { await api('DELETE', `/api/clients/${encodeURIComponent(code)}`); flash(`Deleted ${code}.`); location.hash = '#/clients'; }
          catch (err) { flash(err.message, true); }
        } }, 'Delete client'))),
    h('section', { class: 'card' }, h('h2', {}, 'Secrets (masked)'), table(secrets, ['name', 'hint', 'updatedAt']), secretForm),
    h('section', { class: 'card' }, h('h2', {}, 'Datasource'), h('form', { 'aria-label': 'Set datasource', onsubmit: async (e) => {
      e.preventDefault();
      try { await api('POST', `/api/clients/${encodeURIComponent(code)}/datasource`, formValues(e.target)); flash('Datasource registered.'); render(); }
      catch (err) { flash(err.message, true); }
    } }, h('div', { class: 'row' }, field('PostgreSQL URI', { name: 'dbUri', required: true, placeholder: 'postgres://user:pass@host:5432/db' }), h('button', { type: 'submit' }, 'Check and save')))));
  return out;
}

const JOB_COLUMNS = ['queue', 'state', 'attempts', 'maxAttempts', 'createdAt', 'startedAt', 'id'];

async function queuesPage() {
  return h('div', {},
    await section('Queues', async () => {
      const data = await api('GET', '/api/admin/jobs/stats');
      const stuck = data.stuck || 0;
      return h('div', {},
        h('p', { class: stuck ? 'error' : 'muted', role: stuck ? 'alert' : undefined }, stuck ? `${stuck} job(s) stuck (active for more than 10 minutes) — see below.` : 'No stuck jobs.'),
        table(itemsOf(data), ['name', 'created', 'retry', 'active', 'failed', 'completed', 'cancelled'], undefined, 'Jobs by queue and state', 'No queues.'));
    }),
    await section('Failed jobs', async () => table(itemsOf(await api('GET', '/api/admin/jobs?state=failed&limit=50')), JOB_COLUMNS, (job) => jobActions(job), 'Failed jobs', 'No failed jobs.')),
    await section('Stuck jobs (active past their lease)', async () => table(itemsOf(await api('GET', '/api/admin/jobs/stuck')), JOB_COLUMNS, (job) => jobActions(job), 'Stuck jobs', 'No stuck jobs.')));
}

function jobActions(job) {
  const id = job.id;
  const dialog = h('section', { class: 'card', 'aria-label': `Job ${id}` },
    h('div', { class: 'campaign-head' }, h('h2', {}, `Job ${id} (${job.queue}, ${job.state})`), h('button', { type: 'button', class: 'secondary', onclick: () => dialog.remove() }, 'Close')),
    h('pre', {}, JSON.stringify(job, null, 2)),
    h('div', { class: 'actions' },
      h('button', { type: 'button', onclick: async () => { try { await api('POST', `/api/admin/jobs/${encodeURIComponent(id)}/retry`); flash('Job re-queued.'); render(); } catch (err) { flash(err.message, true); } } }, 'Retry'),
      h('button', { type: 'button', class: 'danger', onclick: async () => { if (!confirm('Kill this job permanently?')) return; try { await api('POST', `/api/admin/jobs/${encodeURIComponent(id)}/kill`); flash('Job killed.'); render(); } catch (err) { flash(err.message, true); } } }, 'Kill')));
  document.getElementById('main').prepend(dialog);
  dialog.scrollIntoView({ block: 'start' });
}

async function webhooksPage() {
  const states = ['unroutable', 'dead', 'pending', 'done'];
  return h('div', {}, ...(await Promise.all(states.map((state) => section(`Webhook inbox: ${state}`, async () => {
    const data = await api('GET', `/api/admin/webhooks?state=${state}&limit=50`);
    const rows = itemsOf(data).map((w) => ({ ...w, clients: (w.clientIds || []).join(', ') }));
    // Pending rows are still being processed; the others can be replayed.
    return table(rows, ['id', 'receivedAt', 'attempts', 'lastError', 'clients', 'size', 'processedAt'], state === 'pending' ? undefined : async (row) => {
      if (!confirm(`Replay webhook ${row.id}?`)) return;
      try { const r = await api('POST', `/api/admin/webhooks/${encodeURIComponent(row.id)}/replay`); flash(`Replayed ${r.id}: ${r.previousState} → ${r.state}.`); render(); } catch (err) { flash(err.message, true); }
    }, `Webhooks ${state}`, `No ${state} webhooks.`);
  })))));
}

async function healthPage() {
  return section('System health', async () => {
    const res = await fetch('/api/saas/health');
    const data = await res.json();
    const labels = { status: 'Status', database: 'Control database', databaseLatencyMs: 'Database round trip (ms)', version: 'Version', uptimeSeconds: 'Uptime (s)', tenantPools: 'Open tenant pools' };
    return h('div', {}, h('p', { class: res.ok ? '' : 'error', role: res.ok ? undefined : 'alert' }, res.ok ? 'Healthy' : 'Degraded: the control database is not answering.'),
      h('dl', { class: 'facts' }, Object.entries(labels).filter(([key]) => key in data).map(([key, label]) => [h('dt', {}, label), h('dd', {}, formatValue(data[key]))])));
  });
}

// ---------- client ----------

let socket;
const liveHandlers = new Set();

function connectSocket() {
  const session = store.session;
  if (socket || session?.kind !== 'client' || typeof io !== 'function') return;
  socket = io({ auth: { clientCode: session.clientCode, apiKey: session.apiKey }, transports: ['websocket'] });
  socket.onAny((event, payload) => { for (const handler of liveHandlers) handler(event, payload); });
  socket.on('connect_error', (err) => flash(`Live updates unavailable: ${err.message}`, true));
}

function tick(status) {
  if (status === 'read' || status === 'played') return h('span', { class: 'tick read', title: status, 'aria-label': status }, '✓✓');
  if (status === 'delivered') return h('span', { class: 'tick', title: status, 'aria-label': status }, '✓✓');
  if (status === 'sent') return h('span', { class: 'tick', title: status, 'aria-label': status }, '✓');
  if (status === 'failed') return h('span', { class: 'tick failed', title: status, 'aria-label': status }, '⚠');
  return h('span', { class: 'tick', title: status, 'aria-label': status || 'queued' }, '🕓');
}

/** Media the agent sent from this tab (object URLs of the chosen files), shown until the page is closed. */
const localMedia = new Map();

function messageText(m) {
  const body = m.content?.body;
  if (m.direction === 'outbound' && MEDIA_KINDS.includes(m.type)) return body?.caption ?? '';
  if (m.media && m.text === `[${m.type}]`) return '';
  return m.text ?? m.body ?? m.content?.text ?? m.content?.body ?? m.content?.caption ?? (m.type ? `[${m.type}]` : '');
}

const MEDIA_KINDS = ['image', 'video', 'audio', 'document', 'sticker'];

/** The media part of a bubble: archived media through a signed link, what this tab sent, or a labelled placeholder. */
function mediaOf(m) {
  const outbound = m.direction === 'outbound';
  const local = localMedia.get(m.id);
  const body = m.content?.body || {};
  const filename = m.media?.filename || body.filename || local?.name;
  if (local && local.isImage) return h('img', { class: 'media', src: local.url, alt: filename ? `Image sent: ${filename}` : 'Image sent' });
  if (outbound && MEDIA_KINDS.includes(m.type) && m.media?.status !== 'stored') {
    return h('div', { class: 'attachment', role: 'img', 'aria-label': `${m.type}${filename ? ` ${filename}` : ''}` }, h('span', { class: 'muted' }, `${m.type[0].toUpperCase()}${m.type.slice(1)}: `), filename || 'sent');
  }
  const stored = m.media?.status === 'stored';
  if (stored && /^image\//.test(m.media?.mimeType || '')) {
    const img = h('img', { class: 'media', alt: filename || `${m.type} from the customer`, 'data-media-id': m.id });
    api('GET', `/api/saas/media/${encodeURIComponent(m.id)}`).then((r) => { img.src = r.url; }).catch(() => { img.alt = `${img.alt} (could not load)`; });
    return img;
  }
  if (stored) {
    return h('a', { class: 'attachment', href: '#', onclick: async (e) => {
      e.preventDefault();
      try { const r = await api('GET', `/api/saas/media/${encodeURIComponent(m.id)}`); window.open(r.url, '_blank', 'noopener'); } catch (err) { flash(err.message, true); }
    } }, `Open ${m.type}: ${filename || 'file'}`);
  }
  if (m.media) return h('div', { class: 'muted' }, `[${m.type}: ${m.media.status || 'downloading'}]`);
  return null;
}

/** Why a message failed, in words: Meta's error (title, code, details) or ours. */
function failureReason(error) {
  const e = Array.isArray(error) ? error[0] : error;
  if (!e) return '';
  if (typeof e !== 'object') return String(e);
  const title = e.title || e.message || e.ourCode || 'failed';
  const details = e.error_data?.details || e.details;
  return `${title}${e.code ? ` (${e.code})` : ''}${details && details !== title ? ` — ${details}` : ''}`;
}

function bubble(m) {
  const outbound = m.direction === 'outbound';
  const failed = outbound && m.status === 'failed';
  return h('div', { class: `bubble ${outbound ? 'outbound' : 'inbound'}${failed ? ' failed' : ''}`, 'data-message-id': m.id, 'data-status': m.status || '', 'data-type': m.type || '' },
    mediaOf(m), messageText(m),
    failed ? h('div', { class: 'failure', role: 'note' }, `Not delivered: ${failureReason(m.error) || 'no reason given'}`) : null,
    h('div', { class: 'meta' }, m.createdAt ? new Date(m.createdAt).toLocaleTimeString() : '', outbound ? tick(m.status) : null));
}

/** What WhatsApp accepts from the console's file picker, and how large (the send API carries the file base64). */
const SENDABLE = {
  image: { types: ['image/jpeg', 'image/png'], maxBytes: 5 * 1024 * 1024 },
  document: {
    types: ['application/pdf', 'text/plain', 'application/msword', 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
      'application/vnd.ms-excel', 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', 'application/vnd.ms-powerpoint',
      'application/vnd.openxmlformats-officedocument.presentationml.presentation'],
    maxBytes: 16 * 1024 * 1024,
  },
  video: { types: ['video/mp4', 'video/3gpp'], maxBytes: 16 * 1024 * 1024 },
  audio: { types: ['audio/aac', 'audio/amr', 'audio/mpeg', 'audio/mp4', 'audio/ogg'], maxBytes: 16 * 1024 * 1024 },
};

function kindOf(file) {
  return Object.keys(SENDABLE).find((kind) => SENDABLE[kind].types.includes(file.type));
}

function readBase64(file) {
  return new Promise((resolve, reject) => {
    const reader = new window.FileReader();
    reader.onload = () => resolve(String(reader.result).replace(/^data:[^,]*,/, ''));
    reader.onerror = () => reject(reader.error || new Error('Could not read the file'));
    reader.readAsDataURL(file);
  });
}

function conversationName(c) {
  return c.contact?.name || c.contact?.phone || c.contact?.username || 'Unknown';
}

async function inboxPage() {
  const list = h('ul', { class: 'conversations', 'aria-label': 'Conversations' });
  const thread = h('div', { class: 'thread', 'aria-live': 'polite', 'aria-label': 'Messages', tabindex: '0' }, h('p', { class: 'empty' }, 'Pick a conversation.'));
  const title = h('h2', {}, 'Conversation');
  let current = null;
  const messages = new Map();

  async function loadConversations() {
    const data = await api('GET', '/api/saas/chat/conversations?limit=50');
    const items = itemsOf(data);
    list.replaceChildren(...(items.length ? items.map((c) => h('li', {}, h('button', {
      type: 'button',
      'aria-current': current === c.id ? 'true' : 'false',
      onclick: () => openConversation(c).catch((err) => flash(`Could not open the conversation: ${err.message}`, true)),
    }, h('strong', {}, conversationName(c)), ' ',
      c.unreadCount ? h('span', { class: 'badge', 'aria-label': `${c.unreadCount} unread` }, c.unreadCount) : null,
      h('div', { class: 'muted preview' }, c.lastMessagePreview || c.preview || '')))) : [h('li', { class: 'empty' }, 'No conversations yet. Use the Sandbox page to have a customer write in.')]));
  }

  async function openConversation(c) {
    current = c.id;
    title.textContent = [c.contact?.name, c.contact?.phone].filter(Boolean).join(' · ') || 'Conversation';
    layout.classList.add('show-thread');
    socket?.emit('conversation.join', c.id);
    const data = await api('GET', `/api/saas/chat/conversations/${encodeURIComponent(c.id)}/messages?limit=50`);
    const items = itemsOf(data).slice().sort((a, b) => String(a.createdAt).localeCompare(String(b.createdAt)));
    messages.clear();
    thread.replaceChildren(...(items.length ? items.map((m) => { const el = bubble(m); messages.set(m.id, { data: m, el }); return el; }) : [h('p', { class: 'empty' }, 'No messages in this conversation yet.')]));
    thread.scrollTop = thread.scrollHeight;
    composer.hidden = false;
    api('POST', `/api/saas/chat/conversations/${encodeURIComponent(c.id)}/read`).catch(() => {});
    loadConversations().catch(() => {});
  }

  /** Shows or updates a message in the open thread (events may arrive before or after the API answer). */
  function upsert(m) {
    const known = messages.get(m.id);
    const data = known ? { ...known.data, ...m } : m;
    const el = bubble(data);
    if (known) known.el.replaceWith(el);
    else {
      thread.querySelector(':scope > .empty')?.remove();
      thread.append(el);
    }
    messages.set(m.id, { data, el });
    thread.scrollTop = thread.scrollHeight;
  }

  function updatePlaceholder() {
    composer.querySelector('input[name=text]').placeholder = templateSelect.value ? 'Template variables, separated by |' : 'Type a message (or a caption)';
  }
  const templateSelect = h('select', { name: 'template', id: 'reply-template', onchange: () => updatePlaceholder() }, h('option', { value: '' }, 'Free text'));
  async function loadTemplates() {
    const approved = itemsOf(await api('GET', '/api/saas/chat/templates')).filter((t) => t.status === 'APPROVED');
    templateSelect.replaceChildren(h('option', { value: '' }, 'Free text'),
      ...approved.map((t) => h('option', { value: JSON.stringify({ name: t.name, language: t.language }) }, `${t.name} (${t.language})`)));
    return approved.length;
  }
  loadTemplates().catch(() => {});
  const syncButton = h('button', { type: 'button', class: 'secondary', onclick: async () => {
    syncButton.disabled = true;
    try {
      const r = await api('POST', '/api/saas/chat/templates/sync');
      const approved = await loadTemplates();
      flash(`Templates synced from WhatsApp: ${r.synced} (${approved} approved).`);
    } catch (err) { flash(`Could not sync templates: ${err.message}`, true); } finally { syncButton.disabled = false; }
  } }, 'Sync templates');
  const fileInput = h('input', { type: 'file', name: 'file', id: 'reply-file', accept: Object.values(SENDABLE).flatMap((k) => k.types).join(',') });
  const fileNote = h('span', { class: 'muted file-note', 'aria-live': 'polite' });
  fileInput.addEventListener('change', () => {
    const file = fileInput.files?.[0];
    fileNote.textContent = file ? `${file.name} (${Math.ceil(file.size / 1024)} KB) — the message becomes its caption` : '';
  });
  const sendButton = h('button', { type: 'submit' }, 'Send');

  async function mediaBody(file, caption) {
    const kind = kindOf(file);
    if (!kind) throw new Error(`${file.name}: ${file.type || 'this file type'} cannot be sent on WhatsApp (images: JPEG or PNG; documents: PDF, text, Office; video: MP4, 3GP; audio: AAC, AMR, MP3, M4A, OGG)`);
    if (kind === 'audio' && caption) throw new Error('WhatsApp audio messages cannot have a caption: clear the message box, or send the text separately');
    if (file.size > SENDABLE[kind].maxBytes) throw new Error(`${file.name} is ${(file.size / 1024 / 1024).toFixed(1)} MB; the console sends ${kind}s up to ${SENDABLE[kind].maxBytes / 1024 / 1024} MB`);
    const media = { data: await readBase64(file), mimeType: file.type };
    if (caption) media.caption = caption;
    if (kind === 'document') media.filename = file.name;
    return { kind, body: { conversationId: current, type: kind, [kind]: media } };
  }

  const composer = h('form', { hidden: true, class: 'composer', 'aria-label': 'Reply', onsubmit: async (e) => {
    e.preventDefault();
    const form = e.target;
    const { text, template } = formValues(form);
    const file = fileInput.files?.[0];
    if (!template && !text && !file) return;
    sendButton.disabled = true;
    try {
      let body;
      let local;
      if (file && !template) {
        const prepared = await mediaBody(file, text);
        body = prepared.body;
        local = { url: URL.createObjectURL(file), isImage: prepared.kind === 'image', name: file.name };
      } else if (template) {
        body = { conversationId: current, type: 'template', template: { ...JSON.parse(template), variables: (text || '').split('|').map((v) => v.trim()).filter(Boolean) } };
      } else {
        body = { conversationId: current, type: 'text', text: { body: text } };
      }
      const sent = await api('POST', '/api/saas/chat/messages', body);
      form.reset();
      fileNote.textContent = '';
      updatePlaceholder();
      const m = sent.message || sent;
      if (m?.id && local) localMedia.set(m.id, local);
      if (m?.id) upsert(m);
    } catch (err) {
      flash(err.code === 'OUTSIDE_24H_WINDOW' ? `${err.message} — pick a template instead.` : err.message, true);
    } finally {
      sendButton.disabled = false;
    }
  } }, h('div', { class: 'row' },
    h('div', { class: 'send-as' }, h('label', { for: 'reply-template' }, 'Send as'), h('div', { class: 'inline' }, templateSelect, syncButton)),
    field('Message', { name: 'text', autocomplete: 'off', placeholder: 'Type a message (or a caption)' })),
  h('div', { class: 'row composer-actions' },
    h('div', {}, h('label', { for: 'reply-file' }, 'Attach a file (image, document, video or audio)'), fileInput, fileNote),
    sendButton));

  liveHandlers.add((event, payload) => {
    if (event === 'message.created' && payload?.message) {
      if (payload.conversationId === current) upsert(payload.message);
      loadConversations().catch(() => {});
    }
    if (event === 'message.updated' && payload?.messageId && payload.conversationId === current) {
      const change = { id: payload.messageId, ...(payload.message || {}) };
      for (const key of ['status', 'error', 'reactions', 'media']) if (payload[key] !== undefined) change[key] = payload[key];
      upsert(change);
    }
    if (event === 'conversation.updated') loadConversations().catch(() => {});
  });
  await loadConversations();
  const back = h('button', { type: 'button', class: 'secondary back', onclick: () => { layout.classList.remove('show-thread'); current = null; loadConversations().catch(() => {}); } }, '← Conversations');
  const layout = h('div', { class: 'inbox' },
    h('section', { class: 'card conversation-list', 'aria-label': 'Inbox' }, h('h2', {}, 'Inbox'), list),
    h('section', { class: 'card conversation', 'aria-label': 'Conversation' }, h('div', { class: 'thread-head' }, back, title), thread, composer));
  return layout;
}

function leadName(l) {
  return l.name || l.contact?.name || l.contact?.phone || l.contact?.email || 'Unnamed lead';
}

/** "Why is this lead 72?": rules, groups with caps, thresholds and recent history, as tables. */
function scoreWhy(lead, why) {
  const rules = (why.rules || []).map((r) => ({ rule: r.rule, group: r.group ?? '', count: r.count, points: r.points }));
  const groups = (why.groups || []).map((g) => ({ group: g.group ?? '(none)', points: g.points, cap: g.cap ?? 'none', counted: g.counted }));
  const thresholds = (why.thresholds || []).map((t) => ({ threshold: t.key, score: t.score, reached: t.reached ? 'yes' : 'no' }));
  const history = (why.history || []).map((e) => ({ when: e.computedAt, change: `${e.previous} → ${e.score}`, reason: e.reason }));
  const card = h('section', { class: 'card why', 'aria-label': `Score of ${leadName(lead)}` },
    h('div', { class: 'campaign-head' }, h('h2', {}, `Why is ${leadName(lead)} ${why.score}?`),
      h('button', { type: 'button', class: 'secondary', onclick: () => card.remove() }, 'Close')),
    h('p', { class: 'muted' }, why.computedAt ? `Computed ${formatValue(why.computedAt)}.` : 'Not scored yet.'),
    h('h3', {}, 'Rules'), table(rules, ['rule', 'group', 'count', 'points'], undefined, 'Rules', 'No rule has matched this lead yet.'),
    groups.length ? [h('h3', {}, 'Groups (capped)'), table(groups, ['group', 'points', 'cap', 'counted'], undefined, 'Groups')] : null,
    thresholds.length ? [h('h3', {}, 'Thresholds'), table(thresholds, ['threshold', 'score', 'reached'], undefined, 'Thresholds')] : null,
    h('h3', {}, 'History'), table(history, ['when', 'change', 'reason'], undefined, 'Score history', 'No score changes recorded.'));
  return card;
}

async function leadsPage() {
  const results = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  const board = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  const whyBox = h('div', {});
  let lastQuery = {};
  let pipelines = [];

  async function showWhy(lead) {
    try { whyBox.replaceChildren(scoreWhy(lead, await api('GET', `/api/crm/leads/${encodeURIComponent(lead.id)}/score`))); whyBox.scrollIntoView({ block: 'nearest' }); }
    catch (err) { flash(err.message, true); }
  }

  async function move(lead, stage) {
    try { await api('POST', `/api/crm/leads/${encodeURIComponent(lead.id)}/stage`, { stage }); flash(`${leadName(lead)} moved to ${stage}.`); await load(lastQuery); }
    catch (err) { flash(err.message, true); }
  }

  function drawBoard(items) {
    const shown = pipelines.filter((p) => p.isDefault || items.some((l) => l.pipelineId === p.id));
    if (!shown.length) { board.replaceChildren(h('p', { class: 'empty' }, 'No pipeline yet.')); return; }
    board.replaceChildren(...shown.map((p) => {
      const mine = items.filter((l) => l.pipelineId === p.id);
      const stages = [...p.stages].sort((a, b) => a.position - b.position);
      return h('div', {}, shown.length > 1 ? h('h3', {}, p.name) : null,
        h('div', { class: 'board', role: 'list', 'aria-label': `Pipeline ${p.name}` }, stages.map((stage) => {
          const inStage = mine.filter((l) => l.stage === stage.key);
          return h('section', { role: 'listitem', 'aria-label': `Stage ${stage.name}`, 'data-stage': stage.key },
            h('h3', {}, stage.name, ' ', h('span', { class: 'muted' }, `(${inStage.length})`)),
            inStage.length ? inStage.map((l) => h('article', { 'aria-label': leadName(l) },
              h('strong', {}, leadName(l)),
              h('div', { class: 'muted' }, `score ${l.score ?? 0}`),
              h('label', { class: 'visually-hidden', for: `move-${l.id}` }, `Move ${leadName(l)} to stage`),
              h('select', { id: `move-${l.id}`, onchange: (e) => { if (e.target.value) move(l, e.target.value); } },
                h('option', { value: '' }, 'Move to…'),
                stages.filter((s) => s.key !== stage.key).map((s) => h('option', { value: s.key }, s.name)))))
              : h('p', { class: 'muted' }, 'Empty'));
        })));
    }));
  }

  async function load(query = {}) {
    lastQuery = query;
    const params = new URLSearchParams({ limit: '100', ...query });
    const [data, pipes] = await Promise.all([api('GET', `/api/crm/leads?${params}`), api('GET', '/api/crm/pipelines').catch(() => ({ items: [] }))]);
    pipelines = itemsOf(pipes);
    const items = itemsOf(data);
    const rows = items.map((l) => ({ ...l, name: leadName(l), phone: l.contact?.phone || '', email: l.contact?.email || '' }));
    const filtered = Object.keys(query).length > 0;
    results.replaceChildren(table(rows, ['name', 'phone', 'email', 'stage', 'score', 'source', 'createdAt'], showWhy, 'Leads',
      filtered ? 'No lead matches these filters.' : 'No leads yet. Leads are created when a customer writes in on WhatsApp, or through the API.'),
    rows.length ? h('p', { class: 'muted' }, 'Pick a lead to see why it has its score.') : null);
    drawBoard(items);
  }
  const filters = h('form', { 'aria-label': 'Filter leads', onsubmit: (e) => { e.preventDefault(); load(formValues(e.target)).catch((err) => flash(err.message, true)); } },
    h('div', { class: 'row' }, field('Search (name, phone, email)', { name: 'q', maxlength: '100' }), field('Stage', { name: 'stage' }), field('Min score', { name: 'scoreMin', type: 'number' }), field('Source', { name: 'source' }), h('button', { type: 'submit' }, 'Filter')));
  try { await load(); } catch (err) {
    const text = err.status === 404 ? 'Leads are not available on this server.' : `Could not load leads: ${err.message}`;
    results.replaceChildren(h('p', { class: 'error' }, text));
    board.replaceChildren();
  }
  return h('div', {}, whyBox,
    h('section', { class: 'card', 'aria-label': 'Leads' }, h('h2', {}, 'Leads'), filters, results),
    h('section', { class: 'card', 'aria-label': 'Pipeline board' }, h('h2', {}, 'Pipeline'), board));
}

async function listPage(title, path, columns, options = {}) {
  return section(title, async () => {
    const items = itemsOf(await api('GET', path)).map(options.map || ((x) => x));
    return table(items, columns, options.onRowClick, title, options.empty);
  });
}

async function appointmentsPage() {
  return listPage('Appointments', '/api/crm/appointments?limit=100', ['startsAt', 'endsAt', 'title', 'contact', 'status', 'location', 'meetingUrl'], {
    map: (a) => ({ ...a, contact: a.contact?.name || a.contact?.phone || '' }),
    empty: 'No appointments yet. They are booked through the API or by automations.',
  });
}

async function automationsPage() {
  const detail = h('div', {});
  async function showJob(job) {
    try {
      const full = await api('GET', `/api/saas/workflows/jobs/${encodeURIComponent(job.id)}`);
      detail.replaceChildren(h('section', { class: 'card', 'aria-label': 'Job attempts' },
        h('div', { class: 'campaign-head' }, h('h2', {}, `${full.workflow} · ${full.action} (${full.status})`), h('button', { type: 'button', class: 'secondary', onclick: () => detail.replaceChildren() }, 'Close')),
        h('p', { class: 'muted' }, `Trigger ${full.trigger}${full.phone ? ` · ${full.phone}` : ''} · runs ${formatValue(full.runAt)}${full.lastError ? ` · last error: ${full.lastError}` : ''}`),
        table(full.attemptHistory || [], ['attempt', 'startedAt', 'finishedAt', 'outcome', 'error'], undefined, 'Attempts', 'Not attempted yet.'),
        full.callback ? h('p', { class: 'muted' }, `Callback: ${full.callback.status ?? 'pending'} after ${full.callback.attempts} attempt(s)${full.callback.error ? ` — ${full.callback.error}` : ''}`) : null));
    } catch (err) { flash(err.message, true); }
  }
  return h('div', {}, detail,
    await listPage('Communication workflows', '/api/saas/workflows', ['name', 'trigger', 'templateName', 'delayMinutes', 'isActive', 'updatedAt'], { empty: 'No communication workflows yet.' }),
    await listPage('CRM automations', '/api/crm/automations', ['name', 'trigger', 'actions', 'isActive', 'updatedAt'], {
      map: (a) => ({ ...a, actions: (a.actions || []).map((x) => x.type).join(' → ') }), empty: 'No CRM automations yet.',
    }),
    await listPage('Job history', '/api/saas/workflows/jobs?limit=50', ['runAt', 'workflow', 'action', 'phone', 'status', 'attempts', 'lastError'], { onRowClick: showJob, empty: 'No jobs have run yet.' }));
}

async function sandboxPage() {
  const form = h('form', { 'aria-label': 'Customer writes in', onsubmit: async (e) => {
    e.preventDefault();
    try {
      await api('POST', '/api/sandbox/inbound', formValues(e.target));
      flash('The customer\'s message was delivered as a signed webhook; it appears in the Inbox.');
      e.target.querySelector('[name=text]').value = '';
    } catch (err) { flash(err.message, true); }
  } }, h('div', { class: 'row' },
    field('Customer phone (E.164 digits)', { name: 'from', value: '15550000001', required: true, pattern: '[0-9]{7,15}', inputmode: 'numeric' }),
    field('Customer name', { name: 'name', value: 'Sandbox Customer' }),
    field('Customer message', { name: 'text', required: true, maxlength: '4096' }),
    h('button', { type: 'submit' }, 'Send as customer')));
  return h('div', {},
    h('section', { class: 'card', 'aria-label': 'Customer writes in' }, h('h2', {}, 'A customer writes in (WhatsApp simulator)'), form),
    await listPage('What would have been sent (simulator outbox)', '/api/sandbox/outbox', ['createdAt', 'to', 'type', 'summary', 'outcome', 'errorCode'], {
      map: (o) => ({ ...o, summary: outboxSummary(o) }), empty: 'Nothing sent yet.',
    }),
    await listPage('Mail catcher', '/api/sandbox/mail', ['createdAt', 'to', 'subject', 'kind', 'from'], { empty: 'No mail caught yet. Campaigns and send_email actions of clients without SMTP settings land here.' }));
}

function outboxSummary(o) {
  const body = o.payload?.[o.type] || {};
  if (o.type === 'text') return body.body || '';
  if (o.type === 'template') return `${body.name || ''} (${body.language?.code || ''})`;
  return [body.caption, body.filename, body.id ? `media ${body.id}` : body.link].filter(Boolean).join(' · ');
}

// ---------- campaigns ----------

const CAMPAIGN_ACTIONS = {
  draft: [['send', 'Send now'], ['cancel', 'Cancel']],
  scheduled: [['pause', 'Pause'], ['cancel', 'Cancel']],
  sending: [['pause', 'Pause'], ['cancel', 'Cancel']],
  paused: [['resume', 'Resume'], ['cancel', 'Cancel']],
};
const ACTIVE_CAMPAIGN = new Set(['scheduled', 'sending']);

/** Sent / failed / pending of the total, from the per-status recipient counts. */
function campaignProgress(counts) {
  const c = counts || {};
  const sent = c.sent || 0;
  const failed = (c.failed || 0) + (c.bounced || 0);
  const pending = (c.queued || 0) + (c.sending || 0) + (c.deferred || 0);
  const other = [['unknown', 'unknown outcome'], ['suppressed', 'suppressed'], ['unsubscribed', 'unsubscribed'], ['cancelled', 'cancelled'], ['opened', 'opened'], ['clicked', 'clicked']]
    .filter(([key]) => c[key]).map(([key, label]) => `${c[key]} ${label}`);
  return { total: c.total || 0, sent, failed, pending, other, done: (c.total || 0) - pending };
}

function campaignCard(campaign, onAction) {
  const p = campaignProgress(campaign.counts);
  const started = campaign.status !== 'draft' && p.total > 0;
  const summary = started
    ? `${p.sent} sent · ${p.failed} failed · ${p.pending} pending of ${p.total}`
    : campaign.status === 'draft' ? 'Draft: recipients are chosen when it starts.' : campaign.status === 'scheduled' ? `Scheduled for ${formatValue(campaign.sendAt)}` : 'No recipients.';
  return h('article', { class: 'campaign', 'data-campaign-id': campaign.id, 'data-status': campaign.status, 'aria-label': `Campaign ${campaign.name}` },
    h('div', { class: 'campaign-head' }, h('h3', {}, campaign.name), h('span', { class: `state state-${campaign.status}` }, campaign.status)),
    h('p', { class: 'muted' }, campaign.subject),
    started ? h('progress', { max: String(p.total), value: String(p.done), 'aria-label': `${campaign.name}: ${p.done} of ${p.total} done` }) : null,
    h('p', { class: 'progress-text', 'data-testid': 'campaign-progress' }, summary),
    p.other.length ? h('p', { class: 'muted' }, p.other.join(' · ')) : null,
    campaign.pauseReason && campaign.status === 'paused' ? h('p', { class: 'muted' }, `Paused: ${campaign.pauseReason}`) : null,
    campaign.clientSendingPausedUntil ? h('p', { class: 'error' }, `All sending is paused until ${formatValue(campaign.clientSendingPausedUntil)}${campaign.clientSendingPauseReason ? `: ${campaign.clientSendingPauseReason}` : ''}`) : null,
    (CAMPAIGN_ACTIONS[campaign.status] || []).length
      ? h('div', { class: 'actions' }, CAMPAIGN_ACTIONS[campaign.status].map(([action, label]) => h('button', {
        type: 'button', class: action === 'cancel' ? 'danger' : action === 'send' ? '' : 'secondary',
        'aria-label': `${label}: ${campaign.name}`, onclick: () => onAction(campaign, action, label),
      }, label)))
      : null);
}

async function campaignsPage() {
  const list = h('div', { class: 'campaigns', 'aria-live': 'polite' }, h('p', { class: 'muted' }, 'Loading…'));
  const campaigns = new Map();
  /** Live events counted, and the count when each campaign last changed by one: an API answer older than an event must not undo it. */
  let events = 0;
  const changedAt = new Map();
  let poll;

  function draw() {
    const items = [...campaigns.values()];
    list.replaceChildren(...(items.length ? items.map((c) => campaignCard(c, act)) : [h('p', { class: 'empty' }, 'No campaigns yet. Create one above; without SMTP settings the mail goes to the Sandbox mail catcher.')]));
    // Progress comes live over Socket.io; while a campaign runs a slow poll also catches up after a lost
    // connection (every 3 s while disconnected, every 10 s otherwise).
    const active = items.some((c) => ACTIVE_CAMPAIGN.has(c.status));
    if (active && !poll) {
      let ticks = 0;
      poll = setInterval(() => { ticks += 1; if (!socket?.connected || ticks % 3 === 0) load().catch(() => {}); }, 3300);
    }
    if (!active && poll) { clearInterval(poll); poll = undefined; }
  }

  /** Applies an API answer requested when `asOf` events had been seen, unless a newer live event already updated that campaign. */
  function apply(campaign, asOf) {
    if ((changedAt.get(campaign.id) ?? 0) > asOf) return;
    campaigns.set(campaign.id, campaign);
  }

  async function load() {
    const asOf = events;
    const items = itemsOf(await api('GET', '/api/saas/email/campaigns?limit=50'));
    // The list has no counts; the detail carries them (and the client-wide sending pause).
    const detailed = await Promise.all(items.map((c) => (c.status === 'draft' ? c : api('GET', `/api/saas/email/campaigns/${encodeURIComponent(c.id)}`).catch(() => c))));
    const ids = new Set(detailed.map((c) => c.id));
    for (const id of [...campaigns.keys()]) if (!ids.has(id)) campaigns.delete(id);
    for (const c of detailed) apply(c, asOf);
    draw();
  }

  async function act(campaign, action, label) {
    if (action === 'cancel' && !confirm(`Cancel campaign "${campaign.name}"? Recipients not yet sent will not be mailed.`)) return;
    try {
      const asOf = events;
      const updated = await api('POST', `/api/saas/email/campaigns/${encodeURIComponent(campaign.id)}/${action}`);
      apply({ ...campaigns.get(campaign.id), ...updated, counts: campaigns.get(campaign.id)?.counts }, asOf);
      draw();
      flash(`${label}: ${campaign.name}`);
      // The detail brings the counts (materialised when sending starts).
      const detailAsOf = events;
      apply(await api('GET', `/api/saas/email/campaigns/${encodeURIComponent(campaign.id)}`), detailAsOf);
      draw();
    } catch (err) { flash(err.message, true); }
  }

  liveHandlers.add((event, payload) => {
    if (event !== 'campaign.progress' || !payload?.campaignId) return;
    events += 1;
    const known = campaigns.get(payload.campaignId);
    if (!known) { load().catch(() => {}); return; }
    changedAt.set(payload.campaignId, events);
    campaigns.set(payload.campaignId, { ...known, status: payload.status ?? known.status, pauseReason: payload.pauseReason ?? null, counts: payload.counts ?? known.counts });
    draw();
  });
  pageCleanups.push(() => { if (poll) clearInterval(poll); });

  const splitList = (value) => (value || '').split(/[\s,;]+/).map((v) => v.trim()).filter(Boolean);
  const listFields = h('div', {}, field('Recipient emails (comma or line separated)', { tag: 'textarea', name: 'emails', rows: '2' }));
  const filterFields = h('div', { class: 'row', hidden: true },
    field('Lead stages (comma separated)', { name: 'stages', placeholder: 'qualified, won' }),
    field('Lead tags (comma separated)', { name: 'tags' }),
    field('Minimum score', { name: 'scoreMin', type: 'number' }));
  const audienceChoice = h('fieldset', { class: 'choice' }, h('legend', {}, 'Audience'),
    ['list', 'filter'].map((value) => h('label', { class: 'radio' }, h('input', {
      type: 'radio', name: 'audience', value, checked: value === 'list',
      onchange: () => { listFields.hidden = value !== 'list'; filterFields.hidden = value !== 'filter'; },
    }), value === 'list' ? 'Email list' : 'Leads matching a filter (with an email)')));
  const createForm = h('form', { 'aria-label': 'New campaign', onsubmit: async (e) => {
    e.preventDefault();
    const values = formValues(e.target);
    let audience;
    if (values.audience === 'filter') {
      audience = { type: 'filter' };
      if (splitList(values.stages).length) audience.stages = splitList(values.stages);
      if (splitList(values.tags).length) audience.tags = splitList(values.tags);
      if (values.scoreMin !== undefined) audience.scoreMin = Number(values.scoreMin);
    } else {
      const emails = splitList(values.emails);
      if (!emails.length) { flash('Add at least one recipient email.', true); return; }
      audience = { type: 'list', emails };
    }
    try {
      await api('POST', '/api/saas/email/campaigns', { name: values.name, subject: values.subject, text: values.text || '', audience });
      e.target.reset();
      listFields.hidden = false;
      filterFields.hidden = true;
      flash(`Campaign "${values.name}" saved as a draft.`);
      await load();
    } catch (err) { flash(err.message, true); }
  } },
    h('div', { class: 'row' }, field('Campaign name', { name: 'name', required: true, maxlength: '200' }), field('Subject', { name: 'subject', required: true, maxlength: '998' })),
    field('Text', { tag: 'textarea', name: 'text', rows: '3', required: true, placeholder: 'Hello {{name}}, …' }),
    audienceChoice, listFields, filterFields,
    h('p', {}, h('button', { type: 'submit' }, 'Save draft')));

  try { await load(); } catch (err) { list.replaceChildren(h('p', { class: 'error' }, err.status === 404 ? 'Email campaigns are not available on this server.' : `Could not load campaigns: ${err.message}`)); }
  return h('div', {},
    h('section', { class: 'card', 'aria-label': 'New campaign' }, h('h2', {}, 'New email campaign'), createForm),
    h('section', { class: 'card', 'aria-label': 'Email campaigns' }, h('h2', {}, 'Email campaigns'), list));
}

// ---------- shell ----------

const operatorPages = { clients: ['Clients', clientsPage], queues: ['Queues', queuesPage], webhooks: ['Webhooks', webhooksPage], health: ['Health', healthPage] };
const clientPages = {
  inbox: ['Inbox', inboxPage], leads: ['Leads', leadsPage],
  appointments: ['Appointments', appointmentsPage],
  automations: ['Automations', automationsPage],
  campaigns: ['Campaigns', campaignsPage],
  sandbox: ['Sandbox', sandboxPage],
};

/** Functions that stop a page's timers when another page is rendered. */
const pageCleanups = [];

async function render() {
  const main = document.getElementById('main');
  const nav = document.getElementById('nav');
  const who = document.getElementById('who');
  const session = store.session;
  if (!session) {
    nav.replaceChildren();
    who.replaceChildren();
    main.replaceChildren(signIn());
    return;
  }
  const pages = session.kind === 'operator' ? operatorPages : clientPages;
  const [route, ...rest] = location.hash.replace(/^#\/?/, '').split('/');
  const key = pages[route] ? route : Object.keys(pages)[0];
  nav.replaceChildren(...Object.entries(pages).map(([k, [label]]) => h('a', { href: `#/${k}`, 'aria-current': k === key ? 'page' : undefined }, label)));
  who.replaceChildren(session.kind === 'operator' ? 'Operator' : `Client ${session.clientCode}`, h('button', { class: 'secondary', onclick: () => { store.session = null; socket?.disconnect(); socket = undefined; location.hash = ''; render(); } }, 'Sign out'));
  main.replaceChildren(h('p', { class: 'muted' }, 'Loading…'));
  // Live updates and timers belong to the page on screen only.
  const generation = ++render.generation;
  liveHandlers.clear();
  for (const stop of pageCleanups.splice(0)) stop();
  connectSocket();
  try {
    const page = key === 'clients' && rest[0] ? await clientDetailPage(decodeURIComponent(rest[0])) : await pages[key][1]();
    if (generation === render.generation) main.replaceChildren(page);
  } catch (err) {
    if (generation === render.generation) main.replaceChildren(h('section', { class: 'card' }, h('p', { class: 'error' }, `Could not load this page: ${err.message}`)));
  }
}

render.generation = 0;
window.addEventListener('hashchange', render);
render();
