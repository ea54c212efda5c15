-- Ingestion: a document is its url (or explicit id) wherever its file lives; a source (root) owns what it brought.
ALTER TABLE kb_documents ADD COLUMN identity text;
-- Earlier ingests could hold the same url twice (the same files from two folders): the newest keeps the url as its
-- identity, older copies get a legacy identity and leave with the next prune of their folder.
UPDATE kb_documents d SET identity = CASE
  WHEN d.id = (SELECT d2.id FROM kb_documents d2 WHERE d2.assistant = d.assistant AND d2.url = d.url
                ORDER BY d2.ingested_at DESC, d2.id LIMIT 1) THEN d.url
  ELSE 'legacy:' || d.id END;
ALTER TABLE kb_documents ALTER COLUMN identity SET NOT NULL;
-- A row written without an identity (older code, scripts) is identified by its url.
CREATE FUNCTION kb_documents_default_identity() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.identity IS NULL THEN
    NEW.identity := NEW.url;
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER kb_documents_default_identity BEFORE INSERT ON kb_documents
  FOR EACH ROW EXECUTE FUNCTION kb_documents_default_identity();
ALTER TABLE kb_documents DROP CONSTRAINT kb_documents_assistant_root_path_key;
CREATE UNIQUE INDEX kb_documents_identity_idx ON kb_documents (assistant, identity);
CREATE INDEX kb_documents_root_idx ON kb_documents (assistant, root, path);

-- The source that last brought each person (null: loaded before sources were tracked; never pruned).
ALTER TABLE kb_people ADD COLUMN source text;
CREATE INDEX kb_people_source_idx ON kb_people (assistant, source);

-- Audit of every ingest and prune.
CREATE TABLE kb_ingests (
  id             text PRIMARY KEY,
  assistant      text NOT NULL,
  source         text NOT NULL,
  actor          text NOT NULL,
  at             timestamptz NOT NULL DEFAULT now(),
  prune          boolean NOT NULL,
  forced         boolean NOT NULL DEFAULT false,
  added          integer NOT NULL,
  updated        integer NOT NULL,
  unchanged      integer NOT NULL,
  removed        integer NOT NULL,
  people         integer NOT NULL,
  people_removed integer NOT NULL,
  errors         integer NOT NULL,
  removed_ids    text[] NOT NULL DEFAULT '{}'
);
CREATE INDEX kb_ingests_at_idx ON kb_ingests (at DESC, id DESC);
