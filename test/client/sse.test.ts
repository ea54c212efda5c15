import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { readSse, type SseFrame } from '../../src/client/index.ts';

function streamOf(chunks: string[]): ReadableStream<Uint8Array> {
  const enc = new TextEncoder();
  return new ReadableStream({
    start(ctrl) {
      for (const c of chunks) ctrl.enqueue(enc.encode(c));
      ctrl.close();
    },
  });
}

async function frames(chunks: string[]): Promise<SseFrame[]> {
  const out: SseFrame[] = [];
  for await (const f of readSse(streamOf(chunks))) out.push(f);
  return out;
}

describe('client SSE reader', () => {
  it('reads frames split anywhere, with CRLF, LF or CR line ends, skipping comments', async () => {
    const wire = 'id: 1\r\nevent: A\r\ndata: {"x":1}\r\n\r\n: keep-alive\n\nid: 2\nevent: B\ndata: one\ndata: two\n\nid: 3\revent: C\rdata:no-space\r\r';
    const want = [
      { id: '1', event: 'A', data: '{"x":1}' },
      { id: '2', event: 'B', data: 'one\ntwo' },
      { id: '3', event: 'C', data: 'no-space' },
    ];
    assert.deepEqual(await frames([wire]), want);
    // Every split point, one byte at a time included, gives the same frames.
    for (let i = 1; i < wire.length; i++) assert.deepEqual(await frames([wire.slice(0, i), wire.slice(i)]), want, `split at ${i}`);
    assert.deepEqual(await frames([...wire]), want);
  });

  it('drops an unfinished frame at the end of the stream', async () => {
    assert.deepEqual(await frames(['id: 1\nevent: A\ndata: x\n\nid: 2\nevent: B\ndata: y\n']), [{ id: '1', event: 'A', data: 'x' }]);
  });

  it('imports nothing of the server: only its own files and protocol types', () => {
    const dir = join(import.meta.dirname, '../../src/client');
    for (const file of readdirSync(dir)) {
      const src = readFileSync(join(dir, file), 'utf8');
      for (const m of src.matchAll(/^\s*(import|export)\s+(type\s+)?[^'"]*from\s+'([^']+)'/gm)) {
        const [, , typeOnly, from] = m;
        if (from!.startsWith('./')) continue;
        assert.ok(from!.startsWith('../protocol/') && typeOnly, `${file} imports ${from} (only \`import type\` from ../protocol/ is allowed)`);
      }
    }
  });

  it('is exported as parley/client and loads in plain Node (the build `npm install` runs)', () => {
    const code = "const m = await import('parley/client'); console.log(typeof m.ParleyClient, typeof m.NotFoundError);";
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', code], { cwd: join(import.meta.dirname, '../..'), encoding: 'utf8' });
    assert.equal(run.stderr, '', 'dist/client is built by `npm install` (prepare)');
    assert.equal(run.stdout.trim(), 'function function');
  });
});
