/**
 * Generated Markdown articles for large-ingest tests and benchmarks (test/server/ingest-freeze.test.ts,
 * bench/ingest-load.ts, bench/space.ts): varied words, so the term statistics have many lexemes, as real documents
 * do; sections every 12 paragraphs; about `bytes` long.
 */
export function generatedArticle(n: number, bytes: number): string {
  const parts: string[] = [`# Article ${n}`, ''];
  let size = 0;
  for (let i = 0; size < bytes; i++) {
    if (i % 12 === 0) parts.push(`## Section ${n}-${i}`, '');
    const words: string[] = [];
    for (let w = 0; w < 40; w++) words.push(`term${(n * 7919 + i * 104729 + w * 31) % 20000}x`);
    const line = `Paragraph ${i} of article ${n}: ${words.join(' ')}.`;
    parts.push(line, '');
    size += line.length + 2;
  }
  return parts.join('\n');
}
