import { acceptsCallbacks, actionChecks, DEFAULT_ACTION_QUESTION } from './actions.ts';
import { extensionChecks } from './extensions.ts';
import { OPS, scenario } from './scenario.ts';
import { Abort, Runner, type CheckResult } from './runner.ts';
import { Spec, type OpenApiDocument } from './spec.ts';

export interface ConformanceOptions {
  /** The OpenAPI document (parsed), or a Spec built from it. */
  spec: OpenApiDocument | Spec;
  /** Where the API lives, base path included (`http://127.0.0.1:8080/rest/v1beta1`). */
  baseUrl: string;
  token: string;
  assistant: string;
  question?: string;
  /** V1 documents: a question the server answers with a confirmation's buttons (default: the demo's VPN reset). */
  actionQuestion?: string;
  /** How long a response may take to finish; default 120 s, as the upstream documents. */
  timeoutMs?: number;
  pollMs?: number;
  /** Also check the contract's extensions (cancel, resume after the final event, POST stream resume). */
  extensions?: boolean;
  /** Called with each result as it is decided (the CLI prints it). */
  onResult?: (r: CheckResult) => void;
}

export interface ConformanceReport {
  results: CheckResult[];
  passed: number;
  failed: number;
  skipped: number;
}

export const DEFAULT_QUESTION = 'How do I reset my VPN password?';

/**
 * Drives a running server through every operation of the document and validates every answer against it.
 * Operations of the document the scenario cannot reach, or does not know, are failures.
 */
export async function runConformance(opts: ConformanceOptions): Promise<ConformanceReport> {
  const spec = opts.spec instanceof Spec ? opts.spec : new Spec(opts.spec);
  const runner = new Runner(spec, opts.baseUrl.replace(/\/$/, ''), opts.onResult);
  const known = new Set<string>(Object.values(OPS));
  try {
    await scenario(runner, {
      token: opts.token,
      assistant: opts.assistant,
      question: opts.question ?? DEFAULT_QUESTION,
      timeoutMs: opts.timeoutMs ?? 120000,
      pollMs: opts.pollMs ?? 100,
    });
    if (acceptsCallbacks(runner)) {
      await actionChecks(runner, {
        token: opts.token,
        assistant: opts.assistant,
        question: opts.question ?? DEFAULT_QUESTION,
        actionQuestion: opts.actionQuestion ?? DEFAULT_ACTION_QUESTION,
        timeoutMs: opts.timeoutMs ?? 120000,
        pollMs: opts.pollMs ?? 100,
      });
    }
    if (opts.extensions) {
      await extensionChecks(runner, { token: opts.token, assistant: opts.assistant, question: opts.question ?? DEFAULT_QUESTION, timeoutMs: opts.timeoutMs ?? 120000 });
    }
  } catch (err) {
    if (!(err instanceof Abort)) throw err;
    const r: CheckResult = { ok: false, skipped: false, operation: 'scenario', status: null, label: 'stopped', errors: [err.message] };
    runner.results.push(r);
    opts.onResult?.(r);
  }
  for (const op of spec.operations) {
    if (runner.exercised.has(op.key)) continue;
    const why = known.has(op.key) ? 'not reached: an earlier step failed' : `the tool has no check for ${op.key}`;
    const r: CheckResult = { ok: false, skipped: false, operation: op.label, status: null, label: 'coverage', errors: [why] };
    runner.results.push(r);
    opts.onResult?.(r);
  }
  const counted = runner.results.filter((r) => !r.skipped);
  const passed = counted.filter((r) => r.ok).length;
  return { results: runner.results, passed, failed: counted.length - passed, skipped: runner.results.length - counted.length };
}

/** The closing line, e.g. `conformance: 42 passed, 0 failed`. */
export function summaryLine(report: ConformanceReport): string {
  return `conformance: ${report.passed} passed, ${report.failed} failed`;
}
