-- Dense retrieval without pgvector: passage vectors as float32 (little-endian, unit length) in a plain column,
-- scanned exactly in process (src/knowledge/dense.ts). Works on any PostgreSQL and on PGlite.
-- seq tells a node's cache which rows it has already loaded; a row is never updated, only replaced (new seq).
CREATE SEQUENCE kb_chunk_embeddings_seq;
CREATE TABLE kb_chunk_embeddings (
  chunk_id   text PRIMARY KEY REFERENCES kb_chunks(id) ON DELETE CASCADE,
  assistant  text NOT NULL,
  model      text NOT NULL,
  dims       integer NOT NULL,
  seq        bigint NOT NULL DEFAULT nextval('kb_chunk_embeddings_seq'),
  embedding  bytea NOT NULL
);
CREATE INDEX kb_chunk_embeddings_assistant_idx ON kb_chunk_embeddings (assistant, model);

-- Bumped whenever vectors are added, so every node's cache notices (kb_state.version covers passages replaced or
-- removed, whose vectors go with them).
CREATE TABLE kb_vector_state (
  assistant   text NOT NULL,
  model       text NOT NULL,
  generation  bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (assistant, model)
);
