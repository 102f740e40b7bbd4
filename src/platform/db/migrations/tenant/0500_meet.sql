-- Meet domain: one row per Calendar event with a Meet conference that we created for this client.
-- The event id is deterministic (hash of client + idempotency key) so a retried create never makes two events.
CREATE TABLE meetings (
  id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  event_id        text NOT NULL UNIQUE,
  idempotency_key text NOT NULL UNIQUE,
  appointment_id  text,
  -- 'google' | 'sandbox' (the fake provider used without Google credentials)
  provider        text NOT NULL,
  title           text NOT NULL,
  description     text,
  start_at        timestamptz NOT NULL,
  end_at          timestamptz NOT NULL,
  time_zone       text NOT NULL,
  attendees       jsonb NOT NULL DEFAULT '[]',
  -- conferenceData.createRequest.requestId of the last create request (fresh per request, per Google's contract)
  request_id      uuid NOT NULL,
  meet_url        text,
  meeting_code    text,
  html_link       text,
  -- 'pending' (conference being created) | 'ready' | 'failed' | 'cancelled'
  status          text NOT NULL DEFAULT 'pending',
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX meetings_appointment ON meetings (appointment_id) WHERE appointment_id IS NOT NULL;
