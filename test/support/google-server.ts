/**
 * A local Google on 127.0.0.1 for tests: the OAuth token endpoint (code
 * exchange, refresh), revocation, and Calendar v3 events insert/get/patch/delete,
 * answering with the bodies in src/meet/__fixtures__/. Knobs let a test make
 * the next conference pending, inject 5xx/409 answers, refuse a refresh token
 * (invalid_grant) or reject an access token (401).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';

const FIXTURES = path.resolve(import.meta.dirname, '../../src/meet/__fixtures__');
function fixture<T = any>(name: string): T {
  return JSON.parse(readFileSync(path.join(FIXTURES, name), 'utf8')) as T;
}

export const TOKEN_RESPONSE = fixture('token-response.json');
export const REFRESH_RESPONSE = fixture('token-refresh-response.json');
export const INVALID_GRANT = fixture('invalid-grant-error.json');
const EVENT_SUCCESS = fixture('event-insert-response-success.json');
const EVENT_PENDING = fixture('event-insert-response-pending.json');

export interface RecordedRequest { method: string; path: string; query: URLSearchParams; headers: IncomingMessage['headers']; body: string }

interface Injected { method: string; path: RegExp; status: number; body?: unknown; applyFirst?: boolean }

interface CodeGrant { scope?: string; withoutRefreshToken?: boolean; refreshToken?: string; accessToken?: string; used?: boolean }

interface StoredEvent { event: any; deleted: boolean; pendingReads: number }

export interface GoogleServer {
  url: string;
  requests: RecordedRequest[];
  /** Env for startTestApp pointing every Google URL here. */
  env: Record<string, string>;
  /** Registers an authorization code the token endpoint will accept. */
  issueCode(code: string, grant?: Omit<CodeGrant, 'used'>): void;
  /** Refresh tokens answered with invalid_grant. */
  refusedRefreshTokens: Set<string>;
  revoked: string[];
  /** Access tokens currently accepted by the Calendar endpoints. */
  validAccessTokens: Set<string>;
  /** The next inserts answer `pending`, and `get` stays pending for this many reads. */
  pendingReads: number;
  /** The next inserts answer conference `failure` (a patch with a new requestId then succeeds). */
  failConferences: number;
  /** Answer the next matching request with `status` (applyFirst: do the work, then answer the error). */
  inject(injected: Injected): void;
  events: Map<string, StoredEvent>;
  count(method: string, path: RegExp): number;
  close(): Promise<void>;
}

function meetCodeFor(id: string): string {
  const letters = [...createHash('sha256').update(id).digest().subarray(0, 10)].map((b) => 'abcdefghijklmnopqrstuvwxyz'[b % 26]).join('');
  return `${letters.slice(0, 3)}-${letters.slice(3, 7)}-${letters.slice(7, 10)}`;
}

function withConference(event: any, status: 'success' | 'pending' | 'failure', requestId: string): any {
  const base = structuredClone(status === 'success' ? EVENT_SUCCESS : EVENT_PENDING);
  const out = { ...event, conferenceData: { ...base.conferenceData, createRequest: { ...base.conferenceData.createRequest, requestId, status: { statusCode: status } } } };
  delete out.hangoutLink;
  if (status === 'success') {
    const code = meetCodeFor(event.id);
    out.hangoutLink = `https://meet.google.com/${code}`;
    out.conferenceData.conferenceId = code;
    out.conferenceData.entryPoints = base.conferenceData.entryPoints.map((e: any) => (e.entryPointType === 'video' ? { ...e, uri: out.hangoutLink, label: `meet.google.com/${code}` } : e));
  }
  return out;
}

