// Frame codec for the embedded journal. A frame is the unit of atomicity: one commit.
//
//   frame   = u32 payloadLength | u32 crc32(payload) | payload        (little-endian)
//   payload = u8 version | f64 timestampMs
//           | u16 topicCount  { u16 len | utf8 topic }*
//           | u32 offsetCount [ u16 len | utf8 group ] { u16 len | utf8 topic | u32 partition | f64 nextOffset }*
//           | u32 recordCount { u32 recordLength | record }*
//   record  = u16 topicIndex | u32 partition | i32 keyLength (-1 = null) | key
//           | u16 headerCount { u16 len | utf8 name | u32 len | utf8 value }* | value (the rest)
//
// Topics are interned per frame so a reader can skip frames and records of other topics
// without decoding strings, and every record carries its own length so skipping is O(1).
import { crc32 } from 'node:zlib';
import type { LogPosition, OutRecord } from '../types.js';
import { Rec, u32 } from './record.js';

export { u32 };

export const FRAME_HEADER_BYTES = 8;
export const FRAME_VERSION = 1;
/** Largest payload we write or accept (Buffer and positioned-read limits stay far away). */
export const MAX_PAYLOAD_BYTES = 1024 * 1024 * 1024;
/** Smallest valid payload: version, timestamp, three empty counts. */
export const MIN_PAYLOAD_BYTES = 1 + 8 + 2 + 4 + 4;

export class FrameFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FrameFormatError';
  }
}

export interface EncodedFrame {
  /** Whole frame, header included. Owned by the encoder: valid until its next encode. */
  buf: Buffer;
  /** Distinct topics of the records, in first-seen order. */
  topics: string[];
  /** Topic of each record (index into `topics`). */
  recordTopic: Uint16Array;
  /** Where each record's length field sits inside `buf`. */
  recordStart: Uint32Array;
  /** Where each record's value sits inside `buf`. */
  valueStart: Uint32Array;
  valueEnd: Uint32Array;
}

interface FastWrite {
  utf8Write(s: string, offset: number, length?: number): number;
}
// Buffer#utf8Write skips the argument juggling of Buffer#write; it is a hot path here.
const hasUtf8Write = typeof (Buffer.prototype as unknown as Partial<FastWrite>).utf8Write === 'function';
const nativeUtf8 = hasUtf8Write
  ? (buf: Buffer, s: string, at: number): number => (buf as unknown as FastWrite).utf8Write(s, at)
  : (buf: Buffer, s: string, at: number): number => buf.write(s, at, 'utf8');

/** Short strings (names, types, ids, keys) are mostly ASCII: copying chars beats a native call. */
const SHORT_STRING = 32;

/** Write `s` as UTF-8 at `at` (the caller made room for maxUtf8(s)); returns the bytes written. */
function writeUtf8(buf: Buffer, s: string, at: number): number {
  const n = s.length;
  if (n > SHORT_STRING) return nativeUtf8(buf, s, at);
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c > 0x7f) return nativeUtf8(buf, s, at);
    buf[at + i] = c;
  }
  return n;
}

/** UTF-8 never needs more than 3 bytes per UTF-16 code unit. */
const maxUtf8 = (s: string): number => s.length * 3;

/**
 * Encodes commits into one reusable scratch buffer, sized from an upper bound so strings are
 * encoded once (no byteLength pass). The caller writes (or copies) the frame before the next encode.
 */
export class FrameEncoder {
  private scratch = Buffer.allocUnsafeSlow(1 << 20);

