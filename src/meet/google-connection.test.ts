import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestApp, type TestApp, type TestClient } from '../../test/harness.ts';
import { startGoogleServer, TOKEN_RESPONSE, type GoogleServer } from '../../test/support/google-server.ts';
import type { RealtimeEvent } from '../platform/events.ts';
import { signState } from './oauth-state.ts';

let h: TestApp;
let google: GoogleServer;
let a: TestClient;
let b: TestClient;
const published: RealtimeEvent[] = [];

before(async () => {
  google = await startGoogleServer();
  h = await startTestApp({ env: google.env });
  const original = h.ctx.realtime;
  h.ctx.realtime = { publish: (e) => { published.push(e); original.publish(e); } };
  a = await h.createClient('Google Clinic A');
  b = await h.createClient('Google Clinic B');
});
after(async () => {
  await h.close();
  await google.close();
});

async function startConsent(clientCode: string) {
  const res = await h.app.inject({ method: 'GET', url: `/api/auth/google/connect?clientCode=${encodeURIComponent(clientCode)}` });
  assert.equal(res.statusCode, 302, res.body);
  const location = new URL(res.headers.location as string);
  const cookie = String(res.headers['set-cookie']).split(';')[0];
  return { location, state: location.searchParams.get('state')!, cookie };
}

function callback(query: Record<string, string>, cookie?: string) {
  return h.app.inject({ method: 'GET', url: `/api/auth/google/callback?${new URLSearchParams(query)}`, headers: cookie ? { cookie } : {} });
}

test('connect redirects to consent with offline access, forced consent, the narrowest calendar scope and a signed state', async () => {
  const { location, state, cookie } = await startConsent(a.code);
  assert.equal(`${location.origin}${location.pathname}`, google.env.GOOGLE_OAUTH_BASE_URL);
  assert.equal(location.searchParams.get('access_type'), 'offline');
  assert.equal(location.searchParams.get('prompt'), 'consent');
  assert.equal(location.searchParams.get('response_type'), 'code');
  assert.equal(location.searchParams.get('client_id'), 'test-google-client-id');
  assert.equal(location.searchParams.get('redirect_uri'), 'https://ecodrix.test/api/auth/google/callback');
  const scopes = location.searchParams.get('scope')!.split(' ');
  assert.ok(scopes.includes('https://www.googleapis.com/auth/calendar.events.owned'));
  assert.ok(!scopes.includes('https://www.googleapis.com/auth/calendar'));
  assert.match(state, /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
  assert.match(cookie, /^ecx_google_oauth=/);
});

test('unknown clientCode gets a 404 page', async () => {
  const res = await h.app.inject({ method: 'GET', url: '/api/auth/google/connect?clientCode=%3Cscript%3Enobody' });
  assert.equal(res.statusCode, 404);
  assert.match(String(res.headers['content-type']), /text\/html/);
  assert.ok(res.body.includes('&lt;script&gt;nobody'));
  assert.ok(!res.body.includes('<script>'));
});

test('tampered, expired, foreign-browser and wrong-client states are refused with a clear 400/404 page', async () => {
  const { state, cookie } = await startConsent(a.code);
  google.issueCode('code-unused');
  const [payload, sig] = state.split('.');
  const forged = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload, 'base64url').toString()), c: b.id })).toString('base64url');
  const tampered = await callback({ code: 'code-unused', state: `${forged}.${sig}` }, cookie);
  assert.equal(tampered.statusCode, 400);
  assert.match(tampered.body, /not valid/);

  const old = signState(h.ctx.keyring, a.id, 600, Date.now() - 3_600_000);
  const expired = await callback({ code: 'code-unused', state: old.state }, `ecx_google_oauth=${old.nonce}`);
  assert.equal(expired.statusCode, 400);
  assert.match(expired.body, /expired/);

  const otherBrowser = await callback({ code: 'code-unused', state });
  assert.equal(otherBrowser.statusCode, 400);
  assert.match(otherBrowser.body, /another browser/);

  const gone = signState(h.ctx.keyring, '999999', 600);
  const wrongClient = await callback({ code: 'code-unused', state: gone.state }, `ecx_google_oauth=${gone.nonce}`);
  assert.equal(wrongClient.statusCode, 404);

  const denied = await callback({ error: 'access_denied', state }, cookie);
  assert.equal(denied.statusCode, 400);
  assert.match(denied.body, /not granted/);
  assert.equal(google.count('POST', /^\/token$/), 0, 'no code exchange for a refused state');
});

