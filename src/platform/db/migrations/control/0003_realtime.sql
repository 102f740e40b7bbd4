-- Real-time fan-out between processes.
-- Large Socket.io broadcasts between API instances (@socket.io/postgres-adapter stores payloads
-- above NOTIFY's 8000-byte limit here and sends only the row id).
CREATE TABLE IF NOT EXISTS socket_io_attachments (
  id         bigserial UNIQUE,
  created_at timestamptz DEFAULT now(),
  payload    bytea
);
-- Events published by processes without the API role (workers, CLI) that are too large for a
-- NOTIFY payload: the notification carries the row id; API processes read the row. Rows are
-- swept after a few minutes.
CREATE TABLE realtime_outbox (
  id         bigserial PRIMARY KEY,
  payload    jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX realtime_outbox_created ON realtime_outbox (created_at);
