/**
 * A Parley process started with an IPC channel (by a harness or a supervisor) stops when its parent is killed
 * outright, so no orphan keeps serving or answering (src/main.ts, stopWithParent).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';

const BIN = fileURLToPath(new URL('../../bin/parley.mjs', import.meta.url));

/** True while a process with this pid exists. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('a child Parley process whose parent dies', () => {
  it('stops when its parent is killed with SIGKILL, and not before', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'parley-parent-'));
    // The parent: starts `parley serve` with an IPC channel, prints the child's pid once it listens, then waits.
    const parentScript = `
      const { spawn } = require('node:child_process');
      const child = spawn(process.execPath, [${JSON.stringify(BIN)}, 'serve'], {
        env: { ...process.env, PORT: '0', HOST: '127.0.0.1', PARLEY_DATA_DIR: ${JSON.stringify(join(dir, 'data'))},
               PARLEY_DEMO_DATA: 'false', PARLEY_DEMO_PLUGINS: 'false', LOG_LEVEL: 'info', DATABASE_URL: '' },
        stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
      });
      let out = '';
      child.stdout.on('data', (c) => {
        out += c;
        if (/"address":"http/.test(out)) { process.stdout.write('CHILD ' + child.pid + '\\n'); out = ''; }
      });
      setInterval(() => {}, 1000);
    `;
    const parent = spawn(process.execPath, ['-e', parentScript], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const childPid = await new Promise<number>((resolve, reject) => {
        let text = '';
        parent.stdout!.on('data', (c: Buffer) => {
          text += c.toString();
          const m = /CHILD (\d+)/.exec(text);
          if (m) resolve(Number(m[1]));
        });
        parent.on('exit', (code) => reject(new Error(`parent exited early (${code})`)));
      });
      assert.ok(alive(childPid), 'the child serves while its parent lives');
      parent.kill('SIGKILL');
      // Liveness, not speed: the child must be gone well before this generous limit.
      const until = Date.now() + 60_000;
      while (alive(childPid) && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
      const stillAlive = alive(childPid);
      if (stillAlive) process.kill(childPid, 'SIGKILL');
      assert.equal(stillAlive, false, 'the child stopped after its parent was killed');
    } finally {
      if (parent.exitCode === null) parent.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