  encode(timestamp: number, group: string | null, offsets: readonly LogPosition[], records: readonly OutRecord[]): EncodedFrame {
    const n = records.length;
    const topics: string[] = [];
    const recordTopic = new Uint16Array(n);
    let topicIndex: Map<string, number> | null = null;

    // Pass 1: validate, intern topics, bound the size.
    let bound = FRAME_HEADER_BYTES + 1 + 8 + 2 + 4 + 4;
    let lastTopic: string | undefined;
    let lastIdx = 0;
    for (let i = 0; i < n; i++) {
      const r = records[i];
      const t = r.topic;
      if (t !== lastTopic) {
        if (typeof t !== 'string' || t.length === 0) throw new TypeError(`record ${i}: topic must be a non-empty string`);
        let idx = topics.length === 1 && topics[0] === t ? 0 : topicIndex?.get(t);
        if (idx === undefined) {
          idx = topics.length;
          if (idx > 0xffff) throw new RangeError('too many topics in one commit');
          if (Buffer.byteLength(t) > 0xffff) throw new RangeError(`topic name too long: ${t.slice(0, 40)}…`);
          topics.push(t);
          topicIndex ??= new Map();
          topicIndex.set(t, idx);
          bound += 2 + maxUtf8(t);
        }
        lastTopic = t;
        lastIdx = idx;
      }
      recordTopic[i] = lastIdx;
      bound += 4 + 2 + 4 + 4 + 2;
      const k = r.key;
      if (k !== null && k !== undefined) {
        if (typeof k !== 'string') throw new TypeError(`record ${i}: key must be a string or null`);
        bound += maxUtf8(k);
      }
      const h = r.headers;
      if (h) {
        let hc = 0;
        for (const name in h) {
          if (name.length > 0x5555 && Buffer.byteLength(name) > 0xffff) throw new RangeError(`header name too long: ${name.slice(0, 40)}…`);
          bound += 2 + maxUtf8(name) + 4 + maxUtf8(String(h[name]));
          hc++;
        }
        if (hc > 0xffff) throw new RangeError('too many headers');
      }
      const v = r.value;
      if (typeof v === 'string') bound += maxUtf8(v);
      else if ((v as unknown) instanceof Uint8Array) bound += v.length;
      else throw new TypeError(`record ${i}: value must be a Buffer or a string`);
    }
    if (offsets.length > 0) {
      if (group === null) throw new TypeError('offsets need a group');
      bound += 2 + maxUtf8(group);
      for (const o of offsets) {
        if (!Number.isSafeInteger(o.offset) || o.offset < 0) throw new RangeError(`bad offset ${o.offset} for ${o.topic}`);
        if (!Number.isInteger(o.partition) || o.partition < 0 || o.partition > 0xffffffff) throw new RangeError(`bad partition ${o.partition} for ${o.topic}`);
        bound += 2 + maxUtf8(o.topic) + 4 + 8;
      }
    }
    if (bound > this.scratch.length) {
      if (bound > FRAME_HEADER_BYTES + 3 * MAX_PAYLOAD_BYTES) throw new RangeError(`commit too large: up to ${bound} bytes`);
      let cap = this.scratch.length;
      while (cap < bound) cap *= 2;
      this.scratch = Buffer.allocUnsafeSlow(cap);
    }

    // Pass 2: encode.
    const buf = this.scratch;
    const recordStart = new Uint32Array(n);
    const valueStart = new Uint32Array(n);
    const valueEnd = new Uint32Array(n);
    let p = FRAME_HEADER_BYTES;
    buf[p++] = FRAME_VERSION;
    buf.writeDoubleLE(timestamp, p);
    p += 8;
    buf.writeUInt16LE(topics.length, p);
    p += 2;
    for (const t of topics) p = writeStr16(buf, p, t);

    buf.writeUInt32LE(offsets.length, p);
    p += 4;
    if (offsets.length > 0) {
      p = writeStr16(buf, p, group as string);
      for (const o of offsets) {
        p = writeStr16(buf, p, o.topic);
        buf.writeUInt32LE(o.partition, p);
        buf.writeDoubleLE(o.offset, p + 4);
        p += 12;
      }
    }

    buf.writeUInt32LE(n, p);
    p += 4;
    for (let i = 0; i < n; i++) {
      const r = records[i];
      const lenAt = p;
      recordStart[i] = p;
      buf.writeUInt16LE(recordTopic[i], p + 4);
      buf.writeUInt32LE(0, p + 6);
      p += 14;
      const k = r.key;
      if (k !== null && k !== undefined) {
        const kl = writeUtf8(buf, k, p);
        buf.writeInt32LE(kl, p - 4);
        p += kl;
      } else buf.writeInt32LE(-1, p - 4);
      const countAt = p;
      p += 2;
      let hc = 0;
      const h = r.headers;
      if (h) {
        for (const name in h) {
          p = writeStr16(buf, p, name);
          const wl = writeUtf8(buf, String(h[name]), p + 4);
          buf.writeUInt32LE(wl, p);
          p += 4 + wl;
          hc++;
        }
      }
      buf.writeUInt16LE(hc, countAt);
      const v = r.value;
      valueStart[i] = p;
      if (typeof v === 'string') p += writeUtf8(buf, v, p);
      else {
        buf.set(v, p);
        p += v.length;
      }
      valueEnd[i] = p;
      buf.writeUInt32LE(p - lenAt - 4, lenAt);
    }
    const size = p - FRAME_HEADER_BYTES;
    if (size > MAX_PAYLOAD_BYTES) throw new RangeError(`commit too large: ${size} bytes`);
    buf.writeUInt32LE(size, 0);
    const frame = buf.subarray(0, p);
    buf.writeUInt32LE(crc32(frame.subarray(FRAME_HEADER_BYTES)), 4);
    return { buf: frame, topics, recordTopic, recordStart, valueStart, valueEnd };
  }
}

function writeStr16(buf: Buffer, p: number, s: string): number {
  const l = writeUtf8(buf, s, p + 2);
  if (l > 0xffff) throw new RangeError(`string too long (${l} bytes): ${s.slice(0, 40)}…`);
  buf.writeUInt16LE(l, p);
  return p + 2 + l;
}

