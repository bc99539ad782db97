// Segment files of the journal and the I/O helpers around them.
// A segment is named after the global byte position of its first frame, so a global
// position maps to (segment, file offset) and frame lengths follow from consecutive starts.
import * as fs from 'node:fs';
import * as path from 'node:path';

const SEG_RE = /^(\d{20})\.seg$/;

export class Segment {
  /** Write fd while this is the active segment (or retired but not yet synced). */
  fd: number | null = null;
  /** Written since the last fdatasync. */
  dirty = false;
  /** No longer written to; close the fd once synced. */
  retired = false;
  constructor(
    readonly dir: string,
    readonly base: number,
    public size: number,
  ) {}
  get file(): string {
    return path.join(this.dir, segmentName(this.base));
  }
  get end(): number {
    return this.base + this.size;
  }
}

export function segmentName(base: number): string {
  return `${String(base).padStart(20, '0')}.seg`;
}

/** Segment files of a dir, in journal order, with their sizes on disk. */
export function listSegments(dir: string): Segment[] {
  const out: Segment[] = [];
  for (const name of fs.readdirSync(dir)) {
    const m = SEG_RE.exec(name);
    if (!m) continue;
    const base = Number(m[1]);
    if (!Number.isSafeInteger(base)) throw new Error(`segment name out of range: ${path.join(dir, name)}`);
    out.push(new Segment(dir, base, fs.statSync(path.join(dir, name)).size));
  }
  out.sort((a, b) => a.base - b.base);
  return out;
}

/** Positioned read of exactly `len` bytes (fewer only at end of file). */
export function pread(fd: number, buf: Buffer, off: number, len: number, pos: number): Promise<number> {
  return new Promise((resolve, reject) => {
    let done = 0;
    const step = (): void => {
      fs.read(fd, buf, off + done, len - done, pos + done, (err, n) => {
        if (err) return reject(err);
        done += n;
        if (n === 0 || done >= len) resolve(done);
        else step();
      });
    };
    step();
  });
}

export function fdatasync(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fs.fdatasync(fd, (err) => (err ? reject(err) : resolve())));
}

export function fsyncFd(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fs.fsync(fd, (err) => (err ? reject(err) : resolve())));
}

/**
 * Parses whole frames out of buf[start, end), where buf[start] is file byte `pos`.
 * Returns how many bytes it consumed; the rest is handed back with the next chunk.
 */
export type ChunkParser = (buf: Buffer, start: number, end: number, pos: number) => { used: number; stop: boolean };

/** Headroom before each chunk so a frame cut at a chunk end is joined without a big copy. */
const HEADROOM = 1 << 20;

/**
 * Read fd[from, to) sequentially in large chunks, prefetching the next chunk while the
 * current one is parsed. Returns the file position after the last consumed byte.
 */
export async function readFrames(fd: number, from: number, to: number, chunkBytes: number, parse: ChunkParser): Promise<number> {
  let readPos = from;
  // One chunk never carries a partial frame over, so it needs no headroom.
  const head = to - from <= chunkBytes ? 0 : Math.min(HEADROOM, chunkBytes);
  const fetch = (): Promise<{ buf: Buffer; len: number; want: number }> | null => {
    if (readPos >= to) return null;
    const want = Math.min(chunkBytes, to - readPos);
    const buf = Buffer.allocUnsafeSlow(head + want);
    const at = readPos;
    readPos += want;
    return pread(fd, buf, head, want, at).then((len) => ({ buf, len, want }));
  };
  let pos = from;
  let carry: Buffer | null = null;
  let pending = fetch();
  try {
    while (pending) {
      const { buf, len, want } = await pending;
      if (len === 0) break;
      pending = fetch();
      let data = buf;
      let start = head;
      const end = head + len;
      if (carry && carry.length > 0) {
        if (carry.length <= head) {
          start = head - carry.length;
          carry.copy(buf, start);
        } else {
          // A frame bigger than the headroom: join by copying (rare).
          data = Buffer.concat([carry, buf.subarray(head, end)]);
          start = 0;
        }
      }
      const dataEnd = data === buf ? end : data.length;
      const { used, stop } = parse(data, start, dataEnd, pos);
      pos += used;
      if (stop) break;
      carry = used < dataEnd - start ? data.subarray(start + used, dataEnd) : null;
      // Short read: the file ended early; later chunks would not be contiguous. The caller sees pos < to.
      if (len < want) break;
    }
  } finally {
    // Never leave a read in flight on an fd the caller may close.
    if (pending) await pending.catch(() => undefined);
  }
  return pos;
}

interface PoolEntry {
  fd: number;
  refs: number;
}

/** Read-only fds per segment, opened lazily, a bounded number kept open (LRU). */
export class ReadPool {
  private readonly open = new Map<Segment, PoolEntry>();
  private closed = false;
  constructor(private readonly max = 64) {}

  acquire(seg: Segment): number {
    if (this.closed) throw new Error('log is closed');
    let e = this.open.get(seg);
    if (e) this.open.delete(seg);
    else e = { fd: fs.openSync(seg.file, 'r'), refs: 0 };
    this.open.set(seg, e);
    e.refs++;
    if (this.open.size > this.max) this.evict();
    return e.fd;
  }

  release(seg: Segment): void {
    const e = this.open.get(seg);
    if (!e) return;
    e.refs--;
    if (e.refs === 0 && (this.closed || this.open.size > this.max)) {
      this.open.delete(seg);
      fs.closeSync(e.fd);
    }
  }

  private evict(): void {
    for (const [seg, e] of this.open) {
      if (this.open.size <= this.max) break;
      if (e.refs === 0) {
        this.open.delete(seg);
        fs.closeSync(e.fd);
      }
    }
  }

  /** Close idle fds now; busy ones close when released. */
  close(): void {
    this.closed = true;
    for (const [seg, e] of this.open) {
      if (e.refs === 0) {
        this.open.delete(seg);
        fs.closeSync(e.fd);
      }
    }
  }
}
