/**
 * Templates of plugin requests and results: `{{name}}` placeholders replaced by values, nothing else. No
 * expressions, no code, no helpers: a value is looked up by its dotted path and escaped for where it lands —
 * percent-encoded in a URL, JSON-encoded in a JSON body (built as a value, then serialised), CommonMark-escaped in
 * answer text. A value is never re-read as a template, so a value holding `{{x}}` stays literal.
 */

const PLACEHOLDER = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*)\s*\}\}/g;
const ONLY_PLACEHOLDER = /^\{\{\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*)\s*\}\}$/;

export type Scalar = string | number | boolean | null;
export type Values = Record<string, unknown>;

/** The names a template refers to (first path segment), for checking a configuration at start. */
export function placeholdersOf(template: string): string[] {
  return [...template.matchAll(PLACEHOLDER)].map((m) => m[1]!);
}

/** The value at a dotted path (`result.ticket.id`); own properties only, so `__proto__` or `constructor` find nothing. */
export function lookup(values: Values, path: string): unknown {
  let cur: unknown = values;
  for (const key of path.split('.')) {
    if (cur === null || typeof cur !== 'object' || !Object.prototype.hasOwnProperty.call(cur, key)) return undefined;
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur;
}

/** A value as text: scalars as written, anything else (objects, lists, absent) as an empty string. */
function textOf(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return '';
}

/** Replaces each placeholder by `escape(value as text)`. */
export function renderString(template: string, values: Values, escape: (s: string) => string): string {
  return template.replace(PLACEHOLDER, (_, path: string) => escape(textOf(lookup(values, path))));
}

/** A URL template: values percent-encoded (they can add neither path segments nor query parameters). */
export function renderUrl(template: string, values: Values): string {
  return renderString(template, values, (v) => {
    // `.` and `..` (also percent-encoded) are path steps to a URL parser: a value may not walk the path.
    if (/^\.{1,2}$/.test(v)) throw new TemplateError('a value of "." or ".." cannot go into a URL');
    return encodeURIComponent(v);
  });
}

export class TemplateError extends Error {
  override name = 'TemplateError';
}

/**
 * A JSON body template (a value from the configuration): a string that is exactly one placeholder becomes the value
 * itself (a number stays a number), other strings are interpolated, keys are kept as written.
 */
export function renderJson(template: unknown, values: Values): unknown {
  if (typeof template === 'string') {
    const only = ONLY_PLACEHOLDER.exec(template);
    if (only) {
      const v = lookup(values, only[1]!);
      return v === undefined ? null : v;
    }
    return renderString(template, values, (s) => s);
  }
  if (Array.isArray(template)) return template.map((t) => renderJson(t, values));
  if (template !== null && typeof template === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(template)) out[k] = renderJson(v, values);
    return out;
  }
  return template;
}

/** Text that CommonMark reads literally: every ASCII punctuation character that could start markup is escaped. */
export function escapeMarkdown(s: string): string {
  const inline = s.replace(/[\r\n]+/g, ' ').replace(/[\\`*_[\]<>!|~&]/g, (c) => `\\${c}`);
  // Block markers matter only at the start (a value may begin a line of the result text).
  return inline.replace(/^([#+\-=])/, '\\$1').replace(/^(\d+)([.)])/, '$1\\$2');
}

/** Answer text from a result template: values CommonMark-escaped, at most `max` characters each. */
export function renderText(template: string, values: Values, max = 500): string {
  return renderString(template, values, (s) => escapeMarkdown(Array.from(s).slice(0, max).join('')));
}
