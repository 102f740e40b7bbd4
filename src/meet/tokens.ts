/** Encryption contexts for Google tokens: each envelope is bound to its client and column. */
export function refreshTokenContext(clientId: string): string {
  return `client:${clientId}|google_connections.refresh_token`;
}

export function accessTokenContext(clientId: string): string {
  return `client:${clientId}|google_connections.access_token`;
}

/** Scope that lets us create, move and delete events (with Meet) on calendars the user owns: the narrowest that works. */
export const CALENDAR_SCOPE = 'https://www.googleapis.com/auth/calendar.events.owned';
/** Broader grants that also cover what CALENDAR_SCOPE allows (accepted if Google returns them). */
export const SUFFICIENT_SCOPES = [
  CALENDAR_SCOPE,
  'https://www.googleapis.com/auth/calendar.events',
  'https://www.googleapis.com/auth/calendar',
];
/** Identity scopes, only to show which Google account got connected (email in the id_token). */
export const IDENTITY_SCOPES = ['openid', 'email'];

/** Refresh this long before the access token's expiry (google-auth-library's "eager" default). */
export const EAGER_REFRESH_MS = 5 * 60_000;
