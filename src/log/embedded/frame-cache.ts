// Frames read back from disk by `read`, kept after their crc was checked: consecutive batches of
// a consumer, and consumers of different topics, mostly need the same frames again. Frames never
// change once written (the journal only grows; only recovery cuts, before any read), so a frame
// number names the same bytes for the life of the log.
import { FrameFormatError, u32, type FrameHead } from './frame.js';

/** A verified frame: its records are buf[head.recordsAt, end) (inflated if it was compressed) and its head is parsed. */
export class VerifiedFrame {
  /** Position in `buf` of each record's length field, built on first use. */
  private pos: Uint32Array | null = null;

  constructor(
    readonly buf: Buffer,
    readonly end: number,
    readonly head: FrameHead,
  ) {}

  /** Where record `i` of the frame starts (its length field). Throws FrameFormatError when out of range. */
  recordAt(i: number): number {
    let pos = this.pos;
    if (pos === null) {
      const buf = this.buf;
      const n = this.head.recordCount;
      const end = this.end;
      pos = new Uint32Array(n);
      let q = this.head.recordsAt;
      for (let k = 0; k < n; k++) {
        if (q + 4 > end) throw new FrameFormatError('record past end of frame');
        pos[k] = q;
        q += 4 + u32(buf, q);
      }
      if (q > end) throw new FrameFormatError('record past end of frame');
      this.pos = pos;
    }
    if (!(i < pos.length)) throw new FrameFormatError(`no record ${i} in a frame of ${pos.length}`);
    return pos[i];
  }
}

/**
 * Least recently used frames up to a memory bound. A frame keeps the whole buffer it was read in
 * alive, so the bound counts each such buffer once, in full, while any of its frames is held.
 */
export class FrameCache {
  private readonly frames = new Map<number, VerifiedFrame>();
  private readonly held = new Map<Buffer, number>();
  private bytes = 0;

  constructor(private readonly maxBytes: number) {}

  get(f: number): VerifiedFrame | undefined {
    const v = this.frames.get(f);
    if (v !== undefined) {
      this.frames.delete(f);
      this.frames.set(f, v);
    }
    return v;
  }

  put(f: number, v: VerifiedFrame): void {
    if (this.maxBytes <= 0 || v.buf.length > this.maxBytes) return;
    this.drop(f);
    this.frames.set(f, v);
    const n = this.held.get(v.buf) ?? 0;
    if (n === 0) this.bytes += v.buf.length;
    this.held.set(v.buf, n + 1);
    for (const old of this.frames.keys()) {
      if (this.bytes <= this.maxBytes) break;
      this.drop(old);
    }
  }

  /** Held bytes (for tests). */
  size(): number {
    return this.bytes;
  }

  clear(): void {
    this.frames.clear();
    this.held.clear();
    this.bytes = 0;
  }

  private drop(f: number): void {
    const v = this.frames.get(f);
    if (v === undefined) return;
    this.frames.delete(f);
    const n = (this.held.get(v.buf) ?? 1) - 1;
    if (n > 0) this.held.set(v.buf, n);
    else {
      this.held.delete(v.buf);
      this.bytes -= v.buf.length;
    }
  }
}
