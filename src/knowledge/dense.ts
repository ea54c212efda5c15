/**
 * Dense retrieval without pgvector (docs/decisions/dense-retrieval-without-pgvector.md).
 *
 * Passage vectors are stored unit-length as float32 in a plain `bytea` column (`kb_chunk_embeddings`, any
 * PostgreSQL, PGlite too). Each process keeps them in one packed float32 block per (assistant, model) and scans
 * them exactly (WebAssembly SIMD, dense-scan.ts): the asker's access filter is applied to every row BEFORE its similarity is computed, so a passage
 * the asker may not see is never ranked at all; the top k by cosine are then re-read from `kb_chunks` with the
 * same access filter in SQL.
 *
 * The cache follows the database: every search reads `kb_state.version` (bumped by any ingest that changes
 * passages) and `kb_vector_state.generation` (bumped whenever vectors are added); when either moved, the cache
 * reloads incrementally: when rows were only added or replaced, it reads just those (rows past its newest `seq`,
 * checked against the row count); otherwise the list of rows with their `seq` and access list, then only the
 * vectors it lacks. So other nodes' ingests are noticed on their next search. Memory: 4 × dims bytes per passage
 * (768 dims: 3 KiB; 50 000 passages: ≈ 150 MiB), up to 25% more once rows were added incrementally (room for
 * more), plus the ids.
 */
import type { Db, Queryable } from '../store/db.ts';
import { VectorBlock } from './dense-scan.ts';

/** Rows whose vectors are read per query while (re)loading the cache. */
const LOAD_BATCH = 1000;

export interface DenseMatch {
  id: string;
  similarity: number;
}

/** Unit-length float32 copy of `v`; null for a zero or non-finite vector. */
export function normalized(v: readonly number[]): Float32Array | null {
  let s = 0;
  for (const x of v) {
    if (!Number.isFinite(x)) return null;
    s += x * x;
  }
  if (!(s > 0)) return null;
  const n = Math.sqrt(s);
  const out = new Float32Array(v.length);
  for (let i = 0; i < v.length; i++) out[i] = v[i]! / n;
  return out;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** float32 little-endian bytes, as stored. */
export function vectorBytes(v: Float32Array): Buffer {
  const b = Buffer.alloc(v.length * 4);
  for (let i = 0; i < v.length; i++) b.writeFloatLE(v[i]!, i * 4);
  return b;
}

function readVector(bytes: Uint8Array, dims: number, into: Float32Array, at: number): boolean {
  // Rows are read straight into the scan's memory (padding after `dims` stays zero).
  if (bytes.byteLength !== dims * 4) return false;
  if (LITTLE_ENDIAN) {
    into.set(new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)), at);
  } else {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let i = 0; i < dims; i++) into[at + i] = view.getFloat32(i * 4, true);
  }
  return true;
}

/** Stores vectors (already validated) for passages that still exist, and bumps the generation so caches reload. */
export async function writePlainVectors(q: Queryable, assistant: string, model: string, rows: { id: string; vector: Float32Array }[]): Promise<void> {
  if (!rows.length) return;
  // One statement per batch; the vectors travel as hex text (decoded by the server), which both drivers pass as-is.
  await q.query(
    `INSERT INTO kb_chunk_embeddings (chunk_id, assistant, model, dims, embedding)
     SELECT k.id, $2, $3, t.dims, decode(t.hex, 'hex')
       FROM unnest($1::text[], $4::int[], $5::text[]) AS t(id, dims, hex)
       JOIN kb_chunks k ON k.id = t.id AND k.assistant = $2
     ON CONFLICT (chunk_id) DO UPDATE SET model = EXCLUDED.model, dims = EXCLUDED.dims, embedding = EXCLUDED.embedding,
                                         seq = nextval('kb_chunk_embeddings_seq')`,
    [rows.map((r) => r.id), assistant, model, rows.map((r) => r.vector.length), rows.map((r) => vectorBytes(r.vector).toString('hex'))],
  );
  await q.query(
    `INSERT INTO kb_vector_state (assistant, model, generation) VALUES ($1, $2, 1)
     ON CONFLICT (assistant, model) DO UPDATE SET generation = kb_vector_state.generation + 1`,
    [assistant, model],
  );
}

