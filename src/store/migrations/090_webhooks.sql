-- Outbound webhooks (contract §9): one row per (event, endpoint), written in the transaction of the change it
-- reports, so an event is sent if and only if its change committed. `msg_id` is the Standard Webhooks
-- `webhook-id`, the same on every retry. A node claims due rows with FOR UPDATE SKIP LOCKED and moves
-- `next_attempt_at` past its POST's timeout, so each attempt is made by one node and a node that dies mid-POST
-- leaves the row due again.
CREATE TABLE webhook_deliveries (
  seq              bigserial PRIMARY KEY,
  msg_id           text NOT NULL,
  endpoint         text NOT NULL,
  event_type       text NOT NULL,
  body             text NOT NULL,
  created_at       timestamptz NOT NULL,
  status           text NOT NULL DEFAULT 'PENDING' CHECK (status IN ('PENDING', 'DELIVERED', 'FAILED')),
  attempts         integer NOT NULL DEFAULT 0,
  next_attempt_at  timestamptz NOT NULL,
  delivered_at     timestamptz,
  last_status      integer,
  last_error       text,
  UNIQUE (msg_id, endpoint)
);
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at) WHERE status = 'PENDING';
CREATE INDEX webhook_deliveries_endpoint_idx ON webhook_deliveries (endpoint, seq);

-- The delivery log: every attempt, its HTTP status or error.
CREATE TABLE webhook_attempts (
  delivery_seq  bigint NOT NULL REFERENCES webhook_deliveries (seq) ON DELETE CASCADE,
  attempt       integer NOT NULL,
  at            timestamptz NOT NULL,
  http_status   integer,
  error         text,
  duration_ms   integer NOT NULL,
  PRIMARY KEY (delivery_seq, attempt)
);
