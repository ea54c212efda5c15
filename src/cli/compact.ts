/** `parley compact`: the knowledge tables' free space back to the file system (src/knowledge/compact.ts). */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config.ts';
import { compactKnowledge } from '../knowledge/compact.ts';
import { embeddedDbDir } from '../main.ts';
import { withDatabase } from './ingest-target.ts';

function du(dir: string): number {
  if (!existsSync(dir)) return 0;
  let total = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    total += e.isDirectory() ? du(p) : statSync(p).size;
  }
  return total;
}

const mb = (b: number) => `${(b / 1048576).toFixed(1)} MB`;

export async function compactCommand(cfg: Config, opts: { full: boolean }): Promise<void> {
  const dir = cfg.databaseUrl ? null : embeddedDbDir(cfg.dataDir);
  const before = dir ? du(dir) : 0;
  // The embedded database is this process's alone (withDatabase refuses while a server holds it): rewrite it all.
  const full = opts.full || !cfg.databaseUrl;
  if (full && cfg.databaseUrl) process.stderr.write('parley: VACUUM FULL locks each knowledge table (questions wait) while it is rewritten\n');
  // A rewrite of a large table can take longer than a request's statement timeout.
  const report = await withDatabase(cfg, (deps) => compactKnowledge(deps.db, { full }), { timeouts: { statementMs: 6 * 3600_000 } });
  for (const t of report.tables) process.stdout.write(`${t.table}: ${t.action}, ${mb(t.bytesBefore)} → ${mb(t.bytesAfter)}\n`);
  process.stdout.write(`knowledge tables: ${mb(report.bytesBefore)} → ${mb(report.bytesAfter)} in ${report.seconds.toFixed(1)} s`);
  if (dir) process.stdout.write(`; data dir ${mb(before)} → ${mb(du(dir))}\n`);
  else process.stdout.write(full ? '\n' : ' (a plain VACUUM makes the space reusable; --full gives it back to the file system)\n');
}