/** Header of one payload: everything before the records. */
export interface FrameHead {
  timestamp: number;
  topics: string[];
  group: string | null;
  offsets: LogPosition[];
  recordCount: number;
  /** Position (in the buffer) of the first record's length field. */
  recordsAt: number;
}

/**
 * Parse the part of a payload before its records. `start`/`end` bound the payload inside
 * `buf`. Throws FrameFormatError if the payload is malformed.
 */
export function readFrameHead(buf: Buffer, start: number, end: number): FrameHead {
  let p = start;
  if (end - start < MIN_PAYLOAD_BYTES) throw new FrameFormatError('payload too short');
  const version = buf[p++];
  if (version !== FRAME_VERSION) throw new FrameFormatError(`unknown frame version ${version}`);
  const timestamp = buf.readDoubleLE(p);
  p += 8;
  const nt = buf.readUInt16LE(p);
  p += 2;
  const topics = new Array<string>(nt);
  for (let i = 0; i < nt; i++) {
    const l = buf.readUInt16LE(p);
    p += 2;
    if (p + l > end) throw new FrameFormatError('topic past end of frame');
    topics[i] = buf.toString('utf8', p, p + l);
    p += l;
  }
  const no = buf.readUInt32LE(p);
  p += 4;
  let group: string | null = null;
  const offsets: LogPosition[] = [];
  if (no > 0) {
    const gl = buf.readUInt16LE(p);
    p += 2;
    if (p + gl > end) throw new FrameFormatError('group past end of frame');
    group = buf.toString('utf8', p, p + gl);
    p += gl;
    for (let i = 0; i < no; i++) {
      const tl = buf.readUInt16LE(p);
      p += 2;
      if (p + tl + 12 > end) throw new FrameFormatError('offset past end of frame');
      const topic = buf.toString('utf8', p, p + tl);
      p += tl;
      offsets.push({ topic, partition: buf.readUInt32LE(p), offset: buf.readDoubleLE(p + 4) });
      p += 12;
    }
  }
  if (p + 4 > end) throw new FrameFormatError('record count past end of frame');
  const recordCount = buf.readUInt32LE(p);
  p += 4;
  return { timestamp, topics, group, offsets, recordCount, recordsAt: p };
}

/**
 * Check the record whose length field is at `at` and return where its value starts: its length
 * must fit in `buf` and its key and headers inside its length. Throws FrameFormatError if not.
 */
export function recordValueStart(buf: Buffer, at: number): number {
  if (at + 4 > buf.length) throw new FrameFormatError('record past end of buffer');
  const end = at + 4 + u32(buf, at);
  if (end > buf.length) throw new FrameFormatError('record past end of buffer');
  if (end < at + 16) throw new FrameFormatError('record fields past its length');
  const kl = u32(buf, at + 10) | 0;
  let q = at + 14;
  if (kl >= 0) {
    q += kl;
    if (q > end) throw new FrameFormatError('key past end of record');
  }
  if (q + 2 > end) throw new FrameFormatError('record fields past its length');
  const hc = buf[q] | (buf[q + 1] << 8);
  q += 2;
  for (let i = 0; i < hc; i++) {
    if (q + 2 > end) throw new FrameFormatError('header past end of record');
    q += 2 + (buf[q] | (buf[q + 1] << 8));
    if (q + 4 > end) throw new FrameFormatError('header past end of record');
    q += 4 + u32(buf, q);
    if (q > end) throw new FrameFormatError('header past end of record');
  }
  return q;
}

/**
 * The record whose length field is at `p`, checked (recordValueStart). Nothing is decoded or
 * copied yet: key, headers and value are decoded from `buf` when first read, so a chunk read
 * from disk stays alive while any of its records does.
 */
export function decodeRecordAt(buf: Buffer, p: number, topic: string, offset: number, timestamp: number): Rec {
  const vs = recordValueStart(buf, p);
  return new Rec(topic, u32(buf, p + 6), offset, timestamp, undefined, buf, p, vs, p + 4 + u32(buf, p));
}

/** Little-endian u16, as u32. */
export function u16(buf: Buffer, p: number): number {
  return buf[p] | (buf[p + 1] << 8);
}

/** Check the crc of the frame whose header starts at `at`; returns the payload length. */
export function checkFrame(buf: Buffer, at: number, limit: number): number {
  if (at + FRAME_HEADER_BYTES > limit) throw new FrameFormatError('frame header cut');
  const len = buf.readUInt32LE(at);
  if (len < MIN_PAYLOAD_BYTES || len > MAX_PAYLOAD_BYTES) throw new FrameFormatError(`bad frame length ${len}`);
  if (at + FRAME_HEADER_BYTES + len > limit) throw new FrameFormatError('frame cut');
  const want = buf.readUInt32LE(at + 4);
  const got = crc32(buf.subarray(at + FRAME_HEADER_BYTES, at + FRAME_HEADER_BYTES + len));
  if (want !== got) throw new FrameFormatError('crc mismatch');
  return len;
}
