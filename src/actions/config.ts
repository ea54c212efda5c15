import { z } from 'zod';
import { accessListSchema } from '../knowledge/principals.ts';
import { placeholdersOf } from './template.ts';

/** `${env:NAME}` in a header value: the secret comes from the environment, never from the file. */
export const ENV_REF = /\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}/g;

const inputSchema = z.strictObject({
  type: z.enum(['string', 'number', 'boolean']).default('string'),
  description: z.string().max(500).default(''),
  /** Where the value comes from: the asking user's verified email, or the question as asked. */
  from: z.enum(['user.email', 'question']).optional(),
  /** The value when nothing fills it. */
  default: z.union([z.string(), z.number(), z.boolean()]).optional(),
  /** Shown as `***` in the audit (GET /admin/v1/plugin-calls). */
  secret: z.boolean().default(false),
});

const headerName = z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, 'must be an HTTP header name');
const headerValue = z.string().refine((v) => !/[\r\n\0]/.test(v), 'must be one line').refine((v) => !v.includes('{{'), 'header values take ${env:NAME} secrets and literal text only, no {{placeholders}}');

/** A URL template whose scheme, host and port are literal: placeholders only in the path, query or fragment. */
const urlTemplate = z.string().superRefine((v, ctx) => {
  const literal = v.replace(/\{\{[^}]*\}\}/g, 'x');
  let u: URL;
  try {
    u = new URL(literal);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'must be an absolute http:// or https:// URL' });
    return;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') ctx.addIssue({ code: 'custom', message: 'must be an http:// or https:// URL' });
  if (u.username || u.password) ctx.addIssue({ code: 'custom', message: 'must not contain credentials (use a header with ${env:NAME})' });
  const origin = /^[a-z]+:\/\/[^/?#]*/i.exec(v)?.[0] ?? '';
  if (origin.includes('{{')) ctx.addIssue({ code: 'custom', message: 'placeholders may not be in the scheme, host or port' });
});

export const pluginSchema = z
  .strictObject({
    /** Identifier: in the audit, in logs, in tool names. */
    name: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,55}$/, 'must be 1-56 lower-case letters, digits, - or _'),
    description: z.string().min(1).max(500),
    /** Questions that should run it (matched like knowledge, see actions/match.ts), and optional keywords. */
    when: z.strictObject({
      examples: z.array(z.string().min(1).max(300)).min(1).max(50),
      keywords: z.array(z.string().min(1).max(60)).max(50).default([]),
    }),
    inputs: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, 'input names are identifiers'), inputSchema).default({}),
    request: z.strictObject({
      method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']).default('POST'),
      url: urlTemplate,
      headers: z.record(headerName, headerValue).default({}),
      /** JSON body: strings may hold `{{input}}` (a string that is only a placeholder becomes the typed value). */
      body: z.unknown().optional(),
      timeoutMs: z.number().int().positive().max(60_000).default(5_000),
      maxResponseBytes: z.number().int().positive().max(10 * 1024 * 1024).default(256 * 1024),
    }),
    /** Ask the user first (Confirm / Cancel buttons in V1, "reply yes" in BETA). */
    confirm: z.boolean().default(false),
    /** The question shown before a confirmed call, e.g. "Reset the VPN password of {{email}}?". */
    confirmText: z.string().max(500).optional(),
    /** Typed principals who may use it (as for assistants; `[]` = admins only). */
    allow: accessListSchema,
    /** Only these assistants offer it (default: all). */
    assistants: z.array(z.string().min(1)).optional(),
    /** Permit loopback, private and link-local addresses (a service on this machine or network). Default: refused. */
    allowPrivateNetwork: z.boolean().default(false),
    /** The answer: text with `{{result.field}}` / `{{input}}`, and an optional link (URL_ACTION in V1). */
    result: z
      .strictObject({
        text: z.string().max(2000).optional(),
        url: urlTemplate.optional(),
        urlLabel: z.string().min(1).max(80).default('Open'),
      })
      .default({ urlLabel: 'Open' }),
  })
  .superRefine((p, ctx) => {
    const inputs = new Set(Object.keys(p.inputs));
    for (const [name, spec] of Object.entries(p.inputs)) {
      if (!spec.from && spec.default === undefined) ctx.addIssue({ code: 'custom', path: ['inputs', name], message: 'needs `from` or a `default`' });
    }
    const check = (template: string, path: (string | number)[], result: boolean) => {
      for (const ref of placeholdersOf(template)) {
        const head = ref.split('.')[0]!;
        if (inputs.has(head) || (result && head === 'result')) continue;
        ctx.addIssue({ code: 'custom', path, message: `{{${ref}}} names no input${result ? ' (nor result)' : ''}` });
      }
    };
    check(p.request.url, ['request', 'url'], false);
    const walk = (v: unknown, path: (string | number)[]) => {
      if (typeof v === 'string') check(v, path, false);
      else if (Array.isArray(v)) v.forEach((x, i) => walk(x, [...path, i]));
      else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, [...path, k]);
    };
    walk(p.request.body, ['request', 'body']);
    if (p.confirmText) check(p.confirmText, ['confirmText'], false);
    if (p.result.text) check(p.result.text, ['result', 'text'], true);
    if (p.result.url) check(p.result.url, ['result', 'url'], true);
  });

export type PluginConfig = z.infer<typeof pluginSchema> & {
  /** Header values as sent, `${env:…}` resolved (set by loadConfig). */
  resolvedHeaders?: Record<string, string>;
  /** The secrets those held: masked wherever the call is recorded. */
  secretValues?: string[];
};

/**
 * Resolves `${env:NAME}` in every plugin's headers. A name the environment lacks stops the start with a message
 * naming the plugin, the header and the variable (never the value).
 */
export function resolvePluginSecrets(plugins: PluginConfig[], env: Record<string, string | undefined>): string | null {
  const names = new Set<string>();
  for (const p of plugins) {
    if (names.has(p.name)) return `plugins: duplicate name ${p.name}`;
    names.add(p.name);
    const headers: Record<string, string> = {};
    const secrets: string[] = [];
    for (const [h, raw] of Object.entries(p.request.headers)) {
      let missing: string | null = null;
      headers[h] = raw.replace(ENV_REF, (_, name: string) => {
        const v = env[name];
        if (v === undefined || v === '') missing ??= name;
        else secrets.push(v);
        return v ?? '';
      });
      if (missing) return `plugins.${p.name}.request.headers.${h}: environment variable ${missing} is not set`;
      if (/[\r\n\0]/.test(headers[h]!)) return `plugins.${p.name}.request.headers.${h}: the value from the environment must be one line`;
    }
    p.resolvedHeaders = headers;
    p.secretValues = secrets;
  }
  return null;
}