test('a grant without the calendar scope is refused and revoked', async () => {
  const { state, cookie } = await startConsent(a.code);
  google.issueCode('code-no-calendar', { scope: 'openid https://www.googleapis.com/auth/userinfo.email', refreshToken: '1//refresh-no-calendar' });
  const res = await callback({ code: 'code-no-calendar', state }, cookie);
  assert.equal(res.statusCode, 400);
  assert.match(res.body, /Calendar access was not granted/);
  assert.ok(google.revoked.includes('1//refresh-no-calendar'));
  const status = await h.app.inject({ method: 'GET', url: '/api/auth/google/status', headers: a.headers });
  assert.equal(status.json().connected, false);
});

test('a first connection without a refresh token in the answer fails cleanly', async () => {
  const { state, cookie } = await startConsent(a.code);
  google.issueCode('code-no-refresh', { withoutRefreshToken: true });
  const res = await callback({ code: 'code-no-refresh', state }, cookie);
  assert.equal(res.statusCode, 400);
  assert.match(res.body, /did not issue a long-lived token/);
  const status = await h.app.inject({ method: 'GET', url: '/api/auth/google/status', headers: a.headers });
  assert.equal(status.json().connected, false);
});

test('consent round trip stores the refresh token encrypted; status shows account and scopes; a replayed code fails', async () => {
  const { state, cookie } = await startConsent(a.code);
  google.issueCode('code-a');
  const res = await callback({ code: 'code-a', state, scope: TOKEN_RESPONSE.scope }, cookie);
  assert.equal(res.statusCode, 200, res.body);
  assert.match(res.body, /owner@tenant-a\.example is now connected to Google Clinic A/);
  const exchange = google.requests.find((r) => r.path === '/token' && r.body.includes('code=code-a'))!;
  const form = new URLSearchParams(exchange.body);
  assert.equal(form.get('code'), 'code-a');
  assert.equal(form.get('redirect_uri'), 'https://ecodrix.test/api/auth/google/callback');

  const { rows } = await h.ctx.controlDb.query('SELECT * FROM google_connections WHERE client_id = $1', [a.id]);
  assert.equal(rows.length, 1);
  assert.ok(!JSON.stringify(rows[0]).includes(TOKEN_RESPONSE.refresh_token));
  assert.ok(!JSON.stringify(rows[0]).includes(TOKEN_RESPONSE.access_token));
  assert.match(rows[0].refresh_token_envelope, /^v1:/);

  const status = await h.app.inject({ method: 'GET', url: '/api/auth/google/status', headers: a.headers });
  assert.equal(status.statusCode, 200);
  assert.equal(status.json().connected, true);
  assert.equal(status.json().needsReauth, false);
  assert.equal(status.json().account, 'owner@tenant-a.example');
  assert.ok(status.json().scopes.includes('https://www.googleapis.com/auth/calendar.events'));
  assert.ok(!status.body.includes(TOKEN_RESPONSE.refresh_token));
  assert.equal(status.json().connectUrl, `https://ecodrix.test/api/auth/google/connect?clientCode=${a.code}`);

  // Client B is not connected (cross-tenant: A's connection is not B's).
  const other = await h.app.inject({ method: 'GET', url: '/api/auth/google/status', headers: b.headers });
  assert.equal(other.json().connected, false);

  const replay = await callback({ code: 'code-a', state }, cookie);
  assert.equal(replay.statusCode, 400);
  assert.match(replay.body, /refused the authorization code/);
  assert.ok(published.some((e) => e.clientId === a.id && e.event === 'google.connected'));
});

