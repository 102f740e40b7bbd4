-- One Google connection per client (meet domain): the refresh token that lets us create Calendar
-- events with Meet links on the client's own Google account. Tokens are AES-256-GCM envelopes
-- (platform/crypto/keyring.ts) bound to client + column; never stored or logged in clear.
CREATE TABLE google_connections (
  client_id              bigint PRIMARY KEY REFERENCES clients(id) ON DELETE CASCADE,
  -- 'connected' | 'needs_reauth' (Google answered invalid_grant) | 'disconnected'
  status                 text NOT NULL DEFAULT 'connected',
  refresh_token_envelope text NOT NULL,
  key_id                 text NOT NULL,
  -- Google account (from the id_token) and the scopes actually granted (space-separated in Google's answer)
  account_email          text,
  account_sub            text,
  scopes                 text[] NOT NULL DEFAULT '{}',
  -- cached access token (encrypted) and its absolute expiry
  access_token_envelope  text,
  access_token_expires_at timestamptz,
  last_error             text,
  connected_at           timestamptz NOT NULL DEFAULT now(),
  updated_at             timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX google_connections_key_id ON google_connections (key_id);
