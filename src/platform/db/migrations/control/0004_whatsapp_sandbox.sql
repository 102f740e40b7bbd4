-- The WhatsApp simulator's own records (shared by every process of the deployment):
-- when each customer last wrote to each sandbox number (its 24-hour window), and what it was asked to send.
CREATE TABLE sandbox_inbound (
  phone_number_id text NOT NULL,
  wa_id           text NOT NULL,
  last_inbound_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (phone_number_id, wa_id)
);

CREATE TABLE sandbox_outbox (
  id              bigserial PRIMARY KEY,
  phone_number_id text NOT NULL,
  to_number       text,
  wa_message_id   text,
  type            text,
  payload         jsonb NOT NULL,
  -- accepted | rejected (with error_code)
  outcome         text NOT NULL,
  error_code      int,
  created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sandbox_outbox_number ON sandbox_outbox (phone_number_id, id DESC);