test('disconnect revokes the token at Google and deletes it; a second disconnect is 409', async () => {
  const { state, cookie } = await startConsent(b.code);
  google.issueCode('code-b', { refreshToken: '1//refresh-b', accessToken: 'ya29.access-b' });
  assert.equal((await callback({ code: 'code-b', state }, cookie)).statusCode, 200);
  const res = await h.app.inject({ method: 'DELETE', url: '/api/auth/google/connection', headers: b.headers });
  assert.equal(res.statusCode, 200);
  assert.deepEqual(res.json(), { disconnected: true, revoked: true });
  assert.ok(google.revoked.includes('1//refresh-b'));
  const status = await h.app.inject({ method: 'GET', url: '/api/auth/google/status', headers: b.headers });
  assert.equal(status.json().connected, false);
  const again = await h.app.inject({ method: 'DELETE', url: '/api/auth/google/connection', headers: b.headers });
  assert.equal(again.statusCode, 409);
  assert.equal(again.json().error.code, 'GOOGLE_NOT_CONNECTED');
  // A is untouched.
  const statusA = await h.app.inject({ method: 'GET', url: '/api/auth/google/status', headers: a.headers });
  assert.equal(statusA.json().connected, true);
});

test('status and disconnect need tenant credentials', async () => {
  assert.equal((await h.app.inject({ method: 'GET', url: '/api/auth/google/status' })).statusCode, 401);
  assert.equal((await h.app.inject({ method: 'DELETE', url: '/api/auth/google/connection', headers: { ...a.headers, 'x-api-key': 'nope' } })).statusCode, 401);
});

test('tokens never appear in logs', () => {
  const all = h.logs.join('\n');
  for (const secret of [TOKEN_RESPONSE.refresh_token, TOKEN_RESPONSE.access_token, '1//refresh-b', 'ya29.access-b']) assert.ok(!all.includes(secret), 'token leaked into logs');
});

test('with GOOGLE_CONNECT_LINK_REQUIRED only an issued link for that client starts consent', async () => {
  h.ctx.config.google.connectLinkRequired = true;
  try {
    const bare = await h.app.inject({ method: 'GET', url: `/api/auth/google/connect?clientCode=${a.code}` });
    assert.equal(bare.statusCode, 403);
    assert.match(bare.body, /not valid for this client/);
    const issued = await h.app.inject({ method: 'POST', url: '/api/auth/google/connect-link', headers: a.headers });
    assert.equal(issued.statusCode, 200);
    const link = new URL(issued.json().url);
    assert.equal(`${link.origin}${link.pathname}`, 'https://ecodrix.test/api/auth/google/connect');
    const ok = await h.app.inject({ method: 'GET', url: `${link.pathname}${link.search}` });
    assert.equal(ok.statusCode, 302);
    const otherClient = await h.app.inject({ method: 'GET', url: `/api/auth/google/connect?clientCode=${b.code}&t=${link.searchParams.get('t')}` });
    assert.equal(otherClient.statusCode, 403);
    const { state } = await startConsentState();
    const stateAsLink = await h.app.inject({ method: 'GET', url: `/api/auth/google/connect?clientCode=${a.code}&t=${encodeURIComponent(state)}` });
    assert.equal(stateAsLink.statusCode, 403, 'an OAuth state is not a connect-link token');
  } finally {
    h.ctx.config.google.connectLinkRequired = false;
  }
  assert.equal((await h.app.inject({ method: 'POST', url: '/api/auth/google/connect-link' })).statusCode, 401);
});

async function startConsentState() {
  return { state: signState(h.ctx.keyring, a.id, 600).state };
}

