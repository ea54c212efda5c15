-- Typed principals (contract §8): stored access lists become `group:<name>`, `user:<sub>`, `email:<address>`, `*`.
-- Before, one untyped namespace matched a token's sub, email and groups alike; a plain name now means a group
-- (as new ingests write it), so every untyped entry becomes `group:<entry>`. A list holding `*` becomes `{*}`.
-- Term statistics are keyed by access list, so they are re-keyed (and merged where two lists became one).
CREATE FUNCTION parley_typed_access(list text[]) RETURNS text[] LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN '*' = ANY(list) THEN ARRAY['*']::text[]
    ELSE ARRAY(SELECT p FROM (SELECT DISTINCT CASE WHEN x ~ '^(group|user|email|role):' THEN x ELSE 'group:' || x END AS p
                               FROM unnest(list) AS x) t
               ORDER BY p COLLATE "C") END
$$;

UPDATE kb_documents SET access = parley_typed_access(access) WHERE access IS DISTINCT FROM parley_typed_access(access);
UPDATE kb_chunks SET access = parley_typed_access(access) WHERE access IS DISTINCT FROM parley_typed_access(access);

CREATE TEMP TABLE parley_term_sets_010 ON COMMIT DROP AS
  SELECT assistant, parley_typed_access(access) AS access, sum(chunks)::int AS chunks FROM kb_term_sets GROUP BY 1, 2;
DELETE FROM kb_term_sets;
INSERT INTO kb_term_sets (assistant, access, chunks) SELECT assistant, access, chunks FROM parley_term_sets_010;

CREATE TEMP TABLE parley_terms_010 ON COMMIT DROP AS
  SELECT assistant, parley_typed_access(access) AS access, lexeme, sum(df)::int AS df FROM kb_terms GROUP BY 1, 2, 3;
DELETE FROM kb_terms;
INSERT INTO kb_terms (assistant, access, lexeme, df) SELECT assistant, access, lexeme, df FROM parley_terms_010;

DROP FUNCTION parley_typed_access(text[]);
