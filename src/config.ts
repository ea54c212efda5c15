import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import YAML from 'yaml';
import { z } from 'zod';
import { pluginSchema, resolvePluginSecrets, type PluginConfig } from './actions/config.ts';
import { accessListSchema } from './knowledge/principals.ts';

/** The default assistant: the name the upstream docs' examples use. */
export const DEFAULT_ASSISTANT = 'acmecorp-conversations-rest-api';

const port = z.coerce.number().int().min(0).max(65535);
const positiveInt = z.coerce.number().int().positive();
const bool = z.union([z.boolean(), z.enum(['true', 'false', '1', '0', 'yes', 'no'])]).transform((v) =>
  typeof v === 'boolean' ? v : ['true', '1', 'yes'].includes(v),
);

/**
 * An absolute http(s) URL. `z.url()` alone takes `localhost:11434` (scheme "localhost:"), which then fails every
 * request far from its cause; refuse it at start with the fix in the message.
 */
export const httpUrl = z
  .string()
  .refine((v) => {
    try {
      const u = new URL(v);
      return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname !== '';
    } catch {
      return false;
    }
  }, 'must be an absolute http:// or https:// URL (for example http://localhost:11434/v1)')
  // fetch refuses URLs with user info, so every request would fail; and they would end up in logs.
  .refine((v) => !URL.canParse(v) || (new URL(v).username === '' && new URL(v).password === ''), 'must not contain credentials (use the API key setting)');

/** A URL of one of `schemes` that `new URL` can read (a prefix check alone lets `postgres://` + junk through). */
const urlOf = (schemes: string[], example: string) =>
  z.string().refine((v) => {
    try {
      return schemes.includes(new URL(v).protocol.slice(0, -1));
    } catch {
      return false;
    }
  }, `must be a ${schemes.map((x) => `${x}://`).join(' or ')} URL (for example ${example})`);

const assistantSchema = z.strictObject({
  name: z.string().min(1).max(128),
  /** Typed principals (`group:`, `user:`, `email:`, `*`; a plain name is a group) allowed to use this assistant. */
  allow: accessListSchema,
  /** Base of document URLs for ingested files that give none (base + path in the folder). */
  documentBaseUrl: httpUrl.optional(),
  /** Directory entry URL of a person whose data gives none: a template with `{id}` or `{email}`, or a base + id. */
  directoryUrl: z.string().regex(/^https?:\/\/\S+$/, 'must be an http(s) URL or template').optional(),
  /** Access lists for crawled pages by URL prefix (longest wins; overrides the page's own `<meta>` access). */
  siteAccess: z.array(z.strictObject({ prefix: httpUrl, access: z.array(z.string()) })).optional(),
});

const publicKeySchema = z.strictObject({
  alg: z.enum(['RS256', 'ES256', 'EdDSA']),
  /** SPKI PEM text. */
  pem: z.string().min(1),
  kid: z.string().optional(),
});

const clientSchema = z.strictObject({
  client_id: z.string().min(1),
  /**
   * The client secret's hash, never the secret: `scrypt:<salt>:<hash>` (base64url; `parley hash-secret` makes one),
   * or the older unsalted `sha256:<hex>`, still accepted with a warning.
   */
  secret_hash: z
    .string()
    .regex(/^(sha256:[0-9a-f]{64}|scrypt:[A-Za-z0-9_-]{22,}:[A-Za-z0-9_-]{43})$/, 'must be scrypt:<salt>:<hash> (parley hash-secret) or sha256:<64 hex chars>'),
  /** The user the issued token speaks for (defaults to `client:<client_id>`). */
  sub: z.string().optional(),
  email: z.string().optional(),
  name: z.string().optional(),
  groups: z.array(z.string()).default([]),
});

const backendSchema = z.strictObject({
  /** Expected `iss` of the assertion. */
  issuer: z.string().min(1),
  alg: z.enum(['RS256', 'ES256', 'EdDSA']),
  pem: z.string().min(1),
  /**
   * Groups this backend may grant in an assertion's `groups` claim; others are dropped. `*` allows any group
   * except the admin group, which is granted only when listed by name. Default: none.
   */
  allowGroups: z.array(z.string().min(1)).default([]),
  /** The backend vouches for the `email` it asserts (it then selects directory groups). Default: not verified. */
  trustEmail: bool.default(false),
});

/** Standard Webhooks secret: `whsec_` and the base64 of 24–64 random bytes. */
export const webhookSecret = z
  .string()
  .refine((v) => {
    const b64 = v.startsWith('whsec_') ? v.slice(6) : '';
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) return false;
    const n = Buffer.from(b64, 'base64').length;
    return n >= 24 && n <= 64;
  }, 'must be whsec_ followed by the base64 of 24 to 64 random bytes (for example whsec_$(openssl rand -base64 32))');

