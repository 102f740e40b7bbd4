-- Outbound sending (whatsapp/send-message*): attempt bookkeeping for the durable send job and
-- media bytes waiting to be uploaded to Meta.
ALTER TABLE messages
  ADD COLUMN IF NOT EXISTS send_attempts int NOT NULL DEFAULT 0,
  -- set just before a Graph request, cleared when Meta answered (either way); a row found with it
  -- set and without a wamid had an attempt whose outcome is unknown (timeout, crash) → reconcile
  ADD COLUMN IF NOT EXISTS send_in_flight_at timestamptz,
  ADD COLUMN IF NOT EXISTS sent_at timestamptz;
CREATE INDEX IF NOT EXISTS messages_outbound_pending ON messages (created_at) WHERE status IN ('queued', 'unknown');

-- Uploaded media (base64 in the send request) kept until the send job has uploaded it to Meta.
CREATE TABLE outbound_media (
  message_id uuid PRIMARY KEY REFERENCES messages(id) ON DELETE CASCADE,
  mime_type  text NOT NULL,
  filename   text,
  data       bytea NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
