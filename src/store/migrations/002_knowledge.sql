-- Knowledge: documents, passages (full-text indexed, access-filtered), term statistics, people directory.
-- Dense vectors live in kb_chunk_vectors, created at runtime only where pgvector exists (not on Debian's PG 15).

CREATE TABLE kb_documents (
  id            text PRIMARY KEY,
  assistant     text NOT NULL,
  root          text NOT NULL,
  path          text NOT NULL,
  format        text NOT NULL,
  url           text NOT NULL,
  title         text NOT NULL,
  updated_at    timestamptz,
  access        text[] NOT NULL,
  content_hash  text NOT NULL,
  ingested_at   timestamptz NOT NULL DEFAULT now(),
  UNIQUE (assistant, root, path)
);
CREATE INDEX kb_documents_assistant_idx ON kb_documents (assistant);

-- access and title are copied from the document so retrieval filters and ranks in one table scan of the index.
CREATE TABLE kb_chunks (
  id           text PRIMARY KEY,
  document_id  text NOT NULL REFERENCES kb_documents(id) ON DELETE CASCADE,
  assistant    text NOT NULL,
  ord          integer NOT NULL,
  title        text NOT NULL,
  heading      text NOT NULL,
  keywords     text NOT NULL DEFAULT '',
  body         text NOT NULL,
  access       text[] NOT NULL,
  tsv          tsvector GENERATED ALWAYS AS (
                 setweight(to_tsvector('english', title), 'A') ||
                 setweight(to_tsvector('english', heading || ' ' || keywords), 'B') ||
                 setweight(to_tsvector('english', body), 'C')) STORED
);
CREATE INDEX kb_chunks_tsv_idx ON kb_chunks USING gin (tsv);
CREATE INDEX kb_chunks_access_idx ON kb_chunks USING gin (access);
CREATE INDEX kb_chunks_document_idx ON kb_chunks (document_id, ord);
CREATE INDEX kb_chunks_assistant_idx ON kb_chunks (assistant);

-- Term statistics per assistant AND per distinct access list, so a question's term weights are computed over the
-- passages the asker may see and nothing about hidden documents shifts what visible answers look like.
CREATE TABLE kb_term_sets (
  assistant  text NOT NULL,
  access     text[] NOT NULL,
  chunks     integer NOT NULL,
  PRIMARY KEY (assistant, access)
);
CREATE TABLE kb_terms (
  assistant  text NOT NULL,
  access     text[] NOT NULL,
  lexeme     text NOT NULL,
  df         integer NOT NULL,
  PRIMARY KEY (assistant, lexeme, access)
);
-- Prefix lookups (LIKE 'abc%') for words the passages never use: other forms and typos.
CREATE INDEX kb_terms_prefix_idx ON kb_terms (assistant, lexeme text_pattern_ops);

-- One row per assistant: a version bumped on every change, so in-process caches (the people matcher) reload.
CREATE TABLE kb_state (
  assistant   text PRIMARY KEY,
  version     bigint NOT NULL DEFAULT 0,
  updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE kb_people (
  assistant    text NOT NULL,
  id           text NOT NULL,
  name         text NOT NULL,
  email        text NOT NULL,
  title        text NOT NULL DEFAULT '',
  department   text NOT NULL DEFAULT '',
  location     text NOT NULL DEFAULT '',
  phone        text NOT NULL DEFAULT '',
  manager_id   text,
  groups       text[] NOT NULL DEFAULT '{}',
  url          text,
  PRIMARY KEY (assistant, id)
);
CREATE INDEX kb_people_email_idx ON kb_people (assistant, lower(email));
CREATE INDEX kb_people_manager_idx ON kb_people (assistant, manager_id);