export async function startGoogleServer(): Promise<GoogleServer> {
  const requests: RecordedRequest[] = [];
  const codes = new Map<string, CodeGrant>();
  const injected: Injected[] = [];
  const events = new Map<string, StoredEvent>();
  let refreshCount = 0;
  const state = {
    refusedRefreshTokens: new Set<string>(),
    revoked: [] as string[],
    validAccessTokens: new Set<string>(),
    pendingReads: 0,
    failConferences: 0,
  };

  function send(res: ServerResponse, status: number, body?: unknown) {
    res.writeHead(status, body === undefined ? {} : { 'content-type': 'application/json' });
    res.end(body === undefined ? undefined : JSON.stringify(body));
  }

  function calendarError(res: ServerResponse, status: number, reason: string, message: string) {
    send(res, status, { error: { code: status, message, errors: [{ domain: 'global', reason, message }] } });
  }

  function handle(req: RecordedRequest, res: ServerResponse): void {
    const inj = injected.findIndex((i) => i.method === req.method && i.path.test(req.path));
    let after: Injected | undefined;
    if (inj >= 0) {
      const [hit] = injected.splice(inj, 1);
      if (!hit.applyFirst) return send(res, hit.status, hit.body ?? { error: { code: hit.status, message: 'Backend Error', errors: [{ reason: 'backendError' }] } });
      after = hit;
    }
    const reply = (status: number, body?: unknown) => (after ? send(res, after.status, after.body ?? { error: { code: after.status, message: 'Backend Error', errors: [{ reason: 'backendError' }] } }) : send(res, status, body));

    if (req.method === 'POST' && req.path === '/token') {
      const form = new URLSearchParams(req.body);
      if (form.get('client_id') !== 'test-google-client-id' || form.get('client_secret') !== 'test-google-client-secret') return reply(401, { error: 'invalid_client', error_description: 'The OAuth client was not found.' });
      if (form.get('grant_type') === 'authorization_code') {
        const grant = codes.get(form.get('code') ?? '');
        if (!grant || grant.used) return reply(400, INVALID_GRANT);
        grant.used = true;
        const body: any = { ...TOKEN_RESPONSE };
        if (grant.scope !== undefined) body.scope = grant.scope;
        if (grant.refreshToken) body.refresh_token = grant.refreshToken;
        if (grant.accessToken) body.access_token = grant.accessToken;
        if (grant.withoutRefreshToken) delete body.refresh_token;
        state.validAccessTokens.add(body.access_token);
        return reply(200, body);
      }
      if (form.get('grant_type') === 'refresh_token') {
        const token = form.get('refresh_token') ?? '';
        if (state.refusedRefreshTokens.has(token) || state.revoked.includes(token)) return reply(400, INVALID_GRANT);
        refreshCount++;
        const body = { ...REFRESH_RESPONSE, access_token: `${REFRESH_RESPONSE.access_token}-${refreshCount}` };
        state.validAccessTokens.add(body.access_token);
        return reply(200, body);
      }
      return reply(400, { error: 'unsupported_grant_type' });
    }
    if (req.method === 'POST' && req.path === '/oauth2/revoke') {
      const token = new URLSearchParams(req.body).get('token') ?? '';
      state.revoked.push(token);
      return reply(200, {});
    }

    const match = /^\/calendar\/v3\/calendars\/([^/]+)\/events(?:\/([^/]+))?$/.exec(req.path);
    if (!match) return send(res, 404, { error: { code: 404, message: 'Not Found' } });
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (!bearer || !state.validAccessTokens.has(bearer)) return calendarError(res, 401, 'authError', 'Invalid Credentials');
    const eventId = match[2] ? decodeURIComponent(match[2]) : undefined;

    if (req.method === 'POST' && !eventId) {
      const body = JSON.parse(req.body);
      if (req.query.get('conferenceDataVersion') !== '1') delete body.conferenceData;
      if (!body.start?.dateTime || !body.end?.dateTime || Date.parse(body.end.dateTime) <= Date.parse(body.start.dateTime)) return calendarError(res, 400, 'timeRangeEmpty', 'The specified time range is empty.');
      if (body.id && events.has(body.id)) return calendarError(res, 409, 'duplicate', 'The requested identifier already exists.');
      const id = body.id ?? createHash('sha1').update(String(Math.random())).digest('hex');
      const base = { ...structuredClone(EVENT_SUCCESS), ...body, id, iCalUID: `${id}@google.com` };
      const requestId = body.conferenceData?.createRequest?.requestId;
      let event = base;
      if (requestId && state.failConferences > 0) {
        state.failConferences--;
        event = withConference(base, 'failure', requestId);
      } else if (requestId) event = withConference(base, state.pendingReads > 0 ? 'pending' : 'success', requestId);
      else { delete event.conferenceData; delete event.hangoutLink; }
      events.set(id, { event, deleted: false, pendingReads: state.pendingReads });
      return reply(200, event);
    }
    const stored = eventId ? events.get(eventId) : undefined;
    if (req.method === 'DELETE') {
      if (!stored) return calendarError(res, 404, 'notFound', 'Not Found');
      if (stored.deleted) return calendarError(res, 410, 'deleted', 'Resource has been deleted');
      stored.deleted = true;
      return reply(204);
    }
    if (!stored || stored.deleted) return calendarError(res, 404, 'notFound', 'Not Found');
    if (req.method === 'GET') {
      const code = stored.event.conferenceData?.createRequest?.status?.statusCode;
      if (code === 'pending') {
        if (stored.pendingReads > 0) stored.pendingReads--;
        if (stored.pendingReads === 0) stored.event = withConference(stored.event, 'success', stored.event.conferenceData.createRequest.requestId);
        else return reply(200, stored.event);
      }
      return reply(200, stored.event);
    }
    if (req.method === 'PATCH') {
      const patch = JSON.parse(req.body);
      const requestId = patch.conferenceData?.createRequest?.requestId;
      delete patch.conferenceData;
      stored.event = { ...stored.event, ...patch, sequence: (stored.event.sequence ?? 0) + 1 };
      if (requestId && req.query.get('conferenceDataVersion') === '1') stored.event = withConference(stored.event, 'success', requestId);
      return reply(200, stored.event);
    }
    return send(res, 405, {});
  }

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const recorded: RecordedRequest = { method: req.method ?? 'GET', path: url.pathname, query: url.searchParams, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      requests.push(recorded);
      handle(recorded, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as { port: number };
  const url = `http://127.0.0.1:${address.port}`;
  return {
    url,
    requests,
    env: {
      GOOGLE_CLIENT_ID: 'test-google-client-id',
      GOOGLE_CLIENT_SECRET: 'test-google-client-secret',
      GOOGLE_OAUTH_BASE_URL: `${url}/o/oauth2/v2/auth`,
      GOOGLE_TOKEN_URL: `${url}/token`,
      // Not the default (`/revoke` beside the token URL): proves the setting is used.
      GOOGLE_REVOKE_URL: `${url}/oauth2/revoke`,
      GOOGLE_CALENDAR_BASE_URL: url,
      GOOGLE_RETRY_BASE_MS: '5',
      GOOGLE_CONFERENCE_POLL_MS: '5',
      PUBLIC_URL: 'https://ecodrix.test',
    },
    issueCode(code, grant = {}) {
      codes.set(code, { ...grant });
    },
    get refusedRefreshTokens() { return state.refusedRefreshTokens; },
    get revoked() { return state.revoked; },
    get validAccessTokens() { return state.validAccessTokens; },
    get pendingReads() { return state.pendingReads; },
    set pendingReads(n: number) { state.pendingReads = n; },
    get failConferences() { return state.failConferences; },
    set failConferences(n: number) { state.failConferences = n; },
    inject(i) {
      injected.push(i);
    },
    events,
    count(method, pattern) {
      return requests.filter((r) => r.method === method && pattern.test(r.path)).length;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
