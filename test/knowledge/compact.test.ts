import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compactKnowledge } from '../../src/knowledge/compact.ts';
import { applyIngest } from '../../src/knowledge/ingest.ts';
import { createKnowledge } from '../../src/knowledge/knowledge.ts';
import type { SourceDocument } from '../../src/knowledge/sources.ts';
import { onPostgres, testDb, uniq } from '../support/db.ts';

async function vacuumCount(): Promise<number> {
  const db = await testDb();
  const [row] = await db.query<{ n: string }>(`SELECT vacuum_count AS n FROM pg_stat_user_tables WHERE relname = 'kb_chunks'`);
  return Number(row?.n ?? 0);
}

/** Bytes of a knowledge table with its TOAST and indexes. */
async function bytes(table: string): Promise<number> {
  const db = await testDb();
  const [row] = await db.query<{ n: string }>('SELECT pg_total_relation_size($1::regclass) AS n', [table]);
  return Number(row?.n ?? 0);
}

/** Documents of a few KB each, in words of their own (`w<doc>x<i>`), so passages and term statistics take room. */
function documents(tag: string, n: number): SourceDocument[] {
  return Array.from({ length: n }, (_, i) => ({
    path: `d${i}.md`, format: 'markdown' as const, title: `${tag} document ${i}`, url: `https://kb.example.test/${tag}/${i}`, updatedAt: null, access: ['*'],
    body: Array.from({ length: 6 }, (_, s) => `## Part ${s}\n\n` + Array.from({ length: 60 }, (_, w) => `w${i}x${s * 60 + w}${tag}`).join(' ') + '.').join('\n\n'),
  }));
}

/** The term statistics of an assistant recomputed from its passages, as `lexeme df` lines. */
async function recomputedTerms(assistant: string): Promise<string[]> {
  const db = await testDb();
  const rows = await db.query<{ word: string; ndoc: number }>(
    `SELECT word, ndoc FROM ts_stat(format('SELECT tsv FROM kb_chunks WHERE assistant = %L', $1::text)) ORDER BY word`, [assistant]);
  return rows.map((r) => `${r.word} ${r.ndoc}`);
}

async function storedTerms(assistant: string): Promise<string[]> {
  const db = await testDb();
  const rows = await db.query<{ lexeme: string; df: number }>('SELECT lexeme, sum(df)::int AS df FROM kb_terms WHERE assistant = $1 GROUP BY lexeme ORDER BY lexeme', [assistant]);
  return rows.map((r) => `${r.lexeme} ${r.df}`);
}

/** What stays must still be found, by its own words, with its statistics exactly those of the passages left. */
async function assertIntact(assistant: string, kept: SourceDocument[]): Promise<void> {
  const db = await testDb();
  const [docs] = await db.query<{ n: string }>('SELECT count(*) AS n FROM kb_documents WHERE assistant = $1', [assistant]);
  assert.equal(Number(docs?.n), kept.length);
  const [chunks] = await db.query<{ n: string }>('SELECT count(*) AS n FROM kb_chunks WHERE assistant = $1', [assistant]);
  assert.equal(Number(chunks?.n), kept.length * 6, 'six passages per remaining document');
  assert.deepEqual(await storedTerms(assistant), await recomputedTerms(assistant));
  const knowledge = createKnowledge(db);
  for (const d of [kept[0]!, kept.at(-1)!]) {
    const word = d.body.split(/\s+/)[7]!;
    const hits = await knowledge.search(assistant, ['*'], word);
    assert.equal(hits[0]?.url, d.url, `“${word}” still finds ${d.url}`);
  }
}

describe('space after large removals', () => {
  it('compacts after a prune that removed many documents: the embedded database shrinks, PostgreSQL vacuums; what stays is intact', async () => {
    const db = await testDb();
    const assistant = uniq('assistant');
    const root = `/compact/${uniq('src')}`;
    const docs = documents('a', 240);
    const other = documents('b', 5);
    await applyIngest(db, { assistant, root: `${root}-other`, prune: false, documents: other, people: [] });
    const empty = { chunks: await bytes('kb_chunks'), terms: await bytes('kb_terms') };
    await applyIngest(db, { assistant, root, prune: false, documents: docs, people: [] });
    const full = { chunks: await bytes('kb_chunks'), terms: await bytes('kb_terms') };
    assert.ok(full.chunks - empty.chunks > 1_000_000, `the ingest took room (kb_chunks ${empty.chunks} → ${full.chunks})`);
    const vacuumsBefore = await vacuumCount();
    const kept = docs.slice(-10); // the last rows stay, so the heap cannot simply be cut at its end
    const pruned = await applyIngest(db, { assistant, root, prune: true, force: true, documents: kept, people: [] });
    assert.equal(pruned.removed, 230);
    await assertIntact(assistant, [...other, ...kept]);
    if (onPostgres()) {
      // Plain VACUUM: the space is reusable, not returned. Statistics views are flushed shortly after, not at once.
      let after = await vacuumCount();
      for (let i = 0; i < 50 && after === vacuumsBefore; i++) {
        await new Promise((r) => setTimeout(r, 200));
        after = await vacuumCount();
      }
      assert.ok(after > vacuumsBefore, `kb_chunks vacuumed (vacuum_count ${vacuumsBefore} → ${after})`);
    } else {
      const now = { chunks: await bytes('kb_chunks'), terms: await bytes('kb_terms') };
      // Kept: 15 of 245 documents. The tables give back at least most of what the removed documents took.
      assert.ok(now.chunks - empty.chunks < (full.chunks - empty.chunks) * 0.25, `kb_chunks shrank: ${empty.chunks} → ${full.chunks} → ${now.chunks}`);
      assert.ok(now.terms - empty.terms < (full.terms - empty.terms) * 0.25, `kb_terms shrank: ${empty.terms} → ${full.terms} → ${now.terms}`);
    }
  });

  it('a full compaction (parley compact) returns the space of a smaller removal on both databases, keeping the rest', async () => {
    const db = await testDb();
    const assistant = uniq('assistant');
    const root = `/compact/${uniq('src')}`;
    const docs = documents('c', 180);
    const before = await bytes('kb_chunks');
    await applyIngest(db, { assistant, root, prune: false, documents: docs, people: [] });
    const grown = await bytes('kb_chunks');
    const kept = docs.slice(-30);
    // 150 removed: below the automatic step's threshold, so the space stays taken until compacted.
    const pruned = await applyIngest(db, { assistant, root, prune: true, force: true, documents: kept, people: [] });
    assert.equal(pruned.removed, 150);
    const removed = await bytes('kb_chunks');
    assert.ok(removed > grown * 0.9, `nothing given back yet (${grown} → ${removed})`);
    const report = await compactKnowledge(db, { full: true });
    assert.ok(report.tables.every((t) => t.action === 'rewritten'), JSON.stringify(report.tables));
    const after = await bytes('kb_chunks');
    assert.ok(after - before < (grown - before) * 0.4, `kb_chunks shrank: ${before} → ${grown} → ${after}`);
    assert.equal(report.tables.find((t) => t.table === 'kb_chunks')?.bytesAfter, after);
    await assertIntact(assistant, kept);
  });
});
