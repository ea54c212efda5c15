-- Conversations, responses (the response row is the job), messages, outputs, event logs, feedback.

CREATE TABLE conversations (
  id          text PRIMARY KEY,
  user_id     text NOT NULL,
  assistant   text NOT NULL,
  title       text,
  archived    boolean NOT NULL DEFAULT false,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX conversations_owner_idx ON conversations (user_id, assistant, archived, updated_at DESC, id DESC);

CREATE TABLE responses (
  id               text PRIMARY KEY,
  pos              bigserial UNIQUE,
  conversation_id  text NOT NULL REFERENCES conversations(id),
  user_id          text NOT NULL,
  assistant        text NOT NULL,
  status           text NOT NULL CHECK (status IN ('CREATED','IN_PROGRESS','COMPLETED','FAILED')),
  input_message_id text NOT NULL,
  user_claims      jsonb NOT NULL,
  created_at       timestamptz NOT NULL DEFAULT now(),
  started_at       timestamptz,
  completed_at     timestamptz,
  deadline_at      timestamptz NOT NULL,
  error            jsonb,
  attempts         integer NOT NULL DEFAULT 0,
  lease_owner      text,
  lease_until      timestamptz,
  last_seq         integer NOT NULL DEFAULT 0
);
CREATE INDEX responses_conversation_idx ON responses (conversation_id, pos);
-- The queue: only unfinished rows, so claiming stays cheap however many responses are stored.
CREATE INDEX responses_pending_idx ON responses (pos) WHERE status IN ('CREATED','IN_PROGRESS');

CREATE TABLE messages (
  id                 text PRIMARY KEY,
  pos                bigserial UNIQUE,
  conversation_id    text NOT NULL REFERENCES conversations(id),
  response_id        text NOT NULL,
  user_id            text NOT NULL,
  actor              text NOT NULL CHECK (actor IN ('USER','ASSISTANT')),
  text               text NOT NULL,
  citations          jsonb,
  content_references jsonb,
  created_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX messages_conversation_idx ON messages (conversation_id, pos DESC);
CREATE INDEX messages_response_idx ON messages (response_id, pos);

-- Current snapshot of every output item of a response (reasoning messages and assistant messages), in order.
CREATE TABLE response_outputs (
  response_id  text NOT NULL REFERENCES responses(id),
  idx          integer NOT NULL,
  item_id      text NOT NULL,
  item         jsonb NOT NULL,
  PRIMARY KEY (response_id, idx)
);

-- Per-response event log: what SSE streams, replays and resumes read. data is the exact JSON sent on the wire.
CREATE TABLE response_events (
  response_id  text NOT NULL REFERENCES responses(id),
  seq          integer NOT NULL,
  event_type   text NOT NULL,
  data         text NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (response_id, seq)
);

-- Conversation events (final assistant messages) for GET /conversations/{id|-}/events and webhooks.
CREATE TABLE conversation_events (
  id               text PRIMARY KEY,
  pos              bigserial UNIQUE,
  conversation_id  text NOT NULL REFERENCES conversations(id),
  user_id          text NOT NULL,
  assistant        text NOT NULL,
  message_id       text NOT NULL REFERENCES messages(id),
  created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX conversation_events_owner_idx ON conversation_events (user_id, assistant, pos);
CREATE INDEX conversation_events_conversation_idx ON conversation_events (conversation_id, pos);

CREATE TABLE feedback (
  message_id   text NOT NULL REFERENCES messages(id),
  user_id      text NOT NULL,
  assistant    text NOT NULL,
  rating       text NOT NULL CHECK (rating IN ('HELPFUL','UNHELPFUL')),
  comment      text,
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (message_id, user_id)
);

CREATE TABLE idempotency_keys (
  user_id       text NOT NULL,
  key           text NOT NULL,
  operation     text NOT NULL,
  request_hash  text NOT NULL,
  status_code   integer,
  body          jsonb,
  created_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, key, operation)
);

-- Shared secrets (token signing, cursor and callback-id keys) so every node agrees without extra config.
CREATE TABLE settings (
  name   text PRIMARY KEY,
  value  text NOT NULL
);
