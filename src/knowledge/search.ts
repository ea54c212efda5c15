/**
 * Retrieval: PostgreSQL full-text search over passages the asker may see (the access filter is in the same WHERE
 * clause as the match, so ranking only ever sees visible rows), AND first with an OR fallback, optionally fused
 * with dense vectors by reciprocal rank fusion.
 */
import type { Db } from '../store/db.ts';
import { ensureVectorTable, vectorLiteral, type Embedder } from './embeddings.ts';
import type { KnowledgeHit } from './types.ts';

// Conversational filler that PostgreSQL's english stop list keeps but that never identifies a passage.
const FILLER = new Set([
  'please', 'tell', 'know', 'need', 'want', 'like', 'would', 'could', 'should', 'may', 'might', 'must', 'shall',
  'get', 'got', 'getting', 'let', 'lets', 'anyone', 'someone', 'somebody', 'anything', 'something', 'thing', 'things',
  'also', 'many', 'much', 'way', 'ways', 'go', 'going', 'make', 'sure', 'actually', 'really', 'hi', 'hello', 'hey',
  'thanks', 'thank', 'info', 'information', 'question', 'explain', 'find', 'show', 'give', 'us', 'wondering',
  'possible', 'able', 'ok', 'okay', 'yes', 'say', 'says', 'said', 'one', 'ever', 'use', 'using', 'work', 'company',
  'acme', 'whats', 'hows', 'im', 'ive', 'id', 'dont', 'doesnt', 'cant', 'isnt', 'arent', 'wont', 'theres',
  // Question shape ("how often", "how long", "what size"): says what kind of answer is wanted, not what it is about.
  'often', 'long', 'fast', 'quickly', 'far', 'soon', 'late', 'early', 'size', 'kind', 'type', 'sort', 'allowed',
  'minimum', 'maximum', 'happen', 'happens', 'exactly', 'currently', 'usually', 'normally', 'typically', 'still',
  'supposed', 'required', 'okay',
]);

