/**
 * `npm run conformance -- <openapi-file> [--base-url URL] [--token T] [--assistant NAME] [--no-extensions]`
 *
 * Drives a Parley server (or any server of the same API) through every operation of an OpenAPI 3.1 document and
 * validates every answer against it: status documented, body schema, SSE framing and sequence, trace header.
 * Without --base-url it starts a server in this process on a fresh data dir (or DATABASE_URL) and mints its
 * own token. Prints one line per check, then `conformance: N passed, M failed`; exits 1 on any failure.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { formatResult } from './conformance/runner.ts';
import { DEFAULT_QUESTION, runConformance, summaryLine } from './conformance/run.ts';
import { Spec, loadSpecFile } from './conformance/spec.ts';

const USAGE = `usage: npm run conformance -- <openapi-file> [--base-url URL] [--token T] [--assistant NAME]
                                   [--question TEXT] [--action-question TEXT] [--timeout SECONDS] [--no-extensions]
  --base-url   a running server (its API root; the document's server path is added when URL has no path).
               Without it, a server is started in this process on a temporary data dir (DATABASE_URL if set).
  --token      bearer for --base-url (or PARLEY_TOKEN); e.g. $(npx parley token --user you@example.com)
  --assistant  Assistant-Name to send (default: acmecorp-conversations-rest-api)
  --question   the input text of the responses created (default: "${DEFAULT_QUESTION}")
  --action-question  V1: a question answered with Confirm/Cancel actions (default: "reset my VPN password");
               the first CALLBACK_ACTION is pressed through input.callback_id, then sent again (400)
  --timeout    seconds a response may take to finish (default: 120)
  --no-extensions  skip the checks of Parley's extensions (cancel, resume after the final event, POST stream
               resume with Idempotency-Key + Last-Event-ID), for servers that do not offer them`;

function fail(message: string): never {
  process.stderr.write(`conformance: ${message}\n${USAGE}\n`);
  process.exit(2);
}

interface Target {
  baseUrl: string;
  token: string;
  close(): Promise<void>;
}

/** A Parley in this process, on a temporary data dir, with a token minted for a fresh user. */
async function startInProcess(basePath: string): Promise<Target> {
  const { loadConfig } = await import('../config.ts');
  const { createParley } = await import('../main.ts');
  const { mintToken } = await import('../cli/token.ts');
  const dataDir = mkdtempSync(join(tmpdir(), 'parley-conformance-'));
  const config = loadConfig({
    ...process.env,
    PARLEY_DATA_DIR: dataDir,
    LOG_LEVEL: process.env['LOG_LEVEL'] ?? 'error',
    RATE_LIMIT_MAX: process.env['RATE_LIMIT_MAX'] ?? '100000',
  });
  const parley = await createParley(config);
  const address = await parley.app.listen({ host: '127.0.0.1', port: 0 });
  const user = `conformance-${Date.now().toString(36)}@acme.example`;
  const token = await mintToken(config, { user, groups: [], ttl: 3600 });
  process.stdout.write(`conformance: started Parley at ${address} (${parley.db.kind} database)\n`);
  return {
    baseUrl: address + basePath,
    token,
    close: async () => {
      await parley.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

async function main(): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      allowPositionals: true,
      options: {
        'base-url': { type: 'string' },
        token: { type: 'string' },
        assistant: { type: 'string' },
        question: { type: 'string' },
        'action-question': { type: 'string' },
        timeout: { type: 'string' },
        'no-extensions': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    fail((err as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const file = positionals[0];
  if (!file || positionals.length > 1) fail('give exactly one OpenAPI file');
  const timeout = values.timeout === undefined ? 120 : Number(values.timeout);
  if (!Number.isFinite(timeout) || timeout <= 0) fail('--timeout must be a positive number of seconds');

  let spec: Spec;
  try {
    spec = new Spec(loadSpecFile(file));
  } catch (err) {
    fail(`cannot read ${file}: ${(err as Error).message}`);
  }
  const assistant = values.assistant ?? (await import('../config.ts')).DEFAULT_ASSISTANT;

  let target: Target;
  if (values['base-url']) {
    const token = values.token ?? process.env['PARLEY_TOKEN'];
    if (!token) fail('--base-url needs --token (or PARLEY_TOKEN)');
    const url = new URL(values['base-url']);
    const root = url.pathname === '/' ? url.origin + spec.basePath() : url.href.replace(/\/$/, '');
    target = { baseUrl: root, token, close: async () => undefined };
  } else {
    target = await startInProcess(spec.basePath());
  }

  try {
    const report = await runConformance({
      spec,
      baseUrl: target.baseUrl,
      token: target.token,
      assistant,
      timeoutMs: timeout * 1000,
      extensions: !values['no-extensions'],
      ...(values.question !== undefined ? { question: values.question } : {}),
      ...(values['action-question'] !== undefined ? { actionQuestion: values['action-question'] } : {}),
      onResult: (r) => process.stdout.write(`${formatResult(r)}\n`),
    });
    if (report.skipped) process.stdout.write(`(${report.skipped} exchange(s) with operations the document does not have were not counted)\n`);
    process.stdout.write(`${summaryLine(report)}\n`);
    return report.failed === 0 ? 0 : 1;
  } finally {
    await target.close();
  }
}

process.exitCode = await main();
