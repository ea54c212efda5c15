import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { EmbeddedWorkerDb } from '../../src/store/embedded.ts';
import { isDatabaseUnavailable } from '../../src/store/db.ts';
import { inBackground, inBulk } from '../../src/store/priority.ts';

/**
 * The embedded database on its worker thread (src/store/embedded.ts), on a real PGlite data dir: the seam behaves as
 * the in-process PGlite did (errors, transactions, LISTEN/NOTIFY), request statements go ahead of queued background
 * ones, and a thread that dies or hangs means clear errors and a restart, not a hung server.
 */
describe('embedded database thread', () => {
  let db: EmbeddedWorkerDb;
  const errors: Error[] = [];
  // Generous until the hang test lowers it (a loaded machine must not make an ordinary statement look stuck).
  const opts = {
    dataDir: join(mkdtempSync(join(tmpdir(), 'parley-embedded-thread-')), 'db'),
    vector: false,
    statementMs: 60_000,
    hangGraceMs: 0,
    // Ordering below is asserted by the scheduler's rules, not by timing: no background statement is promoted.
    backgroundAgingMs: 600_000,
    onError: (err: Error) => errors.push(err),
  };

  before(async () => {
    db = new EmbeddedWorkerDb(opts);
    await db.open();
    await db.query('CREATE TABLE t (id int PRIMARY KEY, note text)');
  });
  after(() => db.close());

  it('maps errors as PGlite did: message, SQLSTATE code, constraint', async () => {
    await db.query('INSERT INTO t VALUES (1, $1)', ['one']);
    await assert.rejects(db.query('INSERT INTO t VALUES (1, $1)', ['again']), (err: Error & { code?: string; constraint?: string }) => {
      assert.equal(err.code, '23505');
      assert.equal(err.constraint, 't_pkey');
      assert.match(err.message, /duplicate key/);
      assert.equal(isDatabaseUnavailable(err), false);
      return true;
    });
    const rows = await db.query<{ id: number; at: Date; j: { a: number[] } }>(`SELECT 1 AS id, now() AS at, '{"a":[1,2]}'::jsonb AS j`);
    assert.equal(rows[0]!.id, 1);
    assert.ok(rows[0]!.at instanceof Date);
    assert.deepEqual(rows[0]!.j, { a: [1, 2] });
  });

  it('a transaction holds the connection until it ends; a throw rolls it back', async () => {
    const order: string[] = [];
    let inside!: () => void;
    const entered = new Promise<void>((r) => (inside = r));
    const tx = db.tx(async (q) => {
      await q.query('INSERT INTO t VALUES (2, $1)', ['two']);
      inside();
      // Give the statement below every chance to overtake: it must still wait for COMMIT.
      await new Promise((r) => setTimeout(r, 50));
      await q.query('UPDATE t SET note = $1 WHERE id = 2', ['two, updated']);
      order.push('tx done');
    });
    await entered;
    const outside = db.query<{ note: string }>('SELECT note FROM t WHERE id = 2').then((rows) => {
      order.push('outside read');
      return rows;
    });
    await tx;
    assert.deepEqual(await outside, [{ note: 'two, updated' }]);
    assert.deepEqual(order, ['tx done', 'outside read']);

    await assert.rejects(
      db.tx(async (q) => {
        await q.query('INSERT INTO t VALUES (3, $1)', ['three']);
        throw new Error('changed my mind');
      }),
      /changed my mind/,
    );
    assert.deepEqual(await db.query('SELECT id FROM t WHERE id = 3'), []);
  });

  it('runs a request statement ahead of background statements queued before it', async () => {
    const done: string[] = [];
    const background = inBackground(() =>
      Array.from({ length: 12 }, (_, i) => db.query('SELECT count(*) FROM generate_series(1, 20000)').then(() => done.push(`bg${i}`))),
    );
    const request = db.query('SELECT 1').then(() => done.push('request'));
    await Promise.all([...background, request]);
    // The first background statement went to the idle thread before the request was issued; the request is next.
    assert.ok(done.indexOf('request') <= 1, `request finished at position ${done.indexOf('request')}: ${done.join(' ')}`);
  });

  it('gives bulk transactions their turn while request statements keep arriving (no starvation of an ingest)', async () => {
    await db.query('CREATE TABLE bulk_t (n int)');
    let bulkDone = false;
    let requests = 0;
    // Two clients issuing request statements back to back: the connection is never idle. Before bulk work had a
    // share of a busy connection, an ingest's slices only ran once aged (here never: aging is set to 10 minutes).
    const LIMIT = 4000;
    const client = async () => {
      while (!bulkDone && requests < LIMIT) {
        await db.query('SELECT count(*) FROM generate_series(1, 2000)');
        requests++;
      }
    };
    const clients = [client(), client()];
    await inBulk(async () => {
      for (let i = 0; i < 5; i++) await db.tx(async (q) => q.query('INSERT INTO bulk_t SELECT generate_series(1, 100)'));
    });
    bulkDone = true;
    const whileBusy = requests;
    await Promise.all(clients);
    assert.ok(whileBusy < LIMIT, `the bulk transactions waited for ${whileBusy} request statements`);
    assert.ok(whileBusy > 0, 'requests ran meanwhile');
    assert.deepEqual(await db.query('SELECT count(*)::int AS n FROM bulk_t'), [{ n: 500 }]);
  });

  it('delivers a NOTIFY before the statement or COMMIT that sent it returns (cached message pages rely on it)', async () => {
    let heard = 0;
    const off = await db.listen('order_check', () => heard++);
    for (let i = 0; i < 20; i++) {
      const plain = heard;
      await db.query(`SELECT pg_notify('order_check', 'x')`);
      assert.equal(heard, plain + 1, 'heard before the statement returned');
      const inTx = heard;
      await db.tx(async (q) => {
        await q.query(`SELECT pg_notify('order_check', 'y')`);
        assert.equal(heard, inTx, 'not before COMMIT');
      });
      assert.equal(heard, inTx + 1, 'heard before COMMIT returned');
    }
    await off();
  });

  it('delivers NOTIFY to listeners, also after the thread died and was started again', async () => {
    const got: string[] = [];
    let reconnects = 0;
    const off = await db.listen('parley_test_ch', (p) => got.push(p), () => reconnects++);
    await db.query(`SELECT pg_notify('parley_test_ch', 'before')`);
    assert.deepEqual(got, ['before']);

    // A crash while a statement is in the thread: that statement fails as "unavailable" (503), not hanging.
    const inFlight = db.query('SELECT count(*) FROM generate_series(1, 3000000)');
    await db.terminateThread();
    await assert.rejects(inFlight, (err) => isDatabaseUnavailable(err));
    // The next statement waits for the restarted thread; the data dir (and what was committed) is still there.
    assert.deepEqual(await db.query('SELECT id FROM t ORDER BY id'), [{ id: 1 }, { id: 2 }]);
    assert.equal(reconnects, 1, 'subscribers were told to catch up');
    assert.equal(db.stats.restarts, 1);
    await db.query(`SELECT pg_notify('parley_test_ch', 'after')`);
    assert.deepEqual(got, ['before', 'after']);
    await off();
  });

  it('takes a statement that outlives the statement timeout for a stuck thread: error, then a fresh thread', async () => {
    opts.statementMs = 2000;
    await assert.rejects(db.query('SELECT pg_sleep(30)'), (err) => isDatabaseUnavailable(err));
    opts.statementMs = 60_000;
    assert.ok(errors.some((e) => /did not answer within/.test(e.message)));
    assert.deepEqual(await db.query('SELECT 1 AS one'), [{ one: 1 }]);
    assert.equal(db.stats.restarts, 2);
  });
});