/** The event types sent to an endpoint (default: all of contract §9). */
export const webhookEvents = z
  .array(z.enum(['response.completed', 'response.failed', 'feedback.submitted', 'conversation.updated']))
  .min(1)
  .default(['response.completed', 'response.failed', 'feedback.submitted', 'conversation.updated']);

const webhookSchema = z.strictObject({
  url: httpUrl,
  secret: webhookSecret,
  /** The event types sent to this endpoint (default: all). */
  events: webhookEvents,
});

// Every object is strict: an unknown key (a misspelled `alow:` on an assistant) is an error naming it, never
// silently dropped (which would leave that assistant open to everyone).
const schema = z.strictObject({
  host: z.string().min(1).default('127.0.0.1'),
  port: port.default(8080),
  /** Embedded database and generated keys live here. */
  dataDir: z.string().min(1).default('./.parley'),
  /** `postgres://…`: run on PostgreSQL instead of the embedded database. */
  databaseUrl: urlOf(['postgres', 'postgresql'], 'postgres://user@db.internal:5432/parley').optional(),
  databasePoolSize: positiveInt.default(10),
  /** Embedded database on a worker thread (default; `false` runs PGlite in process: docs/decisions/embedded-worker-thread.md). */
  embeddedThread: bool.default(true),
  /** PostgreSQL: opening a connection, one statement, a transaction left idle (ms). Past them, clients get 503. */
  databaseConnectTimeoutMs: positiveInt.default(5000),
  databaseStatementTimeoutMs: positiveInt.default(30_000),
  databaseIdleInTransactionTimeoutMs: positiveInt.default(60_000),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Loads the Acme Corp demo data into the default assistant when it has no documents yet. */
  demoData: bool.default(true),
  assistants: z.array(assistantSchema).min(1).default([{ name: DEFAULT_ASSISTANT, allow: ['*'] }]),
  auth: z
    .strictObject({
      /** Base64 or text secret for HS256; generated into the data dir (or the database) when absent. */
      hsSecret: z.string().min(32, 'must be at least 32 characters').optional(),
      issuer: z.string().default('parley'),
      audience: z.string().default('parley'),
      /** Accept tokens from these issuers/audiences too (identity providers). */
      acceptIssuers: z.array(z.string()).default([]),
      acceptAudiences: z.array(z.string()).default([]),
      /** Issuers whose tokens' `email` counts as verified even without `email_verified: true`. */
      emailTrustedIssuers: z.array(z.string()).default([]),
      publicKeys: z.array(publicKeySchema).default([]),
      jwksUrl: httpUrl.optional(),
      tokenTtlSeconds: positiveInt.default(3600),
      clients: z.array(clientSchema).default([]),
      backends: z.array(backendSchema).default([]),
      /** Group whose members may call /admin endpoints. */
      adminGroup: z.string().default('parley-admins'),
      /** Sign-in to the chat page through an OpenID Connect provider (authorization code + PKCE). */
      oidc: z
        .object({
          issuer: z.url(),
          clientId: z.string().min(1),
          clientSecret: z.string().min(1).optional(),
          /** The ID token claim that lists the user's groups. */
          groupsClaim: z.string().min(1).default('groups'),
          scopes: z.string().default('openid email profile'),
        })
        .optional(),
    })
    .default({
      issuer: 'parley',
      audience: 'parley',
      acceptIssuers: [],
      acceptAudiences: [],
      emailTrustedIssuers: [],
      publicKeys: [],
      tokenTtlSeconds: 3600,
      clients: [],
      backends: [],
      adminGroup: 'parley-admins',
    }),
  rateLimit: z
    .strictObject({
      max: positiveInt.default(600),
      windowSeconds: positiveInt.default(60),
      redisUrl: urlOf(['redis', 'rediss'], 'redis://127.0.0.1:6379').optional(),
      /** `POST /oauth/v1/token` requests per window, per client id and per client address (each counted). */
      tokenMax: positiveInt.default(30),
    })
    .default({ max: 600, windowSeconds: 60, tokenMax: 30 }),
  engine: z
    .strictObject({
      kind: z.enum(['offline', 'openai-compatible']).default('offline'),
      baseUrl: httpUrl.optional(),
      model: z.string().optional(),
      apiKey: z.string().optional(),
      timeoutMs: positiveInt.default(60000),
      /** Rounds of tool calls the model may make before it must answer. */
      maxToolRounds: positiveInt.max(10).default(4),
      /** Knowledge searches and directory lookups per answer, over all rounds. */
      maxSearches: positiveInt.max(32).default(8),
    })
    .default({ kind: 'offline', timeoutMs: 60000, maxToolRounds: 4, maxSearches: 8 })
    .refine((e) => e.kind === 'offline' || (e.baseUrl && e.model), {
      message: 'engine.baseUrl and engine.model are required for openai-compatible',
      path: ['baseUrl'],
    }),
  embeddings: z
    .strictObject({
      baseUrl: httpUrl,
      model: z.string().min(1),
      apiKey: z.string().optional(),
      /** Texts per request at ingest. */
      batchSize: positiveInt.max(2048).optional(),
      /** One request at ingest. */
      timeoutMs: positiveInt.optional(),
      /** Embedding a question at search time; past it the search is full-text only. */
      queryTimeoutMs: positiveInt.optional(),
    })
    .optional(),
  responses: z
    .strictObject({
      timeoutSeconds: positiveInt.default(120),
      maxAttempts: positiveInt.default(3),
      leaseSeconds: positiveInt.default(30),
      /**
       * Responses one worker process answers at once. Default: the CPU count for the offline engine (its work is
       * CPU-bound, and more in flight only queues behind itself), 16 for a language model (which mostly waits).
       */
      concurrency: positiveInt.optional(),
    })
    .default({ timeoutSeconds: 120, maxAttempts: 3, leaseSeconds: 30 }),
  worker: bool.default(true),
  /** Browser origins allowed to call the API (CORS); `*` for any. Empty: no CORS headers. */
  corsOrigins: z
    .union([z.array(z.string().min(1)), z.string().transform((v) => v.split(',').map((o) => o.trim()).filter(Boolean))])
    .default([]),
  /** Maximum request body, bytes (contract: 1 MiB). */
  bodyLimit: positiveInt.default(1024 * 1024),
  /** Signed outbound webhooks (contract §9); `PARLEY_WEBHOOK_URL` + `PARLEY_WEBHOOK_SECRET` add one. */
  webhooks: z.array(webhookSchema).default([]),
  webhookDelivery: z
    .strictObject({
      /** One POST, connection to last byte of the answer's headers. */
      timeoutMs: positiveInt.default(10_000),
      /** Wait before the first retry; each later one waits twice as long (at most an hour), for at least 24 h. */
      firstRetryMs: positiveInt.default(5_000),
      /** How often each node looks for due deliveries. */
      pollMs: positiveInt.default(1_000),
      /** Finished deliveries (delivered or given up) and their attempts are pruned this many days after the event. */
      keepDays: positiveInt.default(7),
    })
    .default({ timeoutMs: 10_000, firstRetryMs: 5_000, pollMs: 1_000, keepDays: 7 }),
  retention: z
    .strictObject({
      /** Delete conversations idle (not updated) for longer than this many days; unset: keep them. */
      days: positiveInt.optional(),
      /** Compact the event log of a response this many hours after it finished (contract §5: at least 24). */
      eventLogHours: z.coerce.number().int().min(24, 'must be at least 24 (contract: events are kept at least 24 h)').default(24),
      /** How often each node runs the purge, the compaction and the webhook-log pruning. */
      intervalSeconds: positiveInt.default(600),
    })
    .default({ eventLogHours: 24, intervalSeconds: 600 }),
  /** Actions (issue 10): HTTP endpoints the assistant may call for a user, with or without their confirmation. */
  plugins: z.array(pluginSchema).default([]),
  /** Start the demo plugin service (demo/plugins) and its two plugins along with the demo data. */
  demoPlugins: bool.default(true),
  /** Seconds between SSE keep-alive comments (contract: at most 15). */
  keepAliveSeconds: z.coerce.number().positive().max(15).default(15),
});

