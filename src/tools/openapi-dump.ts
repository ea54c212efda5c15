/**
 * Writes the published OpenAPI documents (`/openapi.json` and `/openapi.json?dialect=v1`) to files, from an app
 * built on an in-memory database, so linters and client generators can read them without a running server.
 * `node --import tsx src/tools/openapi-dump.ts OUT_DIR` → OUT_DIR/openapi.beta.json, OUT_DIR/openapi.v1.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { loadConfig } from '../config.ts';
import { createParley } from '../main.ts';
import { openDatabase } from '../store/db.ts';

const out = process.argv[2] ?? '.';
mkdirSync(out, { recursive: true });
const config = loadConfig({ PARLEY_DATA_DIR: join(tmpdir(), 'parley-openapi-dump'), PARLEY_DEMO_DATA: 'false', LOG_LEVEL: 'silent' });
const db = await openDatabase({ dataDir: 'memory://', vector: false });
const parley = await createParley(config, { db, worker: false, logger: pino({ level: 'silent' }), engine: { name: 'none', answer: async function* () {} } });
for (const dialect of ['beta', 'v1'] as const) {
  const res = await parley.app.inject({ method: 'GET', url: `/openapi.json?dialect=${dialect}` });
  writeFileSync(join(out, `openapi.${dialect}.json`), `${JSON.stringify(res.json(), null, 2)}\n`);
}
await parley.close();
await db.close();
