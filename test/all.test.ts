// The one entry point `npm test` runs: Node 20's test runner neither expands globs nor runs .ts files from a
// directory, so every suite is imported here. Each folder's index.ts imports that folder's files.
import { after } from 'node:test';
import { closeTestDb } from './support/db.ts';
import './server/index.ts';
import './knowledge/index.ts';
import './assistant/index.ts';
import './llm/index.ts';
import './tools/index.ts';
import './client/index.ts';
import './web/index.ts';

after(async () => {
  await closeTestDb();
});