export type Config = Omit<z.infer<typeof schema>, 'plugins'> & { plugins: PluginConfig[] };
export type AssistantConfig = z.infer<typeof assistantSchema>;

/** A configuration problem, naming the field. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Env = Record<string, string | undefined>;

/** Environment variables and the field each sets (environment wins over the config file). */
const ENV_FIELDS: [string, string[]][] = [
  ['HOST', ['host']],
  ['PORT', ['port']],
  ['PARLEY_DATA_DIR', ['dataDir']],
  ['DATABASE_URL', ['databaseUrl']],
  ['PARLEY_EMBEDDED_THREAD', ['embeddedThread']],
  ['PARLEY_DB_POOL_SIZE', ['databasePoolSize']],
  ['PARLEY_DB_CONNECT_TIMEOUT_MS', ['databaseConnectTimeoutMs']],
  ['PARLEY_DB_STATEMENT_TIMEOUT_MS', ['databaseStatementTimeoutMs']],
  ['PARLEY_DB_IDLE_TX_TIMEOUT_MS', ['databaseIdleInTransactionTimeoutMs']],
  ['LOG_LEVEL', ['logLevel']],
  ['PARLEY_DEMO_DATA', ['demoData']],
  ['PARLEY_DEMO_PLUGINS', ['demoPlugins']],
  ['PARLEY_JWT_SECRET', ['auth', 'hsSecret']],
  ['PARLEY_JWT_ISSUER', ['auth', 'issuer']],
  ['PARLEY_JWT_AUDIENCE', ['auth', 'audience']],
  ['PARLEY_JWKS_URL', ['auth', 'jwksUrl']],
  ['RATE_LIMIT_MAX', ['rateLimit', 'max']],
  ['RATE_LIMIT_WINDOW_SECONDS', ['rateLimit', 'windowSeconds']],
  ['REDIS_URL', ['rateLimit', 'redisUrl']],
  ['RATE_LIMIT_TOKEN_MAX', ['rateLimit', 'tokenMax']],
  ['PARLEY_ENGINE', ['engine', 'kind']],
  ['LLM_BASE_URL', ['engine', 'baseUrl']],
  ['LLM_MODEL', ['engine', 'model']],
  ['LLM_API_KEY', ['engine', 'apiKey']],
  ['LLM_TIMEOUT_MS', ['engine', 'timeoutMs']],
  ['LLM_MAX_TOOL_ROUNDS', ['engine', 'maxToolRounds']],
  ['LLM_MAX_SEARCHES', ['engine', 'maxSearches']],
  ['EMBEDDINGS_BASE_URL', ['embeddings', 'baseUrl']],
  ['EMBEDDINGS_MODEL', ['embeddings', 'model']],
  ['EMBEDDINGS_API_KEY', ['embeddings', 'apiKey']],
  ['RESPONSE_TIMEOUT_SECONDS', ['responses', 'timeoutSeconds']],
  ['RESPONSE_CONCURRENCY', ['responses', 'concurrency']],
  ['PARLEY_WORKER', ['worker']],
  ['PARLEY_CORS_ORIGINS', ['corsOrigins']],
  ['PARLEY_WEBHOOK_TIMEOUT_MS', ['webhookDelivery', 'timeoutMs']],
  ['PARLEY_WEBHOOK_FIRST_RETRY_MS', ['webhookDelivery', 'firstRetryMs']],
  ['PARLEY_WEBHOOK_POLL_MS', ['webhookDelivery', 'pollMs']],
  ['PARLEY_WEBHOOK_KEEP_DAYS', ['webhookDelivery', 'keepDays']],
  ['PARLEY_RETENTION_DAYS', ['retention', 'days']],
  ['PARLEY_EVENT_LOG_HOURS', ['retention', 'eventLogHours']],
];

