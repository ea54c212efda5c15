import { isDeepStrictEqual } from 'node:util';
import type { Operation, Spec } from './spec.ts';

/** One event of a stream as it came over the wire. */
export interface SseEvent {
  /** 0-based position among the events (comments not counted). */
  index: number;
  id: string | undefined;
  event: string | undefined;
  data: string | undefined;
  /** The data line parsed, or undefined when it is not JSON. */
  json: unknown;
}

export interface ParsedStream {
  events: SseEvent[];
  comments: string[];
  /** Violations of contract §5's framing: `id`, `event`, `data` lines in that order, then a blank line. */
  framing: string[];
}

/**
 * Parses SSE text strictly. Contract §5 fixes each frame as `id: N\nevent: TYPE\ndata: <one line of JSON>\n\n`;
 * comment-only frames (`: keep-alive`) may come between frames. Anything else is reported under `framing`.
 */
export function parseStream(raw: string): ParsedStream {
  const events: SseEvent[] = [];
  const comments: string[] = [];
  const framing: string[] = [];
  const text = raw.replace(/\r\n?/g, '\n');
  if (text !== raw) framing.push('uses CR line endings; the contract frames with LF');
  const blocks = text.split('\n\n');
  const tail = blocks.pop();
  if (tail) framing.push(`stream ends inside a frame: ${JSON.stringify(tail.slice(0, 80))}`);
  for (const block of blocks) {
    if (block === '') continue;
    const lines = block.split('\n');
    const fields = lines.filter((l) => !l.startsWith(':'));
    comments.push(...lines.filter((l) => l.startsWith(':')));
    if (fields.length === 0) continue;
    const n = events.length + 1;
    if (fields.length !== lines.length) framing.push(`event ${n}: comment lines inside an event frame`);
    const ev: SseEvent = { index: events.length, id: undefined, event: undefined, data: undefined, json: undefined };
    const order: string[] = [];
    for (const line of fields) {
      const colon = line.indexOf(':');
      const name = colon === -1 ? line : line.slice(0, colon);
      // SSE allows `field:value`; the contract writes `field: value`.
      const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (colon !== -1 && line[colon + 1] !== ' ') framing.push(`event ${n}: "${name}:" not followed by a space`);
      order.push(name);
      if (name === 'id' || name === 'event') ev[name] = value;
      else if (name === 'data') {
        if (ev.data !== undefined) framing.push(`event ${n}: data spans several lines`);
        ev.data = ev.data === undefined ? value : `${ev.data}\n${value}`;
      } else framing.push(`event ${n}: unexpected field "${name}"`);
    }
    if (order.join(',') !== 'id,event,data') framing.push(`event ${n}: fields are ${order.join(', ')}; expected id, event, data`);
    if (ev.data !== undefined) {
      try {
        ev.json = JSON.parse(ev.data);
      } catch {
        framing.push(`event ${n}: data is not JSON`);
      }
    }
    events.push(ev);
  }
  return { events, comments, framing };
}

const TERMINAL = new Set(['RESPONSE_COMPLETED', 'RESPONSE_FAILED']);

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : {});

/**
 * Checks the sequence rules of contract §5 on a parsed stream of one response: ids 1..n, `sequence_number` and
 * `event_type` agreeing with the frame, CREATED → IN_PROGRESS → OUTPUT_DELTA* → one terminal event, then the
 * end; reasoning sent once; the last snapshot of each message equal to the final message.
 */
