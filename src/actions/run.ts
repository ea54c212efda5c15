import type { AskingUser } from '../assistant/engine.ts';
import type { PluginConfig } from './config.ts';
import { callPlugin, PluginCallError } from './http-call.ts';
import { renderJson, renderText, renderUrl, TemplateError, type Values } from './template.ts';

/** The most of the question a `from: question` input takes. */
const MAX_QUESTION_INPUT = 500;

export type Inputs = Record<string, string | number | boolean>;

/** Fills a plugin's inputs from the user and the question; a reason instead when one cannot be filled. */
export function fillInputs(plugin: PluginConfig, user: AskingUser, question: string): { inputs: Inputs } | { missing: string } {
  const inputs: Inputs = {};
  for (const [name, spec] of Object.entries(plugin.inputs)) {
    let raw: string | number | boolean | undefined;
    if (spec.from === 'user.email') {
      // Only a verified address: anyone can put any `email` in a token of their own making.
      if (user.email && user.emailVerified) raw = user.email;
    } else if (spec.from === 'question') {
      raw = Array.from(question.trim()).slice(0, MAX_QUESTION_INPUT).join('');
    }
    raw ??= spec.default;
    if (raw === undefined) {
      return { missing: spec.from === 'user.email' ? 'your sign-in does not carry a verified email address' : `the value of ${name} is unknown` };
    }
    if (spec.type === 'number') {
      const n = typeof raw === 'number' ? raw : Number(raw);
      if (!Number.isFinite(n)) return { missing: `${name} must be a number` };
      inputs[name] = n;
    } else if (spec.type === 'boolean') {
      inputs[name] = typeof raw === 'boolean' ? raw : /^(true|yes|1)$/i.test(String(raw));
    } else inputs[name] = String(raw);
  }
  return { inputs };
}

/** Inputs as the audit shows them: `secret` inputs and every configured secret value replaced by `***`. */
export function maskedInputs(plugin: PluginConfig | undefined, inputs: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(inputs)) {
    out[k] = plugin?.inputs[k]?.secret ? '***' : typeof v === 'string' ? maskSecrets(plugin, v) : v;
  }
  return out;
}

/** Text with the plugin's secret header values (from the environment) replaced by `***`. */
export function maskSecrets(plugin: PluginConfig | undefined, text: string): string {
  let out = text;
  for (const s of plugin?.secretValues ?? []) if (s.length >= 4) out = out.split(s).join('***');
  return out;
}

export interface CallResult {
  ok: boolean;
  durationMs: number;
  httpStatus: number | null;
  /** For the audit and logs (no secrets). */
  error: string | null;
  /** What the user is told: the result text and link, or why it failed (without internals). */
  result: { text: string; url?: string } | null;
  reason?: string;
}

/** Makes the call and turns its answer into the result text and link. Never throws. */
export async function runPlugin(plugin: PluginConfig, inputs: Inputs, now: () => number = Date.now): Promise<CallResult> {
  const started = now();
  const values: Values = { ...inputs };
  try {
    const body = plugin.request.body === undefined ? undefined : JSON.stringify(renderJson(plugin.request.body, values));
    const res = await callPlugin({
      method: plugin.request.method,
      url: renderUrl(plugin.request.url, values),
      headers: plugin.resolvedHeaders ?? plugin.request.headers,
      body,
      timeoutMs: plugin.request.timeoutMs,
      maxResponseBytes: plugin.request.maxResponseBytes,
      allowPrivateNetwork: plugin.allowPrivateNetwork,
    });
    const resultValues: Values = { ...inputs, result: res.body };
    const text = plugin.result.text ? renderText(plugin.result.text, resultValues) : 'Done.';
    let url: string | undefined;
    if (plugin.result.url) {
      // The call is made: a link that cannot be built is left out, not a failure.
      try {
        const u = renderUrl(plugin.result.url, resultValues);
        if (/^https?:\/\//i.test(u) && URL.canParse(u)) url = u;
      } catch (err) {
        if (!(err instanceof TemplateError)) throw err;
      }
    }
    return { ok: true, durationMs: now() - started, httpStatus: res.status, error: null, result: url ? { text, url } : { text } };
  } catch (err) {
    const e =
      err instanceof PluginCallError ? err : err instanceof TemplateError ? new PluginCallError('BAD_URL', err.message) : new PluginCallError('NETWORK', (err as Error).message);
    return {
      ok: false,
      durationMs: now() - started,
      httpStatus: e.status ?? null,
      error: maskSecrets(plugin, `${e.code}: ${e.message}`).slice(0, 500),
      result: null,
      reason: reasonOf(e),
    };
  }
}

/** Why a call failed, for the user: the kind of failure, never an address, a header or a body. */
function reasonOf(e: PluginCallError): string {
  switch (e.code) {
    case 'TIMEOUT':
      return 'the service did not answer in time';
    case 'TOO_LARGE':
      return 'the service sent more than expected';
    case 'BLOCKED_ADDRESS':
      return 'the service is at an address this server may not call';
    case 'HTTP_STATUS':
      return `the service answered with an error (HTTP ${e.status})`;
    case 'BAD_URL':
      return 'the request could not be made';
    case 'NETWORK':
      return 'the service could not be reached';
    default: {
      const never: never = e.code;
      return String(never);
    }
  }
}
