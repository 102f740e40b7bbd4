/** Google (Calendar + Meet) settings. Without GOOGLE_CLIENT_ID the fake meeting provider is used (sandbox). */
import type { EnvReader } from '../platform/env-reader.ts';

export function readGoogleConfig(env: EnvReader) {
  return {
    clientId: env.str('GOOGLE_CLIENT_ID', {
      doc: 'OAuth client id (type "Web application", Calendar API enabled). Unset: meetings use the clearly marked fake provider (sandbox links).',
    }),
    clientSecret: env.str('GOOGLE_CLIENT_SECRET', { secret: true, doc: 'OAuth client secret of GOOGLE_CLIENT_ID.' }),
    oauthBaseUrl: env.url('GOOGLE_OAUTH_BASE_URL', {
      default: 'https://accounts.google.com/o/oauth2/v2/auth',
      doc: 'Google consent page the connect link redirects to (tests point it at a local server).',
    }),
    tokenUrl: env.url('GOOGLE_TOKEN_URL', {
      default: 'https://oauth2.googleapis.com/token',
      doc: 'OAuth token endpoint (code exchange and refresh).',
    }),
    revokeUrl: env.url('GOOGLE_REVOKE_URL', {
      doc: 'OAuth token revocation endpoint (disconnect, client deletion). Default: `/revoke` on the origin of GOOGLE_TOKEN_URL (https://oauth2.googleapis.com/revoke).',
    }),
    calendarBaseUrl: env.url('GOOGLE_CALENDAR_BASE_URL', {
      default: 'https://www.googleapis.com',
      doc: 'Origin of the Calendar v3 API (`/calendar/v3/...` is appended).',
    }),
    redirectUrl: env.url('GOOGLE_REDIRECT_URL', {
      doc: 'OAuth redirect URI registered with Google; must match exactly. Default ${PUBLIC_URL}/api/auth/google/callback.',
    }),
    calendarId: env.str('GOOGLE_CALENDAR_ID', { default: 'primary', doc: 'Calendar the events are created on, in each client\'s Google account.' }),
    sendUpdates: env.oneOf('GOOGLE_SEND_UPDATES', ['all', 'externalOnly', 'none'] as const, {
      default: 'all', doc: 'Whether Google emails invitations, updates and cancellations to attendees.',
    }),
    retryBaseMs: env.int('GOOGLE_RETRY_BASE_MS', {
      default: 500, min: 1, max: 60_000, doc: 'Base backoff for retrying Google 5xx/429 answers (doubled per attempt, with jitter; 3 attempts).',
    }),
    conferencePollMs: env.int('GOOGLE_CONFERENCE_POLL_MS', {
      default: 1000, min: 1, max: 60_000,
      doc: 'First delay before re-reading an event whose Meet conference is still pending (then doubled, 3 reads); still pending after that, a background job re-checks.',
    }),
    connectLinkRequired: env.bool('GOOGLE_CONNECT_LINK_REQUIRED', {
      default: false,
      doc: 'true: /api/auth/google/connect only accepts links issued by POST /api/auth/google/connect-link (client key), so knowing a client code is not enough to attach a Google account to it. false keeps the runbook\'s bare ?clientCode= link working.',
    }),
    requestTimeoutMs: env.int('GOOGLE_REQUEST_TIMEOUT_MS', { default: 10_000, min: 100, max: 120_000, doc: 'Timeout of each call to Google.' }),
  };
}

export type GoogleConfig = ReturnType<typeof readGoogleConfig>;

/** The redirect URI sent to Google (GOOGLE_REDIRECT_URL or PUBLIC_URL + callback path). */
export function googleRedirectUrl(config: { publicUrl: string; google: GoogleConfig }): string {
  return config.google.redirectUrl ?? `${config.publicUrl}/api/auth/google/callback`;
}

/** True when real Google credentials are configured; otherwise the sandbox provider is used. */
export function isGoogleConfigured(config: { google: GoogleConfig }): boolean {
  return Boolean(config.google.clientId && config.google.clientSecret);
}
