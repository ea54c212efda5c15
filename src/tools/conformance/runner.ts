import { call, callStream, type CallOptions, type Exchange } from './http.ts';
import type { Spec } from './spec.ts';

/** The outcome of one check: one HTTP exchange (or one aspect of a stream) against the document. */
export interface CheckResult {
  ok: boolean;
  /** The document has no such operation: the request still ran (later checks need its result), nothing counted. */
  skipped: boolean;
  /** operationId (or `METHOD /path` when the document has none). */
  operation: string;
  status: number | null;
  /** What was exercised, e.g. "bad cursor". */
  label: string;
  /** Every problem found, the most telling first. */
  errors: string[];
}

/** Thrown to stop the scenario when a step that later steps depend on failed. */
export class Abort extends Error {
  override name = 'Abort';
}

export type Obj = Record<string, unknown>;
export const obj = (v: unknown): Obj => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : {});
export const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

const TRACE_HEADER = 'x-moveworks-root-uuid';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A semantic check on a body: returns problems (empty or undefined when fine). */
export type BodyCheck = (body: Obj, ex: Exchange) => string[] | string | undefined;

export interface Expect {
  status: number;
  check?: BodyCheck;
  /**
   * The contract fixes this error code where the upstream document's enum for the status does not list it
   * (CONTRACT.md §7: a bad `limit` is INVALID_INPUT, while upstream's 400 of the list endpoints only names
   * INVALID_CURSOR). The body must then be the error envelope with exactly this code; nothing else is relaxed.
   */
  contractCode?: string;
}

/**
 * Makes requests, validates each answer against the document (status documented, body schema, trace header),
 * and records one result per check. Knows nothing of the scenario.
 */
export class Runner {
  readonly results: CheckResult[] = [];
  /** Operation keys the scenario exercised. */
  readonly exercised = new Set<string>();
  private readonly traceIds = new Map<string, string>();
  private traced = 0;

  constructor(
    readonly spec: Spec,
    readonly baseUrl: string,
    private readonly onResult: (r: CheckResult) => void = () => undefined,
  ) {}

  /** How many responses carried a trace id, and how many of those repeated an earlier one. */
  traceSummary(): { responses: number; duplicates: number } {
    return { responses: this.traced, duplicates: this.traced - this.traceIds.size };
  }

  record(key: string, label: string, status: number | null, errors: string[]): CheckResult {
    const op = this.spec.operation(key);
    this.exercised.add(key);
    const r: CheckResult = { ok: errors.length === 0, skipped: !op, operation: op?.label ?? key, status, label, errors };
    this.results.push(r);
    this.onResult(r);
    return r;
  }

  /** A check of a contract extension (no upstream operation): always counted, named `<name> (extension)`. */
  recordExtension(name: string, label: string, status: number | null, errors: string[]): CheckResult {
    const r: CheckResult = { ok: errors.length === 0, skipped: false, operation: `${name} (extension)`, status, label, errors };
    this.results.push(r);
    this.onResult(r);
    return r;
  }

  /** Status, `x-moveworks-root-uuid`, content type and body schema of one answer. */
  inspect(key: string, ex: Exchange, expected: number, mediaType = 'application/json'): string[] {
    const errors: string[] = [];
    if (ex.status !== expected) {
      const e = obj(obj(ex.json)['error']);
      const said = typeof e['code'] === 'string' ? ` (${e['code']}: ${String(e['message'])})` : '';
      errors.push(`status ${ex.status}, expected ${expected}${said}`);
    }
    const isJson = (ex.headers.get('content-type') ?? '').toLowerCase().startsWith('application/json');
    const media = ex.status === expected ? mediaType : 'application/json';
    const op = this.spec.operation(key);
    if (op) {
      if (media === 'application/json') {
        if (!isJson) errors.push(`content-type is ${ex.headers.get('content-type') ?? '(none)'}, expected application/json`);
        const v = this.spec.validateResponse(op, ex.status, media, ex.json === undefined ? ex.text : ex.json);
        errors.push(...v.errors);
      } else if (!this.spec.documented(op, ex.status)) {
        errors.push(`status ${ex.status} is not documented for ${op.label}`);
      }
    }
    errors.push(...this.traceProblems(ex));
    return errors;
  }

