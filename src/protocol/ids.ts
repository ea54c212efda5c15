import { createHash, randomBytes } from 'node:crypto';

/** Resource prefixes of contract §3; `whep`: a webhook endpoint registered through the admin API (extension);
 * `call`: a plugin call (actions, issue 10). */
export type IdPrefix = 'conv' | 'resp' | 'msg' | 'rs' | 'cite' | 'evt' | 'whep' | 'call';

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const ID_BODY_LENGTH = 22;
const RANDOM_BITS = 80n;
const RANDOM_MASK = (1n << RANDOM_BITS) - 1n;

let lastMs = 0;
let lastRandom = 0n;

/**
 * 48 bits of milliseconds then 80 random bits, base-62, fixed width, so ids sort by creation time as strings.
 * Within one millisecond the random part increments (monotonic factory): ids from one process never tie or invert.
 */
function nextValue(nowMs: number): bigint {
  if (nowMs <= lastMs) {
    lastRandom = (lastRandom + 1n) & RANDOM_MASK;
    if (lastRandom === 0n) lastMs += 1; // 2^80 ids in one ms: borrow the next millisecond
  } else {
    lastMs = nowMs;
    lastRandom = BigInt('0x' + randomBytes(10).toString('hex')) >> 1n; // leave headroom for increments
  }
  return (BigInt(lastMs) << RANDOM_BITS) | lastRandom;
}

function encode(value: bigint): string {
  let out = '';
  let v = value;
  for (let i = 0; i < ID_BODY_LENGTH; i++) {
    out = ALPHABET[Number(v % 62n)] + out;
    v /= 62n;
  }
  return out;
}

/** A new time-ordered id with the given prefix, e.g. `conv_0XbY...`. */
export function newId(prefix: IdPrefix, nowMs: number = Date.now()): string {
  return `${prefix}_${encode(nextValue(nowMs))}`;
}

const ORDINAL_BITS = 16n;
const HASH_BITS = RANDOM_BITS - ORDINAL_BITS;

/**
 * A deterministic id: `ms` as its time, then 80 bits made of `ordinal` (16 bits) and a hash of `seed` (64 bits).
 * The same arguments give the same id in any process, so a retried attempt writes its outputs under the ids the
 * dead attempt used; ids derived with one `ms` and increasing ordinals sort in ordinal order. The hash bits are
 * as unpredictable as `seed` (a response id carries 80 random bits).
 */
export function derivedId(prefix: IdPrefix, ms: number, seed: string, ordinal: number): string {
  const hash = BigInt('0x' + createHash('sha256').update(`${prefix}:${seed}`).digest('hex').slice(0, 16));
  const ordinalBits = BigInt(ordinal) & ((1n << ORDINAL_BITS) - 1n);
  return `${prefix}_${encode((BigInt(ms) << RANDOM_BITS) | (ordinalBits << HASH_BITS) | hash)}`;
}

const ID_PATTERNS: Record<IdPrefix, RegExp> = {
  conv: /^conv_[0-9A-Za-z]{22}$/,
  resp: /^resp_[0-9A-Za-z]{22}$/,
  msg: /^msg_[0-9A-Za-z]{22}$/,
  rs: /^rs_[0-9A-Za-z]{22}$/,
  cite: /^cite_[0-9A-Za-z]{22}$/,
  evt: /^evt_[0-9A-Za-z]{22}$/,
  whep: /^whep_[0-9A-Za-z]{22}$/,
  call: /^call_[0-9A-Za-z]{22}$/,
};

/** True when `value` is a well-formed id of that prefix (shape only, not existence). */
export function isId(prefix: IdPrefix, value: string): boolean {
  return ID_PATTERNS[prefix].test(value);
}

/** Milliseconds encoded in an id (for diagnostics and tests). */
export function idTimestamp(id: string): number {
  const body = id.slice(id.indexOf('_') + 1);
  let v = 0n;
  for (const ch of body) v = v * 62n + BigInt(ALPHABET.indexOf(ch));
  return Number(v >> RANDOM_BITS);
}