function setPath(target: Record<string, unknown>, path: string[], value: unknown): void {
  let obj = target;
  for (const key of path.slice(0, -1)) {
    const next = obj[key];
    if (typeof next !== 'object' || next === null) obj[key] = {};
    obj = obj[key] as Record<string, unknown>;
  }
  obj[path[path.length - 1]!] = value;
}

/** Reads `PARLEY_CONFIG` (YAML or JSON) if set, else `./parley.config.yaml` if present. */
function readConfigFile(env: Env): Record<string, unknown> {
  const explicit = env['PARLEY_CONFIG'];
  const path = explicit ?? (existsSync('parley.config.yaml') ? 'parley.config.yaml' : undefined);
  if (!path) return {};
  let text: string;
  try {
    text = readFileSync(resolve(path), 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${path}: ${(err as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = YAML.parse(text);
  } catch (err) {
    throw new ConfigError(`config file ${path} is not valid YAML/JSON: ${(err as Error).message}`);
  }
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed)) throw new ConfigError(`config file ${path} must hold an object`);
  return parsed as Record<string, unknown>;
}

/** Builds and validates the configuration once, at start. Throws ConfigError naming the bad field. */
export function loadConfig(env: Env = process.env, overrides: Record<string, unknown> = {}): Config {
  const raw = readConfigFile(env);
  for (const [name, path] of ENV_FIELDS) {
    const value = env[name];
    if (value !== undefined && value !== '') setPath(raw, path, value);
  }
  const hookUrl = env['PARLEY_WEBHOOK_URL'] || undefined;
  const hookSecret = env['PARLEY_WEBHOOK_SECRET'] || undefined;
  if ((hookUrl === undefined) !== (hookSecret === undefined)) {
    throw new ConfigError('invalid configuration: PARLEY_WEBHOOK_URL and PARLEY_WEBHOOK_SECRET must be set together');
  }
  if (hookUrl !== undefined) {
    const listed = raw['webhooks'] === undefined ? [] : raw['webhooks'];
    if (!Array.isArray(listed)) throw new ConfigError('invalid configuration: webhooks: must be a list');
    raw['webhooks'] = [...listed, { url: hookUrl, secret: hookSecret }];
  }
  for (const [k, v] of Object.entries(overrides)) if (v !== undefined) raw[k] = v;
  const result = schema.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const field = issue.path.join('.') || '(root)';
    if (issue.code === 'unrecognized_keys') {
      const keys = issue.keys.map((k) => JSON.stringify(k)).join(', ');
      throw new ConfigError(`invalid configuration: ${field === '(root)' ? 'top level' : field}: unknown key${issue.keys.length > 1 ? 's' : ''} ${keys}`);
    }
    const envName = ENV_FIELDS.find(([, p]) => p.join('.') === field)?.[0];
    throw new ConfigError(`invalid configuration: ${field}${envName ? ` (${envName})` : ''}: ${issue.message}`);
  }
  const cfg: Config = result.data;
  const pluginProblem = resolvePluginSecrets(cfg.plugins, env);
  if (pluginProblem) throw new ConfigError(`invalid configuration: ${pluginProblem}`);
  cfg.responses.concurrency ??= cfg.engine.kind === 'offline' ? Math.max(2, availableParallelism()) : 16;
  const urls = new Set<string>();
  for (const w of cfg.webhooks) {
    // A delivery row names its endpoint by URL: two entries with one URL would share (and fight over) its rows.
    if (urls.has(w.url)) throw new ConfigError(`invalid configuration: webhooks: duplicate url ${w.url}`);
    urls.add(w.url);
  }
  const names = new Set<string>();
  for (const a of cfg.assistants) {
    if (names.has(a.name)) throw new ConfigError(`invalid configuration: assistants: duplicate name ${a.name}`);
    names.add(a.name);
  }
  return cfg;
}