/** Lower-cased content words of a question, punctuation removed (safe to hand to to_tsvector). */
export function queryWords(query: string): string[] {
  return query
    .toLowerCase()
    .replace(/n['’]t\b/g, ' not')
    .replace(/['’](s|re|ve|ll|d|m)\b/g, '')
    .split(/[^\p{L}\p{N}]+/u)
    .filter((w) => w && !FILLER.has(w));
}

export interface QueryTerm {
  lexeme: string;
  /** Inverse document frequency among the assistant's passages (BM25 form, always > 0). */
  idf: number;
}

export interface SearchParams {
  assistant: string;
  principals: readonly string[];
  query: string;
  limit: number;
  embedder?: Embedder | undefined;
  hasVector: boolean;
}

interface Row {
  id: string;
  document_id: string;
  title: string;
  heading: string;
  body: string;
  url: string;
  updated_at: Date | string | null;
  rank: number;
  matched: string[];
}

/** Stems the query with the english configuration and weighs each lexeme by rarity. */
export async function analyzeQuery(db: Db, assistant: string, query: string): Promise<QueryTerm[]> {
  const words = queryWords(query);
  if (!words.length) return [];
  const rows = await db.query<{ lexeme: string; df: number | null; n: number | null }>(
    `SELECT l.lexeme, t.df, s.chunks AS n
       FROM unnest(tsvector_to_array(to_tsvector('english', $2))) AS l(lexeme)
       LEFT JOIN kb_terms t ON t.assistant = $1 AND t.lexeme = l.lexeme
       LEFT JOIN kb_state s ON s.assistant = $1`,
    [assistant, words.join(' ')],
  );
  return rows.map((r) => {
    const n = Number(r.n ?? 0);
    const df = Math.min(Number(r.df ?? 0), n);
    return { lexeme: r.lexeme, idf: Math.log(1 + (n - df + 0.5) / (df + 0.5)) };
  });
}

function tsqueryOf(terms: readonly QueryTerm[], op: '&' | '|'): string {
  // Lexemes come from to_tsvector over letters and digits only; quoting keeps them verbatim (no re-stemming).
  return terms.map((t) => `'${t.lexeme.replace(/'/g, "''")}'`).join(` ${op} `);
}

const SELECT_HITS = (match: string) => `
  SELECT c.id, c.document_id, c.title, c.heading, c.body, d.url, d.updated_at, c.rank,
         ARRAY(SELECT unnest(tsvector_to_array(c.tsv)) INTERSECT SELECT unnest($4::text[])) AS matched
    FROM (SELECT k.id, k.document_id, k.title, k.heading, k.body, k.tsv, ${match} AS rank
            FROM kb_chunks k
           WHERE k.assistant = $1 AND k.access && $2::text[] AND k.tsv @@ $3::tsquery
           ORDER BY rank DESC, k.id
           LIMIT $5) c
    JOIN kb_documents d ON d.id = c.document_id
   ORDER BY c.rank DESC, c.id`;

/** Ranked passages for a question, each with the share of (rarity-weighted) query terms it contains. */
export async function searchPassages(db: Db, p: SearchParams): Promise<KnowledgeHit[]> {
  const principals = [...new Set(p.principals.map((x) => x.toLowerCase()))];
  const terms = await analyzeQuery(db, p.assistant, p.query);
  if (!terms.length) return [];
  const lexemes = terms.map((t) => t.lexeme);
  const fetch = Math.max(p.limit, 10);
  const run = (op: '&' | '|', limit: number) =>
    db.query<Row>(SELECT_HITS('ts_rank_cd(k.tsv, $3::tsquery)'), [p.assistant, principals, tsqueryOf(terms, op), lexemes, limit]);
  // Passages with every term first; when there are too few, passages with some of the terms fill up the list
  // (natural questions often carry a word the answer does not use).
  let rows = await run('&', fetch);
  if (rows.length < fetch && terms.length > 1) {
    const seen = new Set(rows.map((r) => r.id));
    rows = rows.concat((await run('|', fetch * 2)).filter((r) => !seen.has(r.id)));
  }

  const total = terms.reduce((n, t) => n + t.idf, 0);
  const idf = new Map(terms.map((t) => [t.lexeme, t.idf]));
  const coverage = (matched: string[]) => matched.reduce((n, l) => n + (idf.get(l) ?? 0), 0) / (total || 1);
  const maxRank = rows.reduce((m, r) => Math.max(m, Number(r.rank)), 0) || 1;
  const hits = new Map<string, KnowledgeHit>();
  for (const r of rows) {
    const cov = coverage(r.matched ?? []);
    // Coverage leads (how much of the question the passage speaks to), ts_rank_cd orders passages that cover as much.
    hits.set(r.id, { ...toHit(r, cov + 0.25 * (Number(r.rank) / maxRank)), coverage: round(cov) });
  }

  if (p.embedder && p.hasVector) {
    const dense = await denseSearch(db, p, principals, lexemes, fetch);
    // Reciprocal rank fusion (k = 60): robust to the two scores having nothing in common.
    const fused = new Map<string, number>();
    rows.forEach((r, i) => fused.set(r.id, 1 / (60 + i + 1)));
    dense.forEach((r, i) => {
      fused.set(r.id, (fused.get(r.id) ?? 0) + 1 / (60 + i + 1));
      const prev = hits.get(r.id);
      if (prev) prev.similarity = round(r.similarity);
      else hits.set(r.id, { ...toHit(r, 0), coverage: round(coverage(r.matched ?? [])), similarity: round(r.similarity) });
    });
    for (const h of hits.values()) h.score = round(fused.get(h.chunkId) ?? 0, 6);
  }
  return [...hits.values()].sort((a, b) => b.score - a.score || a.chunkId.localeCompare(b.chunkId)).slice(0, p.limit);
}

async function denseSearch(db: Db, p: SearchParams, principals: string[], lexemes: string[], limit: number) {
  await ensureVectorTable(db);
  const [vector] = await p.embedder!.embed([p.query]);
  if (!vector) return [];
  return db.query<Row & { similarity: number }>(
    `SELECT c.id, c.document_id, c.title, c.heading, c.body, d.url, d.updated_at, 0 AS rank, c.similarity,
            ARRAY(SELECT unnest(tsvector_to_array(c.tsv)) INTERSECT SELECT unnest($4::text[])) AS matched
       FROM (SELECT k.id, k.document_id, k.title, k.heading, k.body, k.tsv, 1 - (v.embedding <=> $3::vector) AS similarity
               FROM kb_chunk_vectors v JOIN kb_chunks k ON k.id = v.chunk_id
              WHERE v.assistant = $1 AND v.model = $6 AND k.access && $2::text[]
              ORDER BY v.embedding <=> $3::vector, k.id
              LIMIT $5) c
       JOIN kb_documents d ON d.id = c.document_id
      ORDER BY c.similarity DESC, c.id`,
    [p.assistant, principals, vectorLiteral(vector), lexemes, limit, p.embedder!.model],
  );
}

function toHit(r: Row, score: number): KnowledgeHit {
  return {
    documentId: r.document_id,
    chunkId: r.id,
    url: r.url,
    title: r.title,
    heading: r.heading,
    text: r.body,
    updatedAt: r.updated_at === null ? null : new Date(r.updated_at).toISOString(),
    score: round(score, 6),
  };
}

function round(x: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
