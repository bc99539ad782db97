// In-memory state of one topic: offset -> (frame, record index) index and a window of recent records.
import { Rec } from './record.js';

export class TopicState {
  /** Frame number holding each offset. */
  frameNo = new Uint32Array(1024);
  /** Index of each offset's record inside its frame. */
  recIdx = new Uint32Array(1024);
  /** Next offset to assign (written to the file). */
  written = 0;
  /** Readers see offsets below this (durable in fsync 'always' mode). */
  visible = 0;

  // The window is a ring of plain columns, not LogRecord objects: appends allocate nothing per
  // record that must survive young-generation GC besides what the caller already made (decoded).
  /** First offset appended by this process; older ones live only on disk. */
  private winFirst = -1;
  private cap = 0;
  private wFrame: (Buffer | undefined)[] = [];
  /** Where the record's length field, and its value, start and end in wFrame. */
  private wAt = new Uint32Array(0);
  private wStart = new Uint32Array(0);
  private wEnd = new Uint32Array(0);
  private wDecoded: unknown[] = [];
  private wTs = new Float64Array(0);
  /**
   * Offsets below this hold no decoded object: once every consumer of the topic has read a record,
   * its decoded object is dropped (releaseDecoded). Kept for the whole window, every event would
   * outlive young-generation GC and be copied (the pauses showed in p99 latency); a later reader
   * just parses the value.
   */
  private releasedTo = 0;

  constructor(
    readonly name: string,
    private readonly winMax: number,
  ) {}

  /** Index one more record; returns its offset. */
  push(frame: number, idx: number): number {
    const o = this.written;
    if (o === this.frameNo.length) {
      const n = o * 2;
      const f = new Uint32Array(n);
      f.set(this.frameNo);
      this.frameNo = f;
      const r = new Uint32Array(n);
      r.set(this.recIdx);
      this.recIdx = r;
    }
    this.frameNo[o] = frame;
    this.recIdx[o] = idx;
    this.written = o + 1;
    return o;
  }

  /**
   * Keep the record just pushed (offset written-1) in the window. `frame` is a private copy of its
   * frame, which holds the record's length field at `at` and its value at [start, end); key and
   * headers are decoded from it when read. `decoded` is the caller's object, shared and never mutated.
   */
  keep(frame: Buffer, at: number, start: number, end: number, ts: number, decoded: unknown): void {
    if (this.winMax <= 0) return;
    const o = this.written - 1;
    if (this.winFirst < 0) this.winFirst = o;
    if (o - this.winFirst >= this.cap && this.cap < this.winMax) this.grow();
    const i = o % this.cap;
    this.wFrame[i] = frame;
    this.wAt[i] = at;
    this.wStart[i] = start;
    this.wEnd[i] = end;
    this.wDecoded[i] = decoded;
    this.wTs[i] = ts;
  }

  /** Every subscriber has read below `upTo`: drop the decoded objects there. */
  releaseDecoded(upTo: number): void {
    const hi = Math.min(upTo, this.written);
    for (let o = Math.max(this.releasedTo, this.windowLow()); o < hi; o++) this.wDecoded[o % this.cap] = undefined;
    if (hi > this.releasedTo) this.releasedTo = hi;
  }

  private grow(): void {
    // Held before this push: [max(winFirst, hi - cap), hi).
    const hi = this.written - 1;
    const low = Math.max(this.winFirst, hi - this.cap);
    const cap = Math.min(this.winMax, Math.max(1024, this.cap * 2));
    const frame = new Array<Buffer | undefined>(cap);
    const at = new Uint32Array(cap);
    const start = new Uint32Array(cap);
    const end = new Uint32Array(cap);
    const decoded = new Array<unknown>(cap);
    const ts = new Float64Array(cap);
    for (let o = low; o < hi; o++) {
      const a = o % this.cap;
      const b = o % cap;
      frame[b] = this.wFrame[a];
      at[b] = this.wAt[a];
      start[b] = this.wStart[a];
      end[b] = this.wEnd[a];
      decoded[b] = this.wDecoded[a];
      ts[b] = this.wTs[a];
    }
    this.cap = cap;
    this.wFrame = frame;
    this.wAt = at;
    this.wStart = start;
    this.wEnd = end;
    this.wDecoded = decoded;
    this.wTs = ts;
  }

  /** Lowest offset still held in the window (== written when the window is empty). */
  windowLow(): number {
    if (this.winFirst < 0) return this.written;
    return Math.max(this.winFirst, this.written - this.cap);
  }

  /** A fresh record for an offset in [windowLow(), written). */
  fromWindow(offset: number): Rec {
    const i = offset % this.cap;
    return new Rec(this.name, 0, offset, this.wTs[i], this.wDecoded[i], this.wFrame[i] as Buffer, this.wAt[i], this.wStart[i], this.wEnd[i]);
  }
}