/** One (assistant, model)'s vectors, packed: row i's vector is `block.vectors[i*stride … i*stride+dims)`. */
interface Slab {
  dims: number;
  ids: string[];
  seqs: number[];
  /** Index into `lists` of each row's access list. */
  access: Int32Array;
  lists: string[][];
  block: VectorBlock;
}

const EMPTY: Slab = { dims: 0, ids: [], seqs: [], access: new Int32Array(0), lists: [], block: new VectorBlock(0, 4) };

interface Entry {
  key: string;
  slab: Slab;
  loading: Promise<Slab> | null;
  loadingKey: string;
}

/** The in-process cache of one database handle. */
export class PlainVectorIndex {
  readonly #entries = new Map<string, Entry>();

  constructor(private readonly db: Db) {}

  /** Bytes held by the packed vectors (for the docs and the bench). */
  get bytes(): number {
    let n = 0;
    for (const e of this.#entries.values()) n += e.slab.block.bytes;
    return n;
  }

  /**
   * The `limit` passages the principals may see that are most similar to `query` (unit length), best first.
   * Rows outside the access filter are skipped before any similarity is computed.
   */
  async search(assistant: string, model: string, principals: readonly string[], query: Float32Array, limit: number): Promise<DenseMatch[]> {
    const slab = await this.#current(assistant, model);
    if (!slab.ids.length || slab.dims !== query.length) return [];
    return scan(slab, new Set(principals), query, limit);
  }

  async #current(assistant: string, model: string): Promise<Slab> {
    const name = `${assistant}\u0000${model}`;
    const [state] = await this.db.query<{ v: number | string; g: number | string }>(
      `SELECT coalesce((SELECT version FROM kb_state WHERE assistant = $1), 0) AS v,
              coalesce((SELECT generation FROM kb_vector_state WHERE assistant = $1 AND model = $2), 0) AS g`,
      [assistant, model],
    );
    const key = `${state?.v ?? 0}:${state?.g ?? 0}`;
    let entry = this.#entries.get(name);
    if (!entry) {
      entry = { key: '', slab: EMPTY, loading: null, loadingKey: '' };
      this.#entries.set(name, entry);
    }
    if (entry.key === key) return entry.slab;
    if (entry.loading && entry.loadingKey === key) return entry.loading;
    const e = entry;
    // One load at a time per entry: a load may write into the spare room of the current block, so the next one
    // starts from the slab the previous one left.
    const previous = e.loading ? e.loading.catch(() => undefined) : Promise.resolve();
    const p: Promise<Slab> = previous.then(() => load(this.db, assistant, model, e.slab)).then(
      (slab) => {
        e.slab = slab;
        e.key = key;
        if (e.loading === p) e.loading = null;
        return slab;
      },
      (err: unknown) => {
        if (e.loading === p) e.loading = null;
        throw err;
      },
    );
    e.loading = p;
    e.loadingKey = key;
    return p;
  }
}

/** Rows past the cache's newest `seq` read in one incremental step; more, and the full path is cheaper. */
const INCREMENTAL_MAX = 5000;

async function load(db: Db, assistant: string, model: string, old: Slab): Promise<Slab> {
  return (old.ids.length ? await loadNewRows(db, assistant, model, old) : null) ?? (await loadAll(db, assistant, model, old));
}

/**
 * The common case after an ingest elsewhere: rows were only added or replaced (a replaced row gets a new `seq`).
 * Reads the rows past the newest `seq` held and the row count; when the count shows nothing else changed (no
 * removal, no row committed late with a lower `seq`), applies them; otherwise returns null for the full path.
 */
