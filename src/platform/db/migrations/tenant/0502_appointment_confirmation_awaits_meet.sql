-- A `meet: true` booking whose conference Google had not finished holds its confirmation back;
-- the meeting.ready/meeting.failed subscriber sends it and clears the flag.
ALTER TABLE appointments ADD COLUMN confirmation_awaits_meet boolean NOT NULL DEFAULT false;
