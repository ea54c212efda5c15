-- The reaper drops idempotency keys older than 24 h; keep that cheap.
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);