export function checkSequence(events: SseEvent[]): string[] {
  const problems: string[] = [];
  if (events.length < 2) return [`only ${events.length} event(s); expected at least RESPONSE_CREATED and a terminal event`];
  events.forEach((e, i) => {
    const n = i + 1;
    const data = obj(e.json);
    if (e.event === 'ERROR') {
      problems.push(`event ${n}: ERROR event ${JSON.stringify(data['error'] ?? data)}`);
      return;
    }
    if (e.id !== String(n)) problems.push(`event ${n}: id is ${JSON.stringify(e.id)}; expected ${n}`);
    if (data['sequence_number'] !== n) problems.push(`event ${n}: sequence_number is ${JSON.stringify(data['sequence_number'])}; expected ${n}`);
    if (data['event_type'] !== e.event) problems.push(`event ${n}: event_type ${JSON.stringify(data['event_type'])} differs from the frame's event ${JSON.stringify(e.event)}`);
  });
  const types = events.map((e) => e.event);
  const responseOf = (e: SseEvent | undefined) => obj(obj(e?.json)['response']);
  if (types[0] !== 'RESPONSE_CREATED') problems.push(`first event is ${types[0]}; expected RESPONSE_CREATED`);
  else if (responseOf(events[0])['status'] !== 'CREATED') problems.push(`RESPONSE_CREATED carries status ${String(responseOf(events[0])['status'])}`);
  const inProgress = types.filter((t) => t === 'RESPONSE_IN_PROGRESS').length;
  if (inProgress !== 1) problems.push(`${inProgress} RESPONSE_IN_PROGRESS events; expected exactly one`);
  else if (types[1] !== 'RESPONSE_IN_PROGRESS') problems.push(`second event is ${types[1]}; expected RESPONSE_IN_PROGRESS`);
  else if (responseOf(events[1])['status'] !== 'IN_PROGRESS') problems.push(`RESPONSE_IN_PROGRESS carries status ${String(responseOf(events[1])['status'])}`);
  const terminals = types.filter((t) => t !== undefined && TERMINAL.has(t)).length;
  const lastType = types[types.length - 1];
  if (terminals !== 1) problems.push(`${terminals} terminal events; expected exactly one`);
  if (lastType === undefined || !TERMINAL.has(lastType)) problems.push(`last event is ${lastType}; expected RESPONSE_COMPLETED or RESPONSE_FAILED, then the end of the stream`);
  types.slice(2, -1).forEach((t, i) => {
    if (t !== 'RESPONSE_OUTPUT_DELTA') problems.push(`event ${i + 3} is ${t}; only RESPONSE_OUTPUT_DELTA may come between RESPONSE_IN_PROGRESS and the terminal event`);
  });

  const ids = new Set(events.map((e) => responseOf(e)['response_id']).filter((v) => v !== undefined));
  if (ids.size > 1) problems.push(`events name ${ids.size} different response_ids`);

  // Snapshots: keep the latest per id; it must equal the final output with that id (contract §5).
  const final = responseOf(events[events.length - 1]);
  const finalOutputs = Array.isArray(final['outputs']) ? (final['outputs'] as unknown[]).map(obj) : [];
  const reasoningSeen = new Set<unknown>();
  const latest = new Map<unknown, unknown>();
  for (const e of events) {
    if (e.event !== 'RESPONSE_OUTPUT_DELTA') continue;
    const output = obj(obj(e.json)['output']);
    if (output['type'] === 'REASONING_MESSAGE') {
      const id = obj(output['reasoning_message'])['reasoning_message_id'];
      if (reasoningSeen.has(id)) problems.push(`event ${e.index + 1}: reasoning message ${String(id)} sent more than once`);
      reasoningSeen.add(id);
      latest.set(id, output['reasoning_message']);
    } else if (output['type'] === 'MESSAGE') {
      latest.set(obj(output['message'])['message_id'], output['message']);
    }
  }
  if (lastType === 'RESPONSE_COMPLETED') {
    if (final['status'] !== 'COMPLETED') problems.push(`RESPONSE_COMPLETED carries status ${String(final['status'])}`);
    for (const out of finalOutputs) {
      const item = obj(out['type'] === 'MESSAGE' ? out['message'] : out['reasoning_message']);
      const id = item['message_id'] ?? item['reasoning_message_id'];
      if (!latest.has(id)) problems.push(`final output ${String(id)} was never sent as a RESPONSE_OUTPUT_DELTA`);
      else if (!isDeepStrictEqual(latest.get(id), item)) problems.push(`the last snapshot of ${String(id)} differs from the final message in RESPONSE_COMPLETED`);
    }
    if (!finalOutputs.some((o) => o['type'] === 'MESSAGE')) problems.push('RESPONSE_COMPLETED has no MESSAGE output');
  } else if (lastType === 'RESPONSE_FAILED') {
    if (final['status'] !== 'FAILED') problems.push(`RESPONSE_FAILED carries status ${String(final['status'])}`);
  }
  return problems;
}

/**
 * Where each stream event type's `data` schema is: the branches of the stream schema's `data.oneOf`, matched to
 * event types by their description ("Data for RESPONSE_CREATED event") or their name (ResponseCreatedData).
 * The upstream branches are structurally alike, so validating against the `oneOf` itself would reject every
 * event ("matches more than one"); each event is validated against its own branch instead.
 */
export function eventSchemas(spec: Spec, op: Operation, mediaType = 'text/event-stream'): { byType: Map<string, string>; eventPointer?: string; whole?: string } {
  const byType = new Map<string, string>();
  const pointer = spec.schemaPointer(op, 200, mediaType);
  if (!pointer) return { byType };
  const { node: streamSchema, pointer: streamAt } = spec.resolve(spec.at(pointer), pointer);
  const props = obj(obj(streamSchema)['properties']);
  const eventPointer = props['event'] !== undefined ? `${streamAt}/properties/event` : undefined;
  if (props['data'] === undefined) return { byType, whole: streamAt, ...(eventPointer ? { eventPointer } : {}) };
  const { node: dataSchema, pointer: dataAt } = spec.resolve(props['data'], `${streamAt}/properties/data`);
  const variants = obj(dataSchema)['oneOf'] ?? obj(dataSchema)['anyOf'];
  const types = enumOf(spec, props['event']);
  if (Array.isArray(variants)) {
    const resolved = variants.map((v, i) => {
      const ref = obj(v)['$ref'];
      const name = typeof ref === 'string' ? (ref.split('/').pop() ?? '') : '';
      const { node, pointer: at } = spec.resolve(v, `${dataAt}/${obj(dataSchema)['oneOf'] ? 'oneOf' : 'anyOf'}/${i}`);
      const description = String(obj(node)['description'] ?? '');
      return { at, name: name || String(obj(node)['title'] ?? ''), description };
    });
    for (const type of types) {
      const word = new RegExp(`(^|[^A-Z_])${type}([^A-Z_]|$)`);
      const squashed = type.replace(/_/g, '').toLowerCase();
      const byDescription = resolved.filter((r) => word.test(r.description));
      const byName = resolved.filter((r) => r.name.toLowerCase().includes(squashed));
      const match = byDescription.length === 1 ? byDescription[0] : byName.length === 1 ? byName[0] : undefined;
      if (match) byType.set(type, match.at);
    }
  }
  return { byType, whole: dataAt, ...(eventPointer ? { eventPointer } : {}) };
}

function enumOf(spec: Spec, schema: unknown): string[] {
  const { node } = spec.resolve(schema, '');
  const values = obj(node)['enum'];
  return Array.isArray(values) ? values.filter((v): v is string => typeof v === 'string') : [];
}