async function loadNewRows(db: Db, assistant: string, model: string, old: Slab): Promise<Slab | null> {
  const maxSeq = old.seqs.reduce((m, x) => Math.max(m, x), 0);
  const [count] = await db.query<{ n: number | string }>('SELECT count(*) AS n FROM kb_chunk_embeddings WHERE assistant = $1 AND model = $2', [assistant, model]);
  const fresh = await db.query<{ chunk_id: string; seq: number | string; dims: number; access: string[]; embedding: Uint8Array }>(
    `SELECT e.chunk_id, e.seq, e.dims, k.access, e.embedding
       FROM kb_chunk_embeddings e JOIN kb_chunks k ON k.id = e.chunk_id
      WHERE e.assistant = $1 AND e.model = $2 AND e.seq > $3
      ORDER BY e.seq LIMIT $4`,
    [assistant, model, maxSeq, INCREMENTAL_MAX + 1],
  );
  if (fresh.length > INCREMENTAL_MAX || fresh.some((r) => r.dims !== old.dims || r.embedding.byteLength !== old.dims * 4)) return null;
  const at = new Map(old.ids.map((id, i) => [id, i]));
  const added = fresh.filter((r) => !at.has(r.chunk_id));
  if (Number(count?.n ?? 0) !== old.ids.length + added.length) return null;

  // From here on synchronous: no search sees a half-applied slab.
  const dims = old.dims;
  const n = old.ids.length + added.length;
  // New rows go into the block's spare room when it has some (no copy); else a block with 25% to spare.
  const block = n <= old.block.rows ? old.block : new VectorBlock(Math.ceil(n * 1.25), dims);
  if (block !== old.block) block.vectors.set(old.block.vectors.subarray(0, old.ids.length * old.block.stride));
  const ids = [...old.ids];
  const seqs = [...old.seqs];
  const access = new Int32Array(n);
  access.set(old.access);
  const lists = [...old.lists];
  const listIndex = new Map(lists.map((l, i) => [JSON.stringify(l), i]));
  for (const r of fresh) {
    let i = at.get(r.chunk_id);
    if (i === undefined) {
      i = ids.length;
      ids.push(r.chunk_id);
      seqs.push(0);
      at.set(r.chunk_id, i);
    }
    readVector(r.embedding, dims, block.vectors, i * block.stride); // sizes checked above
    seqs[i] = Number(r.seq);
    access[i] = internList(lists, listIndex, r.access);
  }
  return { dims, ids, seqs, access, lists, block };
}

/** The index of `list` in `lists` (added once): rows share their access lists by index. */
function internList(lists: string[][], index: Map<string, number>, list: string[]): number {
  const key = JSON.stringify(list);
  let at = index.get(key);
  if (at === undefined) {
    at = lists.length;
    lists.push(list);
    index.set(key, at);
  }
  return at;
}

