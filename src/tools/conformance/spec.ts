import { readFileSync } from 'node:fs';
import Ajv2020Module from 'ajv/dist/2020.js';
import type { ErrorObject, ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import YAML from 'yaml';

// Both packages are CommonJS with `exports.default`; under NodeNext the default import is the module object.
const Ajv2020 = Ajv2020Module.default;
const addFormats = addFormatsModule.default;

/** An OpenAPI 3.1 document as parsed from YAML or JSON. Only the parts the tool reads are typed. */
export type OpenApiDocument = Record<string, unknown>;

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

/** One operation of the document, keyed by method and a path template with its parameter names erased. */
export interface Operation {
  /** e.g. `GET /conversations/{}/responses/{}`: how the checks name operations, whatever the parameters are called. */
  key: string;
  method: string;
  path: string;
  /** The document's operationId, else the key. */
  label: string;
  /** status code (`"200"`, `"4XX"`, `"default"`) → media type → JSON pointer of the schema. */
  responses: Map<string, Map<string, string>>;
}

export interface ValidationResult {
  ok: boolean;
  /** Readable errors, the most specific first. */
  errors: string[];
}

/** `GET /conversations/{conversation_id}` → `GET /conversations/{}`. */
export function operationKey(method: string, path: string): string {
  return `${method.toUpperCase()} ${path.replace(/\{[^}]*\}/g, '{}')}`;
}

/** Reads an OpenAPI document from a YAML or JSON file. */
export function loadSpecFile(file: string): OpenApiDocument {
  const parsed: unknown = YAML.parse(readFileSync(file, 'utf8'));
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error(`${file} does not hold an OpenAPI document`);
  return parsed as OpenApiDocument;
}

const SPEC_ID = 'urn:parley-conformance:openapi';

function escapeSegment(s: string): string {
  return s.replace(/~/g, '~0').replace(/\//g, '~1');
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * The document, indexed by operation, with an Ajv (JSON Schema 2020-12, as OpenAPI 3.1 uses) that compiles any
 * schema of it by JSON pointer. `$ref`s between schemas are left to Ajv; `$ref`s between other objects
 * (responses, path items) are followed here. `discriminator` is ignored: the `oneOf` alone decides.
 */
export class Spec {
  readonly doc: OpenApiDocument;
  readonly operations: Operation[] = [];
  private readonly byKey = new Map<string, Operation>();
  private readonly ajv: InstanceType<typeof Ajv2020>;
  private readonly compiled = new Map<string, ValidateFunction>();

  constructor(doc: OpenApiDocument) {
    this.doc = doc;
    // strict: false lets OpenAPI's own keywords (discriminator, example, xml, externalDocs) through unvalidated.
    this.ajv = new Ajv2020({ strict: false, allErrors: true, logger: false });
    addFormats(this.ajv);
    // The whole document is registered so that `#/components/...` refs resolve inside it; it is not itself a
    // JSON Schema, so it is not checked against the meta-schema.
    this.ajv.addSchema({ ...doc, $id: SPEC_ID }, undefined, undefined, false);
    this.index();
  }

  /** Follows `$ref`s between objects of the document (not schemas); returns the object and its pointer. */
  resolve(node: unknown, pointer: string): { node: unknown; pointer: string } {
    let current = node;
    let at = pointer;
    for (let hops = 0; isObject(current) && typeof current['$ref'] === 'string'; hops++) {
      if (hops > 20) throw new Error(`$ref cycle at ${pointer}`);
      const ref = current['$ref'];
      if (!ref.startsWith('#/')) throw new Error(`only local $refs are supported, found ${ref}`);
      at = ref.slice(1);
      current = this.at(at);
    }
    return { node: current, pointer: at };
  }

  /** The value at a JSON pointer (`/components/schemas/Response`), or undefined. */
  at(pointer: string): unknown {
    let node: unknown = this.doc;
    for (const raw of pointer.split('/').slice(1)) {
      const seg = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
      if (Array.isArray(node)) node = node[Number(seg)];
      else if (isObject(node)) node = node[seg];
      else return undefined;
    }
    return node;
  }

  private index(): void {
    const paths = this.doc['paths'];
    if (!isObject(paths)) return;
    for (const [path, rawItem] of Object.entries(paths)) {
      const itemPtr = `/paths/${escapeSegment(path)}`;
      const { node: item, pointer: itemAt } = this.resolve(rawItem, itemPtr);
      if (!isObject(item)) continue;
      for (const method of METHODS) {
        const op = item[method];
        if (!isObject(op)) continue;
        const opAt = `${itemAt}/${method}`;
        const responses = new Map<string, Map<string, string>>();
        const rawResponses = op['responses'];
        if (isObject(rawResponses)) {
          for (const [status, rawResponse] of Object.entries(rawResponses)) {
            const { node: response, pointer: responseAt } = this.resolve(rawResponse, `${opAt}/responses/${escapeSegment(status)}`);
            const media = new Map<string, string>();
            const content = isObject(response) ? response['content'] : undefined;
            if (isObject(content)) {
              for (const [type, mediaObj] of Object.entries(content)) {
                if (isObject(mediaObj) && mediaObj['schema'] !== undefined) media.set(type, `${responseAt}/content/${escapeSegment(type)}/schema`);
              }
            }
            responses.set(status, media);
          }
        }
        const key = operationKey(method, path);
        const label = typeof op['operationId'] === 'string' ? op['operationId'] : key;
        const entry: Operation = { key, method: method.toUpperCase(), path, label, responses };
        this.operations.push(entry);
        this.byKey.set(key, entry);
      }
    }
  }

  operation(key: string): Operation | undefined {
    return this.byKey.get(key);
  }

  /** The path of the first `servers` entry (`/rest/v1beta1`), or '' when there is none. */
  basePath(): string {
    const servers = this.doc['servers'];
    const first = Array.isArray(servers) ? servers[0] : undefined;
    const url = isObject(first) && typeof first['url'] === 'string' ? first['url'] : '';
    if (!url) return '';
    return new URL(url, 'http://placeholder').pathname.replace(/\/$/, '');
  }

  /** The documented response entry for a status: exact code first, then `4XX`, then `default`. */
  documented(op: Operation, status: number): Map<string, string> | undefined {
    return op.responses.get(String(status)) ?? op.responses.get(`${String(status)[0]}XX`) ?? op.responses.get('default');
  }

  /** Validates a value against the schema at a JSON pointer of the document. */
  validate(pointer: string, value: unknown): ValidationResult {
    let fn = this.compiled.get(pointer);
    if (!fn) {
      const fragment = pointer
        .split('/')
        .map((s) => encodeURIComponent(s))
        .join('/');
      fn = this.ajv.compile({ $ref: `${SPEC_ID}#${fragment}` });
      this.compiled.set(pointer, fn);
    }
    if (fn(value)) return { ok: true, errors: [] };
    return { ok: false, errors: rankErrors(fn.errors ?? []).map(formatError) };
  }

  /** Validates a named component schema (`Response`). */
  validateComponent(name: string, value: unknown): ValidationResult {
    return this.validate(`/components/schemas/${escapeSegment(name)}`, value);
  }

  /**
   * Validates a response body against what the operation documents for that status and media type.
   * An undocumented status, or a documented status without a schema for the media type, is an error.
   */
  validateResponse(op: Operation, status: number, mediaType: string, body: unknown): ValidationResult {
    const documented = this.documented(op, status);
    if (!documented) {
      const known = [...op.responses.keys()].join(', ');
      return { ok: false, errors: [`status ${status} is not documented for ${op.label} (documented: ${known})`] };
    }
    const pointer = documented.get(mediaType);
    if (!pointer) {
      if (documented.size === 0) return { ok: true, errors: [] };
      return { ok: false, errors: [`no ${mediaType} schema documented for ${op.label} ${status} (documented: ${[...documented.keys()].join(', ')})`] };
    }
    return this.validate(pointer, body);
  }

  /** Pointer of the schema an operation documents for a status and media type. */
  schemaPointer(op: Operation, status: number, mediaType: string): string | undefined {
    return this.documented(op, status)?.get(mediaType);
  }
}

/**
 * Orders Ajv's errors so the first one names the real problem: the deepest instance path first, and within a
 * `oneOf`, an error inside the matching variant before the "wrong variant" errors (a discriminator value that
 * only another variant allows, or the oneOf summary itself).
 */
function rankErrors(errors: ErrorObject[]): ErrorObject[] {
  const summary = (e: ErrorObject) => e.keyword === 'oneOf' || e.keyword === 'anyOf' || e.keyword === 'if';
  const variantMismatch = (e: ErrorObject) =>
    /\/(oneOf|anyOf)\/\d+\//.test(e.schemaPath) && (e.keyword === 'enum' || e.keyword === 'const' || e.keyword === 'required' || e.keyword === 'type');
  const weight = (e: ErrorObject) => (summary(e) ? 2 : variantMismatch(e) ? 1 : 0);
  const depth = (e: ErrorObject) => (e.instancePath ? e.instancePath.split('/').length : 0);
  return [...errors].sort((a, b) => weight(a) - weight(b) || depth(b) - depth(a));
}

function formatError(e: ErrorObject): string {
  const where = e.instancePath || '/';
  const params = e.params as Record<string, unknown>;
  let detail = '';
  if (e.keyword === 'enum' && Array.isArray(params['allowedValues'])) detail = ` (${params['allowedValues'].map(String).join(', ')})`;
  else if (e.keyword === 'const') detail = ` (${JSON.stringify(params['allowedValue'])})`;
  else if (e.keyword === 'additionalProperties') detail = ` (${String(params['additionalProperty'])})`;
  return `${where} ${e.message ?? e.keyword}${detail}`;
}