async function connect(client: TestClient, refreshToken: string, accessToken: string) {
  const { state, cookie } = await startConsent(client.code);
  google.issueCode(`code-${client.code}`, { refreshToken, accessToken });
  const res = await callback({ code: `code-${client.code}`, state }, cookie);
  assert.equal(res.statusCode, 200, res.body);
}

async function connectionRows(clientId: string): Promise<number> {
  const { rows } = await h.ctx.controlDb.query('SELECT 1 FROM google_connections WHERE client_id = $1', [clientId]);
  return rows.length;
}

test('deleting a client revokes its Google refresh token at GOOGLE_REVOKE_URL and forgets it', async () => {
  const c = await h.createClient('Google Clinic C');
  await connect(c, '1//refresh-c', 'ya29.access-c');
  assert.equal(await connectionRows(c.id), 1);
  const before = google.requests.length;
  const res = await h.app.inject({ method: 'DELETE', url: `/api/clients/${c.code}`, headers: h.adminHeaders });
  assert.equal(res.statusCode, 200, res.body);
  assert.deepEqual(res.json().offboarding, [{ step: 'google.revoke', outcome: 'done' }]);
  const revokes = google.requests.slice(before).filter((r) => r.method === 'POST' && r.path === '/oauth2/revoke');
  assert.equal(revokes.length, 1);
  assert.equal(new URLSearchParams(revokes[0].body).get('token'), '1//refresh-c', 'the refresh token itself was revoked');
  assert.equal(await connectionRows(c.id), 0);
  // A client without a Google connection: nothing to revoke, nothing sent.
  const d = await h.createClient('Google Clinic D');
  const count = google.requests.length;
  const plain = await h.app.inject({ method: 'DELETE', url: `/api/clients/${d.code}`, headers: h.adminHeaders });
  assert.deepEqual(plain.json().offboarding, [{ step: 'google.revoke', outcome: 'none' }]);
  assert.equal(google.requests.length, count);
});

test('a failed revoke does not block deleting the client; it is logged without the token, audited and answered', async () => {
  const e = await h.createClient('Google Clinic E');
  await connect(e, '1//refresh-e', 'ya29.access-e');
  // Google down for every retry of the revoke.
  for (let i = 0; i < 3; i++) google.inject({ method: 'POST', path: /^\/oauth2\/revoke$/, status: 503, body: { error: 'backendError' } });
  const res = await h.app.inject({ method: 'DELETE', url: `/api/clients/${e.code}`, headers: h.adminHeaders });
  assert.equal(res.statusCode, 200, res.body);
  assert.equal(res.json().deleted, true);
  const [outcome] = res.json().offboarding;
  assert.equal(outcome.step, 'google.revoke');
  assert.equal(outcome.outcome, 'failed');
  assert.match(outcome.error, /revocation failed: Google answered 503/);
  assert.ok(!google.revoked.includes('1//refresh-e'));
  assert.equal(await connectionRows(e.id), 0, 'our copy is forgotten anyway');
  assert.ok([401, 404].includes((await h.app.inject({ method: 'GET', url: '/api/auth/google/status', headers: e.headers })).statusCode), 'the client is gone');
  const warning = h.logs.find((l) => l.includes('offboarding step failed') && l.includes(e.code));
  assert.ok(warning, 'the failure is logged');
  assert.match(warning, /google\.revoke/);
  const audit = await h.app.inject({ method: 'GET', url: '/api/admin/audit?action=client.delete&limit=50', headers: h.adminHeaders });
  assert.equal(audit.statusCode, 200, audit.body);
  const entry = (audit.json().items as Array<{ clientCode: string; details: { offboarding: Array<{ outcome: string }> } }>).find((x) => x.clientCode === e.code);
  assert.equal(entry?.details.offboarding[0].outcome, 'failed', 'the failure is visible in the audit log');
  const all = h.logs.join('\n') + audit.body + res.body;
  for (const token of ['1//refresh-e', 'ya29.access-e', '1//refresh-c', 'ya29.access-c']) assert.ok(!all.includes(token), 'token leaked');
});
