// The one entry point `npm run test:browser` runs (Debian's chromium through playwright-core).
import { after } from 'node:test';
import { closeTestDb } from '../support/db.ts';
import './chat.test.ts';
import './oidc.test.ts';

after(async () => {
  await closeTestDb();
});
