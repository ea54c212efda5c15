-- Actions (issue 10). One row per plugin call, proposed or made: the pending confirmation a CALLBACK_ACTION
-- names, and the audit record of the call (user, plugin, inputs, status, duration). A confirmation claims the
-- row with one conditional UPDATE (status PENDING → CONFIRMED or CANCELLED), so of two racing uses of one
-- callback id, on any nodes, exactly one wins; the call itself starts with a second one (CONFIRMED → RUNNING),
-- so a retried answer never calls twice.
CREATE TABLE plugin_calls (
  id                    text PRIMARY KEY,
  seq                   bigserial UNIQUE,
  assistant             text NOT NULL,
  user_id               text NOT NULL,
  conversation_id       text,
  -- The response whose message offered the confirmation, and the one that answers it (callback or reply).
  proposed_response_id  text,
  response_id           text,
  plugin                text NOT NULL,
  inputs                jsonb NOT NULL,
  status                text NOT NULL CHECK (status IN ('PENDING', 'CONFIRMED', 'CANCELLED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'EXPIRED')),
  created_at            timestamptz NOT NULL,
  expires_at            timestamptz,
  decided_at            timestamptz,
  started_at            timestamptz,
  finished_at           timestamptz,
  duration_ms           integer,
  http_status           integer,
  error                 text,
  result                jsonb,
  trace_id              text
);
CREATE INDEX plugin_calls_audit_idx ON plugin_calls (assistant, seq DESC);
CREATE INDEX plugin_calls_conversation_idx ON plugin_calls (conversation_id, seq DESC);

-- A user message that is an action callback (V1 `CALLBACK_ACTION_CONTENT`), and an assistant message's actions.
ALTER TABLE messages ADD COLUMN callback_id text;
ALTER TABLE messages ADD COLUMN actions jsonb;