/** Reads the row list, then only the vectors `old` does not already hold (same chunk, same seq). */
async function loadAll(db: Db, assistant: string, model: string, old: Slab): Promise<Slab> {
  const rows = await db.query<{ chunk_id: string; seq: number | string; dims: number; access: string[] }>(
    `SELECT e.chunk_id, e.seq, e.dims, k.access
       FROM kb_chunk_embeddings e JOIN kb_chunks k ON k.id = e.chunk_id
      WHERE e.assistant = $1 AND e.model = $2
      ORDER BY e.seq`,
    [assistant, model],
  );
  if (!rows.length) return EMPTY;
  // One model name, one size: the newest rows decide (a model swapped under the same name replaces its rows).
  const dims = rows[rows.length - 1]!.dims;
  const kept = rows.filter((r) => r.dims === dims);
  const oldAt = new Map<string, number>();
  if (old.dims === dims) old.ids.forEach((id, i) => oldAt.set(`${id}\u0000${old.seqs[i]}`, i));

  const block = new VectorBlock(kept.length, dims);
  const { stride, vectors } = block;
  const ids: string[] = new Array(kept.length);
  const seqs: number[] = new Array(kept.length);
  const access = new Int32Array(kept.length);
  const listIndex = new Map<string, number>();
  const lists: string[][] = [];
  const missing = new Map<number, number>();
  kept.forEach((r, i) => {
    const seq = Number(r.seq);
    ids[i] = r.chunk_id;
    seqs[i] = seq;
    access[i] = internList(lists, listIndex, r.access);
    const at = oldAt.get(`${r.chunk_id}\u0000${seq}`);
    if (at !== undefined) vectors.set(old.block.vectors.subarray(at * stride, (at + 1) * stride), i * stride);
    else missing.set(seq, i);
  });

  const valid = new Uint8Array(kept.length).fill(1);
  const want = [...missing.keys()];
  for (let b = 0; b < want.length; b += LOAD_BATCH) {
    const part = want.slice(b, b + LOAD_BATCH);
    const got = await db.query<{ seq: number | string; embedding: Uint8Array }>(
      'SELECT seq, embedding FROM kb_chunk_embeddings WHERE assistant = $1 AND model = $2 AND seq = ANY($3::bigint[])',
      [assistant, model, part],
    );
    const seen = new Set<number>();
    for (const g of got) {
      const i = missing.get(Number(g.seq));
      if (i === undefined) continue;
      seen.add(Number(g.seq));
      if (!readVector(g.embedding, dims, vectors, i * stride)) valid[i] = 0;
    }
    // Replaced between the two reads: left out now, picked up with the next generation.
    for (const s of part) if (!seen.has(s)) valid[missing.get(s)!] = 0;
  }
  if (valid.every((x) => x === 1)) return { dims, ids, seqs, access, lists, block };
  const keep: number[] = [];
  valid.forEach((x, i) => x && keep.push(i));
  const packed = new VectorBlock(keep.length, dims);
  keep.forEach((i, j) => packed.vectors.set(vectors.subarray(i * stride, (i + 1) * stride), j * stride));
  return {
    dims,
    ids: keep.map((i) => ids[i]!),
    seqs: keep.map((i) => seqs[i]!),
    access: Int32Array.from(keep.map((i) => access[i]!)),
    lists,
    block: packed,
  };
}

/**
 * Exact top-k by dot product (cosine: both sides are unit length) over the rows the principals may see: the mask
 * is set from the access lists first, and the scan (dense-scan.ts) reads only masked rows.
 */
function scan(slab: Slab, principals: ReadonlySet<string>, q: Float32Array, limit: number): DenseMatch[] {
  const visible = new Uint8Array(slab.lists.length);
  slab.lists.forEach((list, i) => {
    if (list.some((p) => principals.has(p))) visible[i] = 1;
  });
  const { block, access } = slab;
  const n = slab.ids.length;
  const mask = block.mask;
  let any = false;
  for (let i = 0; i < n; i++) {
    const m = visible[access[i]!]!;
    mask[i] = m;
    if (m) any = true;
  }
  if (!any) return [];
  // Synchronous from here to the end: no other search can reuse the block's query and score memory meanwhile.
  const scores = block.score(q, n);
  const k = Math.max(1, limit);
  const topScore = new Float64Array(k).fill(-Infinity);
  const topRow = new Int32Array(k).fill(-1);
  let floor = -Infinity;
  for (let i = 0; i < n; i++) {
    if (mask[i] !== 1) continue;
    const s = scores[i]!;
    if (s <= floor) continue;
    // Insert into the sorted top list (k is small).
    let j = k - 1;
    while (j > 0 && topScore[j - 1]! < s) {
      topScore[j] = topScore[j - 1]!;
      topRow[j] = topRow[j - 1]!;
      j--;
    }
    topScore[j] = s;
    topRow[j] = i;
    floor = topScore[k - 1]!;
  }
  const out: DenseMatch[] = [];
  for (let j = 0; j < k; j++) if (topRow[j]! >= 0) out.push({ id: slab.ids[topRow[j]!]!, similarity: topScore[j]! });
  return out;
}

const indexes = new WeakMap<Db, PlainVectorIndex>();

/** The process's cache for this database handle (shared by every knowledge layer built on it). */
export function plainIndexFor(db: Db): PlainVectorIndex {
  let index = indexes.get(db);
  if (!index) {
    index = new PlainVectorIndex(db);
    indexes.set(db, index);
  }
  return index;
}
