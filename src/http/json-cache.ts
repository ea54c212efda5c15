/**
 * Bodies that never change once built (a finished response, a cached message page) are serialized once: the
 * serializer keeps their JSON text beside them (a WeakMap, so it goes with the object). Only objects marked with
 * `immutableBody` are remembered; everything else is serialized on every reply, as before.
 */
const immutable = new WeakSet<object>();
const texts = new WeakMap<object, string>();
const shaped = new WeakMap<object, WeakMap<(o: never) => unknown, unknown>>();

/** Marks a body that is never mutated again (its JSON text may be reused). Returns it. */
export function immutableBody<T extends object>(body: T): T {
  immutable.add(body);
  return body;
}

export function isImmutableBody(body: unknown): boolean {
  return typeof body === 'object' && body !== null && immutable.has(body);
}

/** JSON.stringify, remembered for immutable bodies. */
export function serializeBody(data: unknown): string {
  if (typeof data !== 'object' || data === null || !immutable.has(data)) return JSON.stringify(data);
  let text = texts.get(data);
  if (text === undefined) {
    text = JSON.stringify(data);
    texts.set(data, text);
  }
  return text;
}

/** `shape(body)`, remembered (and itself immutable) when `body` is immutable: a dialect's view of a cached body. */
export function shapeOnce<T extends object, R extends object>(body: T, shape: (o: T) => R): R {
  if (!immutable.has(body)) return shape(body);
  let byShape = shaped.get(body);
  if (!byShape) {
    byShape = new WeakMap();
    shaped.set(body, byShape);
  }
  let out = byShape.get(shape as (o: never) => unknown) as R | undefined;
  if (out === undefined) {
    out = immutableBody(shape(body));
    byShape.set(shape as (o: never) => unknown, out);
  }
  return out;
}
