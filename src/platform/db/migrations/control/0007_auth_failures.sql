-- Failed authentications shared by every instance (src/auth/failure-limiter.ts): one row per
-- limiter key (address, or address + client code, hashed when long), counted in a window that
-- starts at the key's first failure. Only failures write here; expired rows are pruned by the
-- instances themselves. UNLOGGED: counters are not worth WAL, and losing them in a PostgreSQL
-- crash only resets the windows.
CREATE UNLOGGED TABLE auth_failures (
  key      text PRIMARY KEY,
  count    integer NOT NULL,
  reset_at timestamptz NOT NULL
);
CREATE INDEX auth_failures_reset_at ON auth_failures (reset_at);