  /** Status, trace header and the envelope `{"error":{"code","message"}}` with the contract's code (see Expect). */
  inspectContractError(ex: Exchange, expected: number, code: string): string[] {
    const errors: string[] = [];
    if (ex.status !== expected) errors.push(`status ${ex.status}, expected ${expected}`);
    const body = obj(ex.json);
    const e = obj(body['error']);
    if (Object.keys(body).length !== 1 || typeof e['message'] !== 'string' || Object.keys(e).sort().join(',') !== 'code,message') {
      errors.push(`body is not the error envelope: ${ex.text.slice(0, 120)}`);
    }
    if (e['code'] !== code) errors.push(`error.code ${String(e['code'])}, the contract says ${code}`);
    errors.push(...this.traceProblems(ex));
    return errors;
  }

  private traceProblems(ex: Exchange): string[] {
    const id = ex.headers.get(TRACE_HEADER);
    if (!id) return [`no ${TRACE_HEADER} header`];
    this.traced++;
    const where = `${ex.method} ${new URL(ex.url).pathname}`;
    const problems: string[] = [];
    if (!UUID.test(id)) problems.push(`${TRACE_HEADER} ${JSON.stringify(id)} is not a UUID`);
    const earlier = this.traceIds.get(id);
    if (earlier) problems.push(`${TRACE_HEADER} ${id} repeats the one of an earlier response (${earlier})`);
    else this.traceIds.set(id, where);
    return problems;
  }

  /** One JSON request, inspected and recorded; `check` runs on the body when the status is the expected one. */
  async exchange(key: string, label: string, path: string, opts: CallOptions, expect: Expect): Promise<Exchange> {
    const method = key.split(' ')[0]!;
    let ex: Exchange;
    try {
      ex = await call(this.baseUrl, method, path, opts);
    } catch (err) {
      this.record(key, label, null, [`request failed: ${(err as Error).message}`]);
      throw new Abort(`${method} ${path} failed`);
    }
    const errors = expect.contractCode ? this.inspectContractError(ex, expect.status, expect.contractCode) : this.inspect(key, ex, expect.status);
    if (ex.status === expect.status && expect.check) errors.push(...asList(expect.check(obj(ex.json), ex)));
    this.record(key, label, ex.status, errors);
    return ex;
  }

  /** A request whose answer is read as a stream; inspected by the caller. */
  async stream(key: string, path: string, opts: CallOptions): Promise<Exchange> {
    const method = key.split(' ')[0]!;
    try {
      return await callStream(this.baseUrl, method, path, opts);
    } catch (err) {
      this.record(key, 'stream', null, [`request failed: ${(err as Error).message}`]);
      throw new Abort(`${method} ${path} failed`);
    }
  }

  /** A request that is not a check of its own (polling); the caller inspects and records. */
  async quiet(key: string, path: string, opts: CallOptions): Promise<Exchange> {
    const method = key.split(' ')[0]!;
    try {
      return await call(this.baseUrl, method, path, opts);
    } catch (err) {
      this.record(key, 'request', null, [`request failed: ${(err as Error).message}`]);
      throw new Abort(`${method} ${path} failed`);
    }
  }
}

function asList(v: string[] | string | undefined): string[] {
  if (v === undefined) return [];
  return typeof v === 'string' ? [v] : v;
}

/** One line per check: `ok`/`FAIL`/`skip`, operation, status, label, first error. */
export function formatResult(r: CheckResult): string {
  const mark = r.skipped ? 'skip' : r.ok ? 'ok  ' : 'FAIL';
  const status = r.status === null ? '---' : String(r.status);
  const label = r.label ? ` [${r.label}]` : '';
  const first = r.errors[0];
  const extra = r.errors.length > 1 ? ` (+${r.errors.length - 1} more)` : '';
  const why = (r.skipped ? ' (not in the document)' : '') + (first ? `: ${first}${extra}` : '');
  return `${mark} ${r.operation} ${status}${label}${why}`;
}
