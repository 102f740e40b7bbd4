-- Durable inbox of WhatsApp webhook deliveries: the raw body is committed here before Meta gets its 200,
-- then consumers claim rows (FOR UPDATE SKIP LOCKED) and apply them to the tenant databases.
CREATE TABLE whatsapp_inbox (
  id              bigserial PRIMARY KEY,
  received_at     timestamptz NOT NULL DEFAULT now(),
  -- exact request bytes as signed by Meta
  body            bytea NOT NULL,
  -- clients whose own whatsappAppSecret verified the body; NULL when the global (or sandbox) app secret did
  verified_for    bigint[],
  -- 'pending' | 'processing' | 'done' | 'unroutable' | 'dead'
  state           text NOT NULL DEFAULT 'pending',
  attempts        int NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  -- lease of the consumer processing the row; an expired lease makes the row claimable again
  locked_until    timestamptz,
  last_error      text,
  -- clients the body was routed to, and those whose changes are applied (a retry skips them)
  client_ids      bigint[] NOT NULL DEFAULT '{}',
  done_client_ids bigint[] NOT NULL DEFAULT '{}',
  -- changes that could not be routed: [{ entryId, field, phoneNumberId, reason }]
  unroutable      jsonb NOT NULL DEFAULT '[]',
  processed_at    timestamptz
);
CREATE INDEX whatsapp_inbox_ready ON whatsapp_inbox (next_attempt_at, id) WHERE state = 'pending';
CREATE INDEX whatsapp_inbox_leases ON whatsapp_inbox (locked_until) WHERE state = 'processing';
CREATE INDEX whatsapp_inbox_state ON whatsapp_inbox (state, id DESC);

-- Non-message webhook fields (template status, account updates) name only the WABA: find its client.
-- whatsappBusinessId is a plain (non-secret) field whose hint holds the value.
CREATE INDEX client_secrets_business_id ON client_secrets (hint) WHERE name = 'whatsappBusinessId';

-- Tells every process to drop cached phone-number → client routes when secrets change.
CREATE FUNCTION notify_client_secrets_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('ecodrix_client_secrets_changed', '');
  RETURN NULL;
END $$;
CREATE TRIGGER client_secrets_changed AFTER INSERT OR UPDATE OR DELETE ON client_secrets
  FOR EACH STATEMENT EXECUTE FUNCTION notify_client_secrets_changed();
