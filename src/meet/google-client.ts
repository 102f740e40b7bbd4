/**
 * The only code that talks to Google: the OAuth token endpoint (code exchange,
 * refresh), revocation, and Calendar v3 events (insert/get/patch/delete).
 * Plain `fetch`, base URLs from config, bounded retries with jittered backoff
 * on 5xx/429/rate-limit 403. Tokens are never put in error messages.
 */
import type { GoogleConfig } from './config.ts';

/** Token endpoint answer (code exchange or refresh). */
export interface GoogleTokenResponse {
  access_token: string;
  expires_in: number;
  refresh_token?: string;
  scope?: string;
  token_type: string;
  id_token?: string;
}

export interface GoogleEventDateTime { dateTime: string; timeZone?: string }

export interface GoogleEntryPoint { entryPointType: string; uri: string; label?: string; pin?: string; meetingCode?: string }

/** The fields of a Calendar event we read (see reference/google-meet.md 5.1). */
export interface GoogleEvent {
  id: string;
  status?: string;
  htmlLink?: string;
  hangoutLink?: string;
  start?: GoogleEventDateTime;
  end?: GoogleEventDateTime;
  conferenceData?: {
    createRequest?: { requestId?: string; status?: { statusCode: 'pending' | 'success' | 'failure' } };
    entryPoints?: GoogleEntryPoint[];
    conferenceId?: string;
  };
}

/** A non-2xx answer (or a network failure, status 0) from Google. */
export class GoogleApiError extends Error {
  readonly status: number;
  /** OAuth `error` (e.g. `invalid_grant`) or Calendar `error.errors[0].reason` (e.g. `rateLimitExceeded`). */
  readonly reason?: string;

  constructor(status: number, reason: string | undefined, message: string) {
    super(message);
    this.name = 'GoogleApiError';
    this.status = status;
    this.reason = reason;
  }
}

const RETRY_REASONS = new Set(['rateLimitExceeded', 'userRateLimitExceeded', 'backendError']);
const ATTEMPTS = 3;

function isRetryable(err: GoogleApiError): boolean {
  return err.status === 0 || err.status === 429 || err.status >= 500 || (err.status === 403 && RETRY_REASONS.has(err.reason ?? ''));
}

async function parseError(response: Response): Promise<GoogleApiError> {
  let body: unknown;
  try {
    body = await response.json();
  } catch {
    body = undefined;
  }
  const b = body as { error?: string | { message?: string; errors?: Array<{ reason?: string }>; status?: string }; error_description?: string } | undefined;
  if (b && typeof b.error === 'string') {
    return new GoogleApiError(response.status, b.error, `Google answered ${response.status} ${b.error}${b.error_description ? `: ${b.error_description}` : ''}`);
  }
  const reason = b?.error && typeof b.error === 'object' ? b.error.errors?.[0]?.reason ?? b.error.status : undefined;
  const message = b?.error && typeof b.error === 'object' ? b.error.message : undefined;
  return new GoogleApiError(response.status, reason, `Google answered ${response.status}${reason ? ` ${reason}` : ''}${message ? `: ${message}` : ''}`);
}

export interface GoogleClientOptions {
  /** Override the sleep between retries (tests). */
  sleep?: (ms: number) => Promise<void>;
}

export type GoogleClient = ReturnType<typeof createGoogleClient>;

