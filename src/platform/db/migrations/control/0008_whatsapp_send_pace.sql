-- Pacing per sending number, shared by every worker instance (GCRA): `tat` is the theoretical
-- arrival time of the next send. Each worker reserves a batch of send slots in one statement
-- (src/whatsapp/send-pace.ts), so N instances together stay within the number's rate.
CREATE TABLE whatsapp_send_pace (
  phone_number_id text PRIMARY KEY,
  tat             timestamptz NOT NULL
);
