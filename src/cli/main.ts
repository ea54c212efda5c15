import { Command, Option } from 'commander';
import { ConfigError, DEFAULT_ASSISTANT, loadConfig, type Config } from '../config.ts';

// A reader that closes the pipe early (`parley ingest --history | head`) is a normal end, not a crash.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

const program = new Command();
program.name('parley').description('Self-hostable Conversations API server').showHelpAfterError();

function config(overrides: Record<string, unknown> = {}): Config {
  try {
    return loadConfig(process.env, overrides);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`parley: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}

program
  .command('serve', { isDefault: true })
  .description('serve the API (and answer responses unless --no-worker)')
  .option('--no-worker', 'serve HTTP only; run `parley worker` elsewhere')
  .action(async (opts: { worker: boolean }) => {
    const cfg = config();
    const { serve } = await import('../main.ts');
    await serve(cfg, { worker: opts.worker && cfg.worker });
  });

program
  .command('worker')
  .description('answer responses only (no HTTP); needs DATABASE_URL, since the embedded database is one process')
  .action(async () => {
    const cfg = config();
    if (!cfg.databaseUrl) {
      process.stderr.write('parley: `parley worker` needs DATABASE_URL (the embedded database cannot be shared between processes)\n');
      process.exit(2);
    }
    const { createParley, stopWithParent } = await import('../main.ts');
    const parley = await createParley(cfg, { worker: true });
    parley.logger.info({ worker: parley.worker.id }, 'worker running');
    const stop = async () => {
      await parley.close();
      process.exit(0);
    };
    process.once('SIGINT', () => void stop());
    process.once('SIGTERM', () => void stop());
    stopWithParent(() => void stop());
  });

program
  .command('token')
  .description('print a bearer token for a user (signed with this installation\'s key)')
  .requiredOption('--user <email>', 'the user (email or id); becomes the token subject')
  .option('--name <name>', 'display name claim')
  .option('--groups <g1,g2>', 'comma-separated groups claim', '')
  .option('--ttl <seconds>', 'lifetime in seconds', '3600')
  .option('--admin', 'add the admin group (for /admin endpoints and remote ingest)')
  .option('--link', 'print a one-time sign-in link for the chat page instead (valid 15 minutes)')
  .option('--url <base>', 'with --link: the address people open (default: the running server, else HOST:PORT)')
  .action(async (opts: { user: string; name?: string; groups: string; ttl: string; admin?: boolean; link?: boolean; url?: string }) => {
    const cfg = config();
    const { mintToken, mintSigninLink } = await import('./token.ts');
    const groups = opts.groups.split(',').map((g) => g.trim()).filter(Boolean);
    if (opts.admin) groups.push(cfg.auth.adminGroup);
    if (opts.link) {
      const link = await mintSigninLink(cfg, { user: opts.user, name: opts.name, groups, baseUrl: opts.url });
      process.stdout.write(`Sign-in link for ${opts.user} (one use, valid 15 minutes):\n${link}\n`);
      return;
    }
    const ttl = Number(opts.ttl);
    if (!Number.isInteger(ttl) || ttl <= 0) {
      process.stderr.write('parley: --ttl must be a positive integer\n');
      process.exit(2);
    }
    process.stdout.write((await mintToken(cfg, { user: opts.user, name: opts.name, groups, ttl })) + '\n');
  });

program
  .command('hash-secret')
  .description('read a client secret on standard input and print its salted scrypt hash for auth.clients[].secret_hash')
  .action(async () => {
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(c as Buffer);
    const secret = Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
    if (!secret) {
      process.stderr.write('parley: give the secret on standard input, e.g. `printf %s "$SECRET" | parley hash-secret`\n');
      process.exit(2);
    }
    const { hashClientSecret } = await import('../core/client-secrets.ts');
    process.stdout.write((await hashClientSecret(secret)) + '\n');
  });

program
  .command('ingest')
  .description('load documents (Markdown, text, HTML, PDF, DOCX) and people (CSV, JSON) into an assistant\'s knowledge')
  .argument('[path]', 'file or directory')
  .option('--assistant <name>', 'assistant to load into', DEFAULT_ASSISTANT)
  .option('--prune', 'remove documents and people of this source whose files are gone')
  .option('--force', 'allow a prune that removes more than half of the source')
  .option('--dry-run', 'print what would be added, updated and removed, with each document\'s access; write nothing')
  .option('--history', 'list recorded ingests and prunes (newest first) instead of ingesting')
  .option('--limit <n>', 'with --history: how many', '50')
  .option('--map <column=field>', 'read a people column as a field, e.g. "Reports To (Name)=manager" (repeatable)', (v: string, acc: string[]) => [...acc, v], [] as string[])
  .addOption(new Option('--server <url>', 'send to a running server instead of opening the database').env('PARLEY_URL'))
  .action(async (path: string | undefined, opts: { assistant: string; prune?: boolean; force?: boolean; dryRun?: boolean; history?: boolean; limit: string; map: string[]; server?: string }) => {
    const cfg = config({ demoData: false });
    if (opts.history) {
      const { ingestHistoryCommand } = await import('./ingest-target.ts');
      const limit = Number(opts.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 500) throw new Error('--limit must be an integer from 1 to 500');
      const assistant = process.argv.some((a) => a === '--assistant' || a.startsWith('--assistant=')) ? opts.assistant : undefined;
      await ingestHistoryCommand(cfg, { assistant, server: opts.server, limit });
      return;
    }
    if (!path) throw new Error('ingest needs a path (or --history)');
    const { ingestCommand } = await import('./ingest-target.ts');
    process.exitCode = await ingestCommand(cfg, path, {
      assistant: opts.assistant,
      prune: Boolean(opts.prune),
      force: Boolean(opts.force),
      dryRun: Boolean(opts.dryRun),
      server: opts.server,
      map: opts.map,
    });
  });

program
  .command('feedback')
  .description('export stored feedback as JSON lines')
  .option('--assistant <name>', 'only this assistant')
  .option('--since <iso>', 'only feedback updated since')
  .action(async (opts: { assistant?: string; since?: string }) => {
    const cfg = config({ demoData: false });
    const { withDatabase } = await import('./ingest-target.ts');
    const { exportFeedback } = await import('../core/feedback.ts');
    await withDatabase(cfg, async (deps) => {
      for (const row of await exportFeedback(deps, { assistant: opts.assistant, since: opts.since ? new Date(opts.since) : undefined })) {
        process.stdout.write(JSON.stringify(row) + '\n');
      }
    });
  });

const user = program.command('user').description('a person\'s data: export it, or delete it');

user
  .command('export')
  .description('print, as JSON, every conversation (with its messages) and all feedback of the person with this email')
  .argument('<email>', 'the person\'s email (their token subject, or a verified email claim)')
  .action(async (email: string) => {
    const cfg = config({ demoData: false });
    const { withDatabase } = await import('./ingest-target.ts');
    const { exportUser } = await import('../core/user-data.ts');
    await withDatabase(cfg, async (deps) => {
      process.stdout.write(JSON.stringify(await exportUser(deps, email), null, 2) + '\n');
    });
  });

user
  .command('delete')
  .description('delete every conversation (messages, responses, events, feedback) of the person with this email')
  .argument('<email>', 'the person\'s email (their token subject, or a verified email claim)')
  .option('--yes', 'really delete (without it, only says what would be deleted)')
  .action(async (email: string, opts: { yes?: boolean }) => {
    const cfg = config({ demoData: false });
    const { withDatabase } = await import('./ingest-target.ts');
    const { deleteUser, exportUser } = await import('../core/user-data.ts');
    await withDatabase(cfg, async (deps) => {
      if (!opts.yes) {
        const found = await exportUser(deps, email);
        process.stdout.write(
          JSON.stringify({ would_delete: { user_ids: found.user_ids, conversations: found.conversations.length, feedback: found.feedback.length } }) +
            '\nrun again with --yes to delete\n',
        );
        process.exitCode = 1;
        return;
      }
      process.stdout.write(JSON.stringify({ deleted: await deleteUser(deps, email) }) + '\n');
    });
  });

program
  .command('compact')
  .description('give the knowledge tables\' free space back to the file system (embedded: server stopped)')
  .option('--full', 'PostgreSQL: rewrite the tables (VACUUM FULL: locks each table, reads included, while it runs); default a plain VACUUM')
  .action(async (opts: { full?: boolean }) => {
    const cfg = config({ demoData: false });
    const { compactCommand } = await import('./compact.ts');
    await compactCommand(cfg, { full: Boolean(opts.full) });
  });

program
  .command('migrate')
  .description('apply database migrations and exit')
  .action(async () => {
    const cfg = config({ demoData: false });
    const { withDatabase } = await import('./ingest-target.ts');
    await withDatabase(cfg, async () => undefined);
    process.stdout.write('migrations applied\n');
  });

try {
  await program.parseAsync(process.argv);
} catch (err) {
  // Operator-facing: one clear line, not a stack trace.
  process.stderr.write(`parley: ${(err as Error).message}\n`);
  process.exit(1);
}
