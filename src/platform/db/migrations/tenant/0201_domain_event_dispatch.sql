-- Dispatch bookkeeping of the domain_events outbox (workflows domain owns the dispatcher).
-- An event whose subscribers keep failing is retried, then parked as dispatched with its error
-- so it cannot block the events behind it.
ALTER TABLE domain_events ADD COLUMN dispatch_attempts int NOT NULL DEFAULT 0;
ALTER TABLE domain_events ADD COLUMN dispatch_error text;
