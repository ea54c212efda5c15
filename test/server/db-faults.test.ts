import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { createServer, Socket as NetSocket, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { pino } from 'pino';
import { loadConfig } from '../../src/config.ts';
import { createParley, type Parley } from '../../src/main.ts';
import { openDatabase, type Db } from '../../src/store/db.ts';
import { onPostgres, testDb } from '../support/db.ts';
import { BASE, startTestServer, TEST_SECRET, waitTerminal, type TestServer } from '../support/server.ts';
import { ScriptedEngine } from '../support/scripted-engine.ts';

const url = process.env['TEST_DATABASE_URL'] ?? process.env['DATABASE_URL'] ?? '';
const skip = onPostgres() ? false : 'needs PostgreSQL (TEST_DATABASE_URL)';

/** Terminates every other connection to the test database, as a failover or an operator would. */
async function terminateBackends(): Promise<number> {
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  try {
    const r = await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`);
    return r.rowCount ?? 0;
  } finally {
    await admin.end();
  }
}

/**
 * A TCP proxy in front of PostgreSQL on a loopback port, to make the database unreachable (connections refused,
 * open ones cut) or frozen (connections accepted, nothing forwarded) on demand.
 */
class DbProxy {
  mode: 'pass' | 'down' | 'frozen' = 'pass';
  private readonly sockets = new Set<Socket>();
  private server!: Server;
  port = 0;

  async start(): Promise<void> {
    const target = new URL(url);
    this.server = createServer((client) => {
      if (this.mode === 'down') return void client.destroy();
      this.sockets.add(client);
      client.on('close', () => this.sockets.delete(client));
      client.on('error', () => undefined);
      if (this.mode === 'frozen') return;
      const upstream = new NetSocket();
      upstream.on('error', () => client.destroy());
      client.on('error', () => upstream.destroy());
      upstream.connect(Number(target.port || 5432), target.hostname, () => {
        client.pipe(upstream);
        upstream.pipe(client);
      });
      this.sockets.add(upstream);
      upstream.on('close', () => {
        this.sockets.delete(upstream);
        client.destroy();
      });
      client.on('close', () => upstream.destroy());
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
  }

  url(): string {
    const u = new URL(url);
    u.hostname = '127.0.0.1';
    u.port = String(this.port);
    return u.toString();
  }

  /** Cuts every open connection; new ones are refused while down. */
  down(): void {
    this.mode = 'down';
    for (const s of this.sockets) s.destroy();
  }

  /** Open connections stop carrying anything; new ones are accepted and then hang. */
  freeze(): void {
    this.mode = 'frozen';
    for (const s of this.sockets) s.pause();
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

describe('a dropped or unreachable PostgreSQL', { skip }, () => {
  it('survives pg_terminate_backend on all its connections: in-flight answer completes, later requests succeed', async () => {
    const s: TestServer = await startTestServer();
    try {
      const t = await s.token();
      const conv = (await s.parley.app.inject({ method: 'POST', url: `${BASE}/conversations`, headers: s.headers(t), payload: {} })).json().conversation_id;
      // Four pauses of 400 ms: the connections are terminated while it is being answered.
      const r = await s.parley.app.inject({ method: 'POST', url: `${BASE}/conversations/${conv}/responses`, headers: s.headers(t), payload: { input: { text: 'slow:400' } } });
      const id = r.json().response_id as string;
      const db = await testDb();
      for (let i = 0; i < 200; i++) {
        const [row] = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM response_events WHERE response_id = $1 AND event_type = 'RESPONSE_OUTPUT_DELTA'`, [id]);
        if (row!.n > 0) break;
        await new Promise((res) => setTimeout(res, 25));
      }
      // A transaction open across the drop: its checked-out client hears the termination as an 'error' event,
      // which used to have no listener and ended the process. Now the transaction is run again on a new connection.
      let runs = 0;
      let release!: () => void;
      const gate = new Promise<void>((res) => (release = res));
      const held = db.tx(
        async (q) => {
          runs++;
          await q.query('SELECT 1');
          if (runs === 1) await gate;
          return (await q.query<{ ok: number }>('SELECT 1 AS ok'))[0]!.ok;
        },
        { retry: true },
      );
      while (runs === 0) await new Promise((res) => setTimeout(res, 10));
      const killed = await terminateBackends();
      assert.ok(killed > 0, 'connections were terminated');
      await new Promise((res) => setTimeout(res, 300));
      release();
      assert.equal(await held, 1);
      assert.equal(runs, 2, 'the transaction ran again after its connection was lost');

      const done = await waitTerminal(s, t, conv, id, 60_000);
      assert.equal(done['status'], 'COMPLETED', JSON.stringify(done['error']));
      // Later requests, writes included, succeed on fresh connections.
      const again = await s.parley.app.inject({ method: 'POST', url: `${BASE}/conversations/${conv}/responses`, headers: s.headers(t), payload: { input: { text: 'after the drop' } } });
      assert.equal(again.statusCode, 202);
      assert.equal((await waitTerminal(s, t, conv, again.json().response_id, 30_000))['status'], 'COMPLETED');
      assert.equal((await s.parley.app.inject({ method: 'GET', url: '/readyz' })).statusCode, 200);

      // A second round with nothing in flight: the listener and the idle pool are cut again, and notifications
      // (which wake the worker at once) work again after the listener reconnects.
      await terminateBackends();
      const third = await s.parley.app.inject({ method: 'POST', url: `${BASE}/conversations/${conv}/responses`, headers: s.headers(t), payload: { input: { text: 'third' } } });
      assert.ok([202, 503].includes(third.statusCode), `status ${third.statusCode}`);
      if (third.statusCode === 202) assert.equal((await waitTerminal(s, t, conv, third.json().response_id, 30_000))['status'], 'COMPLETED');
    } finally {
      await s.close();
    }
  });

  describe('behind a proxy that goes down or freezes', () => {
    let proxy: DbProxy;
    let db: Db;
    let parley: Parley;
    let token: string;
    before(async () => {
      proxy = new DbProxy();
      await proxy.start();
      db = await openDatabase({ url: proxy.url(), poolSize: 4, timeouts: { connectMs: 1000, statementMs: 1500, idleInTransactionMs: 5000 } });
      const config = loadConfig({
        PARLEY_DATA_DIR: mkdtempSync(join(tmpdir(), 'parley-test-')),
        PARLEY_DEMO_DATA: 'false',
        PARLEY_JWT_SECRET: TEST_SECRET,
        LOG_LEVEL: 'silent',
      });
      parley = await createParley(config, { db, migrated: true, engine: new ScriptedEngine(), logger: pino({ level: 'silent' }), worker: false });
      await parley.app.ready();
      const { signUserToken } = await import('../../src/core/tokens.ts');
      token = await signUserToken({ hsKey: new TextEncoder().encode(TEST_SECRET), issuer: 'parley', audience: 'parley' }, { sub: 'faults-user', groups: [] }, 600);
    });
    after(async () => {
      proxy.mode = 'pass';
      await parley.close().catch(() => undefined);
      await db.close().catch(() => undefined);
      await proxy.close();
    });
    const headers = () => ({ authorization: `Bearer ${token}`, 'assistant-name': 'acmecorp-conversations-rest-api' });

    it('answers 503 SERVICE_UNAVAILABLE in the envelope while the database is down, /readyz fails, then recovers', async () => {
      assert.equal((await parley.app.inject({ method: 'GET', url: `${BASE}/conversations`, headers: headers() })).statusCode, 200);
      proxy.down();
      const list = await parley.app.inject({ method: 'GET', url: `${BASE}/conversations`, headers: headers() });
      assert.equal(list.statusCode, 503);
      assert.equal(list.json().error.code, 'SERVICE_UNAVAILABLE');
      assert.equal(list.headers['retry-after'], '2');
      const create = await parley.app.inject({ method: 'POST', url: `${BASE}/conversations`, headers: headers(), payload: {} });
      assert.equal(create.statusCode, 503);
      assert.equal(create.json().error.code, 'SERVICE_UNAVAILABLE');
      const ready = await parley.app.inject({ method: 'GET', url: '/readyz' });
      assert.equal(ready.statusCode, 503);
      assert.equal((await parley.app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200, 'the process is up');
      proxy.mode = 'pass';
      assert.equal((await parley.app.inject({ method: 'GET', url: '/readyz' })).statusCode, 200);
      assert.equal((await parley.app.inject({ method: 'GET', url: `${BASE}/conversations`, headers: headers() })).statusCode, 200);
    });

    it('answers 503 within the timeouts, not never, while the database is frozen', async () => {
      proxy.freeze();
      const started = Date.now();
      const ready = await parley.app.inject({ method: 'GET', url: '/readyz' });
      assert.equal(ready.statusCode, 503);
      const list = await parley.app.inject({ method: 'GET', url: `${BASE}/conversations`, headers: headers() });
      assert.equal(list.statusCode, 503);
      assert.equal(list.json().error.code, 'SERVICE_UNAVAILABLE');
      assert.ok(Date.now() - started < 20_000, `took ${Date.now() - started} ms`);
      proxy.down();
      proxy.mode = 'pass';
      assert.equal((await parley.app.inject({ method: 'GET', url: '/readyz' })).statusCode, 200);
    });
  });
});
