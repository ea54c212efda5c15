/**
 * Retrieval: PostgreSQL full-text search over passages the asker may see (the access filter is in the same WHERE
 * clause as the match, so ranking only ever sees visible rows): all terms first, then passages missing one term,
 * two, …; optionally fused with dense vectors by reciprocal rank fusion.
 */
import type { Db } from '../store/db.ts';
import { plainIndexFor, normalized } from './dense.ts';
import { ensureVectorTable, vectorLiteral, type Embedder, type VectorStore } from './embeddings.ts';
import { allLexemes, analyzeQuery, isSituationWord, termPresent, termQuery, tsqueryOf, type QueryTerm } from './query.ts';
import type { KnowledgeHit } from './types.ts';

export interface SearchParams {
  assistant: string;
  principals: readonly string[];
  query: string;
  limit: number;
  embedder?: Embedder | undefined;
  /** Where passage vectors are (see embeddings.ts); dense retrieval runs whenever an embedder is given. */
  vectorStore: VectorStore;
  /** Dense retrieval failures (endpoint down, malformed vector); the search goes on with full text. */
  log?: ((msg: string) => void) | undefined;
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

interface Stage {
  query: string;
  /** Every term is required (ranked by ts_rank_cd alone). */
  all: boolean;
  /** Most passages ranked in this stage; bounds the cost when many passages match. */
  cap: number;
}

/**
 * Passages with every term first; then, while too few are found, passages with all but one term, all but two, …
 * (as `(a & b) | (a & c) | (b & c)`: the index intersects posting lists, so only real candidates are fetched and
 * ranked); last, passages with just one of the two rarest terms. Natural questions often carry a word the answer
 * does not use, and an OR of everything would make a common word pull in most of the index.
 */
function searchStages(terms: readonly QueryTerm[]): Stage[] {
  const stages: Stage[] = [{ query: tsqueryOf(terms, '&'), all: true, cap: 2000 }];
  if (terms.length < 2) return stages;
  const top = [...terms].sort((a, b) => b.idf - a.idf).slice(0, 6);
  for (let need = top.length - 1; need >= 2; need--) {
    stages.push({ query: combinations(top, need).map((c) => `(${tsqueryOf(c, '&')})`).join(' | '), all: false, cap: 1000 });
  }
  stages.push({ query: tsqueryOf(top.slice(0, 2), '|'), all: false, cap: 500 });
  return stages;
}

function combinations<T>(items: readonly T[], k: number): T[][] {
  if (k === 0) return [[]];
  if (items.length < k) return [];
  const [first, ...rest] = items;
  return [...combinations(rest, k - 1).map((c) => [first!, ...c]), ...combinations(rest, k)];
}

// A passage's tsvector is stored out of line (TOAST) and every use of k.tsv below (each term's CASE, ts_rank_cd,
// the matched terms) would fetch and decompress it again; concatenating an empty tsvector reads it once per row.
const SELECT_HITS = (match: string) => `
  SELECT c.id, c.document_id, c.title, c.heading, c.body, d.url, d.updated_at, c.rank,
         ARRAY(SELECT unnest(tsvector_to_array(c.tsv)) INTERSECT SELECT unnest($4::text[])) AS matched
    FROM (SELECT k.id, k.document_id, k.title, k.heading, k.body, k.tsv, ${match} AS rank
            FROM (SELECT k.id, k.document_id, k.title, k.heading, k.body, k.tsv || ''::tsvector AS tsv FROM kb_chunks k
                   WHERE k.assistant = $1 AND k.access && $2::text[] AND k.tsv @@ $3::tsquery
                   LIMIT $6) k
           ORDER BY rank DESC, k.id
           LIMIT $5) c
    JOIN kb_documents d ON d.id = c.document_id
   ORDER BY c.rank DESC, c.id`;

/** Ranked passages for a question, each with the share of (rarity-weighted) query terms it contains. */
export async function searchPassages(db: Db, p: SearchParams): Promise<KnowledgeHit[]> {
  // Principals arrive in stored form (principals.ts): `user:` subjects are case-sensitive, so no lower-casing here.
  const principals = [...new Set(p.principals)];
  const analyzed = await analyzeQuery(db, p.assistant, principals, p.query);
  // Words no visible passage uses cannot find anything; they only tell how much of the question is unknown here.
  const terms = analyzed.filter((t) => t.seen);
  // With embeddings, a question in words no passage uses can still be found by meaning (dense side alone).
  if (!analyzed.length || (!terms.length && !p.embedder)) return [];
  const unseen = round((analyzed.length - terms.length) / analyzed.length);
  const unseenWords = analyzed.filter((t) => !t.seen).map((t) => t.text);
  // Question words found only through the back-off lexicon's words (diagnostics).
  const backoffWords = analyzed.filter((t) => t.backoff).map((t) => t.text);
  const lexemes = allLexemes(terms);
  const fetch = Math.max(p.limit, 10);
  // ts_rank_cd knows nothing of rarity: partial matches rank by the summed weight of the terms they contain.
  // (Term queries hold only validated lexemes and the quotes added around them.)
  // The dense side (embedding the question over HTTP, the in-process scan) runs while PostgreSQL runs the full-text
  // stages. An unreachable embeddings endpoint costs recall, not the answer: full text still works.
  const densePending = p.embedder
    ? denseSearch(db, p, principals, lexemes, fetch).catch((err: unknown) => {
        p.log?.(`dense retrieval failed, full text only: ${err instanceof Error ? err.message : String(err)}`);
        return [] as DenseRow[];
      })
    : null;
  const weighted = terms.map((t) => `(CASE WHEN k.tsv @@ '${termQuery(t).replace(/'/g, "''")}'::tsquery THEN ${t.idf.toFixed(4)} ELSE 0 END)`).join(' + ') || '0';
  let rows: Row[] = [];
  const seen = new Set<string>();
  for (const stage of terms.length ? searchStages(terms) : []) {
    const rank = stage.all ? 'ts_rank_cd(k.tsv, $3::tsquery)' : `${weighted} + 0.1 * ts_rank_cd(k.tsv, $3::tsquery)`;
    const found = await db.query<Row>(SELECT_HITS(rank), [p.assistant, principals, stage.query, lexemes, fetch * (stage.all ? 1 : 2), stage.cap]);
    // Ranks of different stages are on different scales: keep each relative to its stage's best.
    const best = found.reduce((m, r) => Math.max(m, Number(r.rank)), 0) || 1;
    for (const r of found) r.rank = Number(r.rank) / best;
    for (const r of found) {
      if (seen.has(r.id)) continue;
      seen.add(r.id);
      rows.push(r);
    }
    if (rows.length >= fetch) break;
  }
  rows = rows.slice(0, fetch * 2);

  const total = terms.reduce((n, t) => n + t.idf, 0);
  const matchedIdf = (matched: string[]) => {
    const present = new Set(matched);
    return terms.reduce((n, t) => n + (termPresent(t, present) ? t.idf : 0), 0);
  };
  const coverage = (matched: string[]) => matchedIdf(matched) / (total || 1);
  // Support also counts the question's unknown topic words, each at half the weight a word of one passage would
  // have: a question mostly about something the corpus never mentions is weakly supported however well the rest
  // of it matches.
  const unknownMass = analyzed.filter((t) => !t.seen && !isSituationWord(t.text)).reduce((m, t) => m + 0.5 * (t.rareIdf ?? 0), 0);
  const support = (matched: string[]) => matchedIdf(matched) / (total + unknownMass || 1);
  const countPresent = (matched: string[]) => {
    const present = new Set(matched);
    return terms.filter((t) => termPresent(t, present)).length;
  };
  // How rare the rarest question word the passage holds is, against a word only one passage uses (1).
  const rare = terms[0]?.rareIdf ?? 0;
  const specificity = (matched: string[]) => {
    const present = new Set(matched);
    return rare ? terms.reduce((m, t) => (termPresent(t, present) ? Math.max(m, t.idf) : m), 0) / rare : 0;
  };
  // What the passage's document says about the question across the passages found (an article names its topic
  // once, in its title or opening, and gives details in later sections).
  const docMatched = new Map<string, Set<string>>();
  for (const r of rows) {
    const set = docMatched.get(r.document_id) ?? new Set<string>();
    for (const l of r.matched ?? []) set.add(l);
    docMatched.set(r.document_id, set);
  }
  const hits = new Map<string, KnowledgeHit>();
  for (const r of rows) {
    const cov = coverage(r.matched ?? []);
    // Coverage decides (how much of the question the passage speaks to); the stage's rank orders equal coverage.
    hits.set(r.id, { ...toHit(r, round(cov, 2) + 0.01 * r.rank), coverage: round(cov), support: round(support(r.matched ?? [])), specificity: round(specificity(r.matched ?? [])), matchedTerms: countPresent(r.matched ?? []), docCoverage: round(coverage([...docMatched.get(r.document_id)!])), unseen, unseenWords, ...(backoffWords.length ? { backoffWords } : {}) });
  }

  if (densePending) {
    const dense = await densePending;
    // Reciprocal rank fusion (k = 60): robust to the two scores having nothing in common.
    const fused = new Map<string, number>();
    [...hits.values()]
      .sort((a, b) => b.score - a.score || a.chunkId.localeCompare(b.chunkId))
      .forEach((h, i) => fused.set(h.chunkId, 1 / (60 + i + 1)));
    dense.forEach((r, i) => {
      fused.set(r.id, (fused.get(r.id) ?? 0) + 1 / (60 + i + 1));
      const prev = hits.get(r.id);
      if (prev) prev.similarity = round(r.similarity);
      else hits.set(r.id, { ...toHit(r, 0), coverage: round(coverage(r.matched ?? [])), support: round(support(r.matched ?? [])), unseen, unseenWords, similarity: round(r.similarity) });
    });
    for (const h of hits.values()) h.score = round(fused.get(h.chunkId) ?? 0, 6);
  }
  return [...hits.values()].sort((a, b) => b.score - a.score || a.chunkId.localeCompare(b.chunkId)).slice(0, p.limit);
}

type DenseRow = Row & { similarity: number };

async function denseSearch(db: Db, p: SearchParams, principals: string[], lexemes: string[], limit: number): Promise<DenseRow[]> {
  const embedder = p.embedder!;
  const [vector] = await embedder.embed([p.query], AbortSignal.timeout(embedder.queryTimeoutMs ?? 5000));
  if (!vector) return [];
  if (p.vectorStore === 'plain') {
    const unit = normalized(vector);
    if (!unit) return [];
    // Access filter first, then exact cosine top-k (dense.ts); the passages are then read with the same filter.
    const top = await plainIndexFor(db).search(p.assistant, embedder.model, principals, unit, limit);
    if (!top.length) return [];
    const similarity = new Map(top.map((t) => [t.id, t.similarity]));
    const rows = await db.query<Row>(
      `SELECT k.id, k.document_id, k.title, k.heading, k.body, d.url, d.updated_at, 0 AS rank,
              ARRAY(SELECT unnest(tsvector_to_array(k.tsv)) INTERSECT SELECT unnest($4::text[])) AS matched
         FROM unnest($3::text[]) AS t(id)
         JOIN kb_chunks k ON k.id = t.id
         JOIN kb_documents d ON d.id = k.document_id
        WHERE k.assistant = $1 AND k.access && $2::text[]`,
      [p.assistant, principals, top.map((t) => t.id), lexemes],
    );
    return rows
      .map((r) => ({ ...r, similarity: similarity.get(r.id) ?? 0 }))
      .sort((a, b) => b.similarity - a.similarity || a.id.localeCompare(b.id));
  }
  await ensureVectorTable(db);
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