/** A client for one OAuth app (our GOOGLE_CLIENT_ID); per-tenant tokens are passed per call. */
export function createGoogleClient(config: GoogleConfig, options: GoogleClientOptions = {}) {
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const revokeUrl = config.revokeUrl ?? new URL('/revoke', config.tokenUrl).toString();

  async function call<T>(what: string, url: string, init: RequestInit, accept: (status: number) => boolean = () => false): Promise<{ status: number; body: T | undefined }> {
    let lastError: GoogleApiError | undefined;
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      if (attempt > 0) await sleep(config.retryBaseMs * 2 ** (attempt - 1) * (0.5 + Math.random()));
      let response: Response;
      try {
        response = await fetch(url, { ...init, signal: AbortSignal.timeout(config.requestTimeoutMs) });
      } catch (err) {
        lastError = new GoogleApiError(0, 'network', `${what}: cannot reach Google (${(err as Error).name})`);
        continue;
      }
      if (response.ok || accept(response.status)) {
        const text = await response.text();
        return { status: response.status, body: text ? (JSON.parse(text) as T) : undefined };
      }
      lastError = await parseError(response);
      if (!isRetryable(lastError)) throw lastError;
    }
    throw lastError!;
  }

  function form(fields: Record<string, string>): RequestInit {
    return { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields).toString() };
  }

  function bearer(accessToken: string, method: string, body?: unknown): RequestInit {
    const headers: Record<string, string> = { authorization: `Bearer ${accessToken}`, accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    return { method, headers, body: body === undefined ? undefined : JSON.stringify(body) };
  }

  function eventsUrl(calendarId: string, eventId?: string, query: Record<string, string> = {}): string {
    const url = new URL(`${config.calendarBaseUrl}/calendar/v3/calendars/${encodeURIComponent(calendarId)}/events${eventId ? `/${encodeURIComponent(eventId)}` : ''}`);
    for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
    return url.toString();
  }

  return {
    /** The consent URL the operator's browser is sent to. */
    consentUrl(params: { redirectUri: string; scopes: string[]; state: string; loginHint?: string }): string {
      const url = new URL(config.oauthBaseUrl);
      url.searchParams.set('client_id', config.clientId ?? '');
      url.searchParams.set('redirect_uri', params.redirectUri);
      url.searchParams.set('response_type', 'code');
      url.searchParams.set('scope', params.scopes.join(' '));
      url.searchParams.set('access_type', 'offline');
      url.searchParams.set('prompt', 'consent');
      url.searchParams.set('include_granted_scopes', 'true');
      url.searchParams.set('state', params.state);
      if (params.loginHint) url.searchParams.set('login_hint', params.loginHint);
      return url.toString();
    },

    async exchangeCode(code: string, redirectUri: string): Promise<GoogleTokenResponse> {
      const { body } = await call<GoogleTokenResponse>('token exchange', config.tokenUrl, form({
        code, client_id: config.clientId ?? '', client_secret: config.clientSecret ?? '', redirect_uri: redirectUri, grant_type: 'authorization_code',
      }));
      return body!;
    },

    async refreshAccessToken(refreshToken: string): Promise<GoogleTokenResponse> {
      const { body } = await call<GoogleTokenResponse>('token refresh', config.tokenUrl, form({
        client_id: config.clientId ?? '', client_secret: config.clientSecret ?? '', grant_type: 'refresh_token', refresh_token: refreshToken,
      }));
      return body!;
    },

    /** Revokes a refresh (or access) token; 400 (already invalid) counts as done. */
    async revoke(token: string): Promise<void> {
      await call('revoke', revokeUrl, form({ token }), (status) => status === 400);
    },

    async insertEvent(accessToken: string, calendarId: string, event: Record<string, unknown>): Promise<GoogleEvent> {
      const { body } = await call<GoogleEvent>('events.insert', eventsUrl(calendarId, undefined, { conferenceDataVersion: '1', sendUpdates: config.sendUpdates }), bearer(accessToken, 'POST', event));
      return body!;
    },

    async getEvent(accessToken: string, calendarId: string, eventId: string): Promise<GoogleEvent> {
      const { body } = await call<GoogleEvent>('events.get', eventsUrl(calendarId, eventId), bearer(accessToken, 'GET'));
      return body!;
    },

    async patchEvent(accessToken: string, calendarId: string, eventId: string, patch: Record<string, unknown>): Promise<GoogleEvent> {
      const { body } = await call<GoogleEvent>('events.patch', eventsUrl(calendarId, eventId, { conferenceDataVersion: '1', sendUpdates: config.sendUpdates }), bearer(accessToken, 'PATCH', patch));
      return body!;
    },

    /** Deletes an event; 404 (not found) and 410 (already deleted) count as done. */
    async deleteEvent(accessToken: string, calendarId: string, eventId: string): Promise<void> {
      await call('events.delete', eventsUrl(calendarId, eventId, { sendUpdates: config.sendUpdates }), bearer(accessToken, 'DELETE'), (status) => status === 404 || status === 410);
    },
  };
}
