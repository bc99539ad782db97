// The LogRecord the embedded log hands out: one class so every record has the same shape.
//
// A record is a view of its encoded bytes (a chunk read from disk, or the window's copy of the
// frame it was appended in). Building one allocates nothing but the object: `key`, `headers` and
// `value` are decoded on first access and kept, so a reader that only looks at `topic` or at one
// header pays for nothing else. To a reader they behave like the plain fields of LogRecord: each
// record has its own `headers` object and its own `value` Buffer, every read returns the same
// object, and assigning replaces it. They are accessors on the prototype, so unlike the other
// fields they are not own properties: `{ ...r }` and Object.keys leave them out (toJSON and
// util.inspect show them).
import { inspect } from 'node:util';
import type { LogRecord } from '../types.js';

/** Marks a lazy field not decoded yet (undefined is a value a reader may assign). */
const UNSET: unique symbol = Symbol('unset');
type Unset = typeof UNSET;

/** A record as handed to readers; shared between readers, so treat it as read-only. */
export class Rec implements LogRecord {
  /** Bytes holding the record; `#at` is where its u32 length field sits. */
  readonly #buf: Buffer;
  readonly #at: number;
  /** The value is buf[#vs, #ve). */
  readonly #vs: number;
  readonly #ve: number;
  #key: string | null | Unset = UNSET;
  #headers: Record<string, string> | Unset = UNSET;
  #value: Buffer | Unset = UNSET;

  /**
   * `at` is the record's length field in `buf`, `vs`/`ve` bound its value. The record must have
   * been checked (see frame.ts, recordValueStart): the accessors decode without bounds checks.
   */
  constructor(
    public topic: string,
    public partition: number,
    public offset: number,
    public timestamp: number,
    public decoded: unknown,
    buf: Buffer,
    at: number,
    vs: number,
    ve: number,
  ) {
    this.#buf = buf;
    this.#at = at;
    this.#vs = vs;
    this.#ve = ve;
  }

  get key(): string | null {
    const k = this.#key;
    if (k !== UNSET) return k;
    const b = this.#buf;
    const at = this.#at;
    const kl = u32(b, at + 10) | 0;
    return (this.#key = kl < 0 ? null : decodeStr(b, at + 14, at + 14 + kl));
  }

  set key(k: string | null) {
    this.#key = k;
  }

  get headers(): Record<string, string> {
    const h = this.#headers;
    if (h !== UNSET) return h;
    const b = this.#buf;
    const at = this.#at;
    const kl = u32(b, at + 10) | 0;
    return (this.#headers = decodeHeaders(b, at + 14 + (kl < 0 ? 0 : kl)));
  }

  set headers(h: Record<string, string>) {
    this.#headers = h;
  }

  get value(): Buffer {
    const v = this.#value;
    if (v !== UNSET) return v;
    const b = this.#buf;
    return (this.#value = Buffer.from(b.buffer, b.byteOffset + this.#vs, this.#ve - this.#vs));
  }

  set value(v: Buffer) {
    this.#value = v;
  }

  /** The fields of LogRecord, as JSON.stringify showed them when they were plain fields. */
  toJSON(): LogRecord {
    return {
      topic: this.topic,
      partition: this.partition,
      offset: this.offset,
      key: this.key,
      value: this.value,
      headers: this.headers,
      timestamp: this.timestamp,
      decoded: this.decoded,
    };
  }

  [inspect.custom](depth: number, opts: object): string {
    if (depth < 0) return '[Rec]';
    return `Rec ${inspect(this.toJSON(), { ...opts, depth })}`;
  }
}

/** Header names of the last record decoded, by position: the next record most likely repeats them. */
const lastNames: string[] = [];

/** Headers of a checked record; `p` is its header count. A fresh plain object per call. */
export function decodeHeaders(buf: Buffer, p: number): Record<string, string> {
  const hc = buf[p] | (buf[p + 1] << 8);
  p += 2;
  const headers: Record<string, string> = {};
  for (let i = 0; i < hc; i++) {
    const nl = buf[p] | (buf[p + 1] << 8);
    p += 2;
    let name = i < 8 ? lastNames[i] : undefined;
    if (name === undefined || !sameAscii(name, buf, p, nl)) {
      name = decodeStr(buf, p, p + nl);
      if (i < 8) lastNames[i] = name;
    }
    p += nl;
    const vl = u32(buf, p);
    p += 4;
    const value = decodeStr(buf, p, p + vl);
    p += vl;
    if (name === '__proto__') Object.defineProperty(headers, name, { value, enumerable: true, writable: true, configurable: true });
    else headers[name] = value;
  }
  return headers;
}

/** Little-endian u32 without Buffer#readUInt32LE's call overhead; callers check bounds. */
export function u32(buf: Buffer, p: number): number {
  return (buf[p] | (buf[p + 1] << 8) | (buf[p + 2] << 16)) + buf[p + 3] * 0x1000000;
}

interface FastSlice {
  latin1Slice(start: number, end: number): string;
}
// Buffer#latin1Slice skips the argument juggling of Buffer#toString; it is a hot path here.
const latin1 =
  typeof (Buffer.prototype as unknown as Partial<FastSlice>).latin1Slice === 'function'
    ? (buf: Buffer, s: number, e: number): string => (buf as unknown as FastSlice).latin1Slice(s, e)
    : (buf: Buffer, s: number, e: number): string => buf.toString('latin1', s, e);

/**
 * True when `str` is pure ASCII and equal to buf[s, s+n). A pure-ASCII string has one char per
 * byte, so equal char codes prove equal UTF-8 bytes (a code unit above 0x7f never matches: the
 * string would not be what those bytes decode to).
 */
function sameAscii(str: string, buf: Buffer, s: number, n: number): boolean {
  if (str.length !== n) return false;
  for (let i = 0; i < n; i++) {
    const c = buf[s + i];
    if (c > 0x7f || str.charCodeAt(i) !== c) return false;
  }
  return true;
}

// Keys, header names and header values repeat a lot (accounts, event types, ids of one intent),
// so short ASCII strings are interned in a direct-mapped cache, indexed by a hash of a few of
// their bytes: comparing a cached string with the bytes beats a native decode call and a new
// string. Only pure-ASCII strings are cached, so the comparison proves a hit (sameAscii).
const STR_CACHE_BITS = 12;
const STR_CACHE_MAX_LEN = 64;
const strCache: string[] = new Array<string>(1 << STR_CACHE_BITS).fill('');

/** UTF-8 string in buf[s, e); short ASCII ones come from the intern cache. */
export function decodeStr(buf: Buffer, s: number, e: number): string {
  const n = e - s;
  if (n === 0) return '';
  if (n > STR_CACHE_MAX_LEN) return buf.toString('utf8', s, e);
  // Ids tend to differ at the end or everywhere, names and types in length and last bytes.
  let h = Math.imul(n, 0x9e3779b1) ^ buf[s] ^ (buf[s + (n >> 1)] << 8) ^ (buf[e - 1] << 16) ^ (buf[e - 1 - (n >> 2)] << 24);
  h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d);
  const slot = h >>> (32 - STR_CACHE_BITS);
  const hit = strCache[slot];
  if (sameAscii(hit, buf, s, n)) return hit;
  let high = 0;
  for (let i = s; i < e; i++) high |= buf[i];
  if (high > 0x7f) return buf.toString('utf8', s, e);
  const str = latin1(buf, s, e);
  strCache[slot] = str;
  return str;
}
