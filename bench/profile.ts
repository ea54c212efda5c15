/** Summarises a V8 `.cpuprofile` (from `node --cpu-prof`): self time by function and by package. */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** Where a script lives: `fastify`, `pg`, `parley:src/core/responses.ts`, `node:internal/...`. */
function owner(url: string): string {
  if (!url) return '(native / GC / idle)';
  const nm = url.lastIndexOf('node_modules/');
  if (nm !== -1) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  const src = url.indexOf('/src/');
  if (src !== -1) return `parley:${url.slice(src + 1)}`;
  if (url.startsWith('node:')) return url.split('/').slice(0, 2).join('/');
  return url;
}

/** The top `n` functions by self time, and self time per package, as text lines. */
export function summarizeProfile(file: string, n = 20): string {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((x) => [x.id, x]));
  const self = new Map<number, number>();
  p.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (p.timeDeltas[i] ?? 0)));
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const fnTime = new Map<string, number>();
  const pkgTime = new Map<string, number>();
  let idle = 0;
  for (const [id, t] of self) {
    const cf = byId.get(id)!.callFrame;
    if (cf.functionName === '(idle)') {
      idle += t;
      continue;
    }
    const name = `${cf.functionName || '(anonymous)'} ${owner(cf.url)}${cf.url ? `:${cf.lineNumber + 1}` : ''}`;
    fnTime.set(name, (fnTime.get(name) ?? 0) + t);
    const pkg = cf.functionName.startsWith('(') ? cf.functionName : owner(cf.url);
    pkgTime.set(pkg, (pkgTime.get(pkg) ?? 0) + t);
  }
  const busy = total - idle;
  const pct = (t: number) => `${((100 * t) / busy).toFixed(1).padStart(5)}%`;
  const lines = [`    busy ${(busy / 1e6).toFixed(1)} s of ${(total / 1e6).toFixed(1)} s sampled; self time of busy:`];
  for (const [name, t] of [...pkgTime].sort((a, b) => b[1] - a[1]).slice(0, 12)) lines.push(`    ${pct(t)}  ${name}`);
  lines.push('    top functions:');
  for (const [name, t] of [...fnTime].sort((a, b) => b[1] - a[1]).slice(0, n)) lines.push(`    ${pct(t)}  ${name}`);
  return lines.join('\n');
}
