import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { existsSync } from 'node:fs';
import { DEMO_DIR, loadDemoData } from '../../src/knowledge/demo.ts';
import { testDb, uniq } from '../support/db.ts';

describe('loadDemoData', () => {
  it('resolves the demo folder from the module, not the working directory', () => {
    assert.ok(DEMO_DIR.endsWith('/demo/'));
    assert.ok(!DEMO_DIR.startsWith(process.cwd() + '/src'), DEMO_DIR);
  });

  it('loads the demo once, into an assistant without documents', async (t) => {
    if (!existsSync(DEMO_DIR + 'knowledge')) {
      t.skip('no demo/knowledge in this checkout');
      return;
    }
    const db = await testDb();
    const assistant = uniq('demo');
    const first = await loadDemoData(db, assistant);
    assert.ok(first && first.added > 10, `loaded ${first?.added} documents`);
    assert.ok(first.people > 10);
    assert.deepEqual(first.errors, []);
    assert.equal(await loadDemoData(db, assistant), null, 'a second call does nothing');
  });

  it('does nothing when the folder is missing', async () => {
    const db = await testDb();
    assert.equal(await loadDemoData(db, uniq('demo'), { dir: '/nonexistent/demo' }), null);
  });
});
