-- Control plane: clients, their API keys, encrypted secrets, tenant datasources, CORS origins, audit log.
CREATE EXTENSION IF NOT EXISTS pgcrypto;

CREATE TABLE clients (
  id            bigserial PRIMARY KEY,
  code          text NOT NULL,
  name          text NOT NULL,
  email         text NOT NULL,
  api_key_hash  text NOT NULL,
  api_key_hint  text NOT NULL,
  api_key_created_at timestamptz NOT NULL DEFAULT now(),
  api_key_last_used_at timestamptz,
  -- 'ok' | 'needs_token' (Meta answered 190) | 'unconfigured'
  whatsapp_status text NOT NULL DEFAULT 'unconfigured',
  whatsapp_status_reason text,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX clients_code_lower ON clients (lower(code));
CREATE UNIQUE INDEX clients_api_key_hash ON clients (api_key_hash);

-- One row per (client, secret name). `envelope` is AES-256-GCM (see platform/crypto/keyring.ts);
-- `blind_index` is set only for secrets that must be looked up (phone number id, verify token).
CREATE TABLE client_secrets (
  client_id   bigint NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
  name        text NOT NULL,
  envelope    text NOT NULL,
  key_id      text NOT NULL,
  blind_index text,
  hint        text NOT NULL,
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (client_id, name)
);
CREATE INDEX client_secrets_lookup ON client_secrets (name, blind_index) WHERE blind_index IS NOT NULL;
CREATE INDEX client_secrets_key_id ON client_secrets (key_id);

CREATE TABLE client_datasources (
  client_id   bigint PRIMARY KEY REFERENCES clients(id) ON DELETE CASCADE,
  uri_envelope text NOT NULL,
  key_id      text NOT NULL,
  -- URI with the password masked, for operators
  display_uri text NOT NULL,
  -- true when the server created the database itself (embedded / auto-provision)
  provisioned boolean NOT NULL DEFAULT false,
  updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE cors_origins (
  client_id  bigint NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
  origin     text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (client_id, origin)
);
CREATE INDEX cors_origins_origin ON cors_origins (origin);

CREATE TABLE audit_log (
  id         bigserial PRIMARY KEY,
  at         timestamptz NOT NULL DEFAULT now(),
  actor      text NOT NULL,
  action     text NOT NULL,
  client_id  bigint,
  client_code text,
  ip         text,
  request_id text,
  details    jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_client ON audit_log (client_id, at DESC);
CREATE INDEX audit_log_at ON audit_log (at DESC);
