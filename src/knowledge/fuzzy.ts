/** Name matching done in TypeScript (pg_trgm is not available on every database we run on). */

const FOLD: Record<string, string> = { ß: 'ss', æ: 'ae', œ: 'oe', ø: 'o', ł: 'l', đ: 'd', ð: 'd', þ: 'th', ı: 'i' };

/** Lower-cases, strips accents and punctuation: "Zoë O'Brien-Łukasz" → "zoe obrien lukasz". */
export function normalizeName(s: string): string {
  return s
    .toLowerCase()
    .normalize('NFD')
    .replace(/\p{M}/gu, '')
    .replace(/[ßæœøłđðþı]/g, (c) => FOLD[c] ?? c)
    .replace(/['’`]/g, '')
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();
}

export function nameTokens(s: string): string[] {
  const n = normalizeName(s);
  return n ? n.split(' ') : [];
}

/** Optimal-string-alignment distance (Levenshtein plus adjacent transpositions), stopping early past `max`. */
export function editDistance(a: string, b: string, max = 3): number {
  if (a === b) return 0;
  if (Math.abs(a.length - b.length) > max) return max + 1;
  const rows: number[][] = [];
  for (let i = 0; i <= a.length; i++) {
    const row = new Array<number>(b.length + 1);
    row[0] = i;
    rows.push(row);
  }
  for (let j = 0; j <= b.length; j++) rows[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    let best = Infinity;
    const row = rows[i]!;
    const prev = rows[i - 1]!;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, rows[i - 2]![j - 2]! + 1);
      row[j] = v;
      if (v < best) best = v;
    }
    if (best > max) return max + 1;
  }
  return rows[a.length]![b.length]!;
}

/** How well one typed token matches one name token: 1 exact, less for prefixes and typos, 0 for no match. */
export function tokenSimilarity(typed: string, name: string): number {
  if (typed === name) return 1;
  if (typed.length >= 3 && name.startsWith(typed)) return 0.8 - Math.min(0.15, (name.length - typed.length) * 0.02);
  if (typed.length >= 4) {
    const d = editDistance(typed, name, 2);
    if (d === 1) return 0.85;
    if (d === 2 && typed.length >= 7 && name.length >= 7) return 0.7;
  }
  return 0;
}

/**
 * Scores a typed name against a full name: every typed token must match a distinct name token. 1 = the exact full
 * name; a first or last name alone scores about 0.9; prefixes and typos less.
 */
export function scoreName(typed: readonly string[], name: readonly string[]): number {
  if (!typed.length || !name.length) return 0;
  const used = new Set<number>();
  let sum = 0;
  for (const t of typed) {
    let best = 0;
    let at = -1;
    name.forEach((n, i) => {
      if (used.has(i)) return;
      const s = tokenSimilarity(t, n);
      if (s > best) {
        best = s;
        at = i;
      }
    });
    if (at < 0) return 0;
    used.add(at);
    sum += best;
  }
  const quality = sum / typed.length;
  const completeness = used.size / name.length;
  return quality * (0.8 + 0.2 * completeness);
}
