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
//
// A compressed frame (version 2) keeps everything before the records as it is and replaces the
// records with
//   u16 topicIndex × recordCount | u32 rawLength | zstd(the records as version 1 lays them out)
// so recovery indexes it without inflating it, and the crc covers the bytes on disk.
import { constants as zc, crc32, zstdCompressSync, zstdDecompressSync } from 'node:zlib';
import type { LogPosition, OutRecord } from '../types.js';
import { Rec, u32 } from './record.js';

export { u32 };

export const FRAME_HEADER_BYTES = 8;
export const FRAME_VERSION = 1;
export const FRAME_VERSION_ZSTD = 2;
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
  /** Where the first record's length field sits inside `buf`. */
  recordsAt: number;
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
    const recordsAt = p;
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
    return { buf: frame, topics, recordTopic, recordStart, valueStart, valueEnd, recordsAt };
  }
}

/** Records sections smaller than this are written as they are: zstd gains little there. */
export const COMPRESS_MIN_BYTES = 16 * 1024;
/** zstd level 1: most of the ratio of the default level (3) on these records, at less CPU. */
const ZSTD_LEVEL = { params: { [zc.ZSTD_c_compressionLevel]: 1 } };

/**
 * The version 2 frame of an encoded (version 1) frame, or null when its records are too small to
 * gain from compression or do not shrink. A new buffer: `enc.buf` stays as it was.
 */
export function compressFrame(enc: EncodedFrame): Buffer | null {
  const { buf, recordsAt, recordTopic } = enc;
  const raw = buf.subarray(recordsAt);
  if (raw.length < COMPRESS_MIN_BYTES) return null;
  const z = zstdCompressSync(raw, ZSTD_LEVEL);
  const n = recordTopic.length;
  const size = recordsAt + 2 * n + 4 + z.length;
  if (size >= buf.length) return null;
  const out = Buffer.allocUnsafe(size);
  buf.copy(out, 0, 0, recordsAt);
  out[FRAME_HEADER_BYTES] = FRAME_VERSION_ZSTD;
  let p = recordsAt;
  for (let i = 0; i < n; i++, p += 2) out.writeUInt16LE(recordTopic[i], p);
  out.writeUInt32LE(raw.length, p);
  out.set(z, p + 4);
  out.writeUInt32LE(size - FRAME_HEADER_BYTES, 0);
  out.writeUInt32LE(crc32(out.subarray(FRAME_HEADER_BYTES)), 4);
  return out;
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
  /**
   * Version 1: position (in the buffer) of the first record's length field. Version 2: position
   * of the records' topic indexes (u16 each); `inflateFrame` gives the records themselves.
   */
  recordsAt: number;
  /** Version 2 only (else 0): the records' length once inflated, and where their zstd bytes start. */
  rawLength: number;
  zstdAt: number;
}

/**
 * Parse the part of a payload before its records. `start`/`end` bound the payload inside
 * `buf`. Throws FrameFormatError if the payload is malformed.
 */
export function readFrameHead(buf: Buffer, start: number, end: number): FrameHead {
  let p = start;
  if (end - start < MIN_PAYLOAD_BYTES) throw new FrameFormatError('payload too short');
  const version = buf[p++];
  if (version !== FRAME_VERSION && version !== FRAME_VERSION_ZSTD) throw new FrameFormatError(`unknown frame version ${version}`);
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
  if (version === FRAME_VERSION) return { timestamp, topics, group, offsets, recordCount, recordsAt: p, rawLength: 0, zstdAt: 0 };
  const zstdAt = p + 2 * recordCount + 4;
  if (zstdAt > end) throw new FrameFormatError('record topics past end of frame');
  const rawLength = buf.readUInt32LE(zstdAt - 4);
  if (rawLength > MAX_PAYLOAD_BYTES) throw new FrameFormatError(`bad inflated length ${rawLength}`);
  return { timestamp, topics, group, offsets, recordCount, recordsAt: p, rawLength, zstdAt };
}

/** Topic index of record `i` of a version 2 frame, from the head's table (no inflating). */
export function zstdRecordTopic(buf: Buffer, head: FrameHead, i: number): number {
  return u16(buf, head.recordsAt + 2 * i);
}

/** A payload whose records can be read in place: buf[head.recordsAt, end) holds them. */
export interface OpenFrame {
  buf: Buffer;
  end: number;
  head: FrameHead;
}

/**
 * The records of a checked payload (buf[start, end)), inflated when the frame is compressed.
 * Throws FrameFormatError when they do not inflate to the length the frame gives.
 */
export function inflateFrame(buf: Buffer, start: number, end: number, head: FrameHead = readFrameHead(buf, start, end)): OpenFrame {
  if (head.zstdAt === 0) return { buf, end, head };
  let raw: Buffer;
  try {
    // One output chunk of the known length: node's default (16 KiB chunks, joined) costs twice the inflating.
    const size = Math.max(1, head.rawLength);
    raw = zstdDecompressSync(buf.subarray(head.zstdAt, end), { maxOutputLength: size, chunkSize: Math.max(size, 64) });
  } catch (e) {
    throw notInflated(e);
  }
  return inflated(raw, head);
}

const notInflated = (e: unknown): FrameFormatError => new FrameFormatError(`records do not inflate: ${(e as Error).message}`);

function inflated(raw: Buffer, head: FrameHead): OpenFrame {
  if (raw.length !== head.rawLength) throw new FrameFormatError(`records inflate to ${raw.length} bytes, not ${head.rawLength}`);
  return { buf: raw, end: raw.length, head: { ...head, recordsAt: 0 } };
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
