// The embedded, file-backed event log: one append-only journal of frames split into
// segment files, shared by all topics, so file order is a global causal order.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { crc32 } from 'node:zlib';
import type { ConsumeOptions, Consumer, EventLog, LogPosition, LogRecord, OutRecord } from '../types.js';
import { EmbeddedConsumer, type ConsumerHost } from './consumer.js';
import {
  FRAME_HEADER_BYTES,
  FrameFormatError,
  MAX_PAYLOAD_BYTES,
  MIN_PAYLOAD_BYTES,
  FrameEncoder,
  checkFrame,
  compressFrame,
  decodeRecordAt,
  inflateFrame,
  readFrameHead,
  recordValueStart,
  u16,
  u32,
  zstdRecordTopic,
  type OpenFrame,
} from './frame.js';
import { FrameCache, VerifiedFrame } from './frame-cache.js';
import { lockDataDir, type DirLock } from './lock.js';
import { Rec } from './record.js';
import { ReadPool, Segment, fdatasync, fsyncFd, listSegments, pread, readFrames } from './segments.js';
import { TopicState } from './topic.js';

export type FsyncMode = 'always' | 'batch' | 'off';
export type LogCompression = 'zstd' | 'none';
export const LOG_COMPRESSIONS: readonly LogCompression[] = ['zstd', 'none'];

export interface EmbeddedLogOptions {
  /** Data dir; created if missing. One process owns it (LOCK file). */
  dir: string;
  /** 'always' (default): records are visible once written; commits resolve after the fdatasync
   *  covering them (group commit). 'batch': commits resolve at once, fdatasync every
   *  fsyncIntervalMs. 'off': never fsync. */
  fsync?: FsyncMode;
  /** Period of the background fdatasync in 'batch' mode (default 5 ms). */
  fsyncIntervalMs?: number;
  /** Roll to a new segment file past this size (default 64 MiB). */
  segmentBytes?: number;
  /** Recent records kept in memory per topic, with their decoded objects (default 65536). */
  windowRecords?: number;
  /**
   * Inspect a log another process may be writing: no lock, nothing created or cut, writes refused.
   * Reads see the frames complete when it opened; a frame still being written is left out.
   */
  readOnly?: boolean;
  /** Bytes per sequential read of recovery and `scan` (default 4 MiB). Small values are for tests. */
  readChunkBytes?: number;
  /**
   * 'zstd' (default): the records of each commit from 16 KiB up are written zstd-compressed
   * (level 1), about 9 times smaller on a busy pipeline's commits; smaller ones gain little and
   * would pay zstd's fixed cost per call. 'none': written as they are. Either way the log reads
   * frames of both kinds.
   */
  compression?: LogCompression;
}

export interface RecoveryInfo {
  /** Bytes cut from the end of the last segment (a torn or corrupt tail). */
  truncatedBytes: number;
  /** Why the tail was cut, when it was. */
  reason: string | null;
  /** True when a LOCK left by a dead process was taken over. */
  staleLockTakenOver: boolean;
}

export interface EmbeddedLogStats {
  segments: number;
  bytes: number;
  frames: number;
  records: number;
}

const DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024;
const DEFAULT_WINDOW = 65536;
// Chunks of a few MiB: large enough that a read costs little per frame, small enough that the
// allocator hands back the memory of chunks already collected instead of fresh pages.
const READ_CHUNK = 4 * 1024 * 1024;
/** Disk reads merge frames into one read while the bytes skipped in between stay below this. */
const READ_GAP_MAX = 256 * 1024;
const READ_SPAN_MAX = 8 * 1024 * 1024;
/** Bytes of verified frames `read` keeps for the next reads (see FrameCache). */
const FRAME_CACHE_BYTES = 16 * 1024 * 1024;

export class JournalCorruptError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JournalCorruptError';
  }
}

/** A commit written and visible, waiting for the fdatasync that makes it durable. */
interface Pending {
  positions: LogPosition[];
  resolve(p: LogPosition[]): void;
  reject(e: unknown): void;
}

const offsetKey = (group: string, topic: string, partition: number): string => `${group}\u0000${topic}\u0000${partition}`;

export class EmbeddedLog implements EventLog, ConsumerHost {
  readonly kind = 'embedded' as const;
  readonly dir: string;
  readonly fsyncMode: FsyncMode;
  readonly readOnly: boolean;
  readonly recovered: RecoveryInfo;

  private readonly segmentBytes: number;
  private readonly fsyncIntervalMs: number;
  private readonly windowRecords: number;
  private readonly chunkBytes: number;
  private readonly compress: boolean;
  private readonly topics = new Map<string, TopicState>();
  private readonly offsets = new Map<string, number>();
  private readonly segments: Segment[] = [];
  private active!: Segment;
  /** Global byte position where each frame starts; frames are contiguous across segments. */
  private frameStart = new Float64Array(1024);
  private frames = 0;
  private visibleFrames = 0;

  private readonly pending: Pending[] = [];
  private readonly dirty: Segment[] = [];
  private dirDirty = false;
  private syncing: Promise<void> | null = null;
  private syncTimer: NodeJS.Timeout | null = null;
  private failed: unknown = null;
  private closing = false;
  private closed = false;
  private dirFd: number | null = null;
  private readonly reads = new ReadPool();
  private readonly frameCache = new FrameCache(FRAME_CACHE_BYTES);
  private readonly encoder = new FrameEncoder();
  private readonly waiters = new Set<() => void>();
  private readonly consumers = new Set<EmbeddedConsumer>();

  private constructor(
    opts: EmbeddedLogOptions,
    private readonly lock: DirLock,
  ) {
    this.dir = opts.dir;
    this.readOnly = opts.readOnly ?? false;
    this.fsyncMode = this.readOnly ? 'off' : (opts.fsync ?? 'always');
    if (!['always', 'batch', 'off'].includes(this.fsyncMode)) throw new TypeError(`fsync must be always, batch or off, not ${String(this.fsyncMode)}`);
    this.segmentBytes = opts.segmentBytes ?? DEFAULT_SEGMENT_BYTES;
    if (!(this.segmentBytes > 0)) throw new RangeError('segmentBytes must be positive');
    this.fsyncIntervalMs = Math.max(1, opts.fsyncIntervalMs ?? 5);
    this.windowRecords = Math.max(0, Math.floor(opts.windowRecords ?? DEFAULT_WINDOW));
    this.chunkBytes = Math.max(FRAME_HEADER_BYTES, Math.floor(opts.readChunkBytes ?? READ_CHUNK));
    const compression = opts.compression ?? 'zstd';
    if (!LOG_COMPRESSIONS.includes(compression)) throw new TypeError(`compression must be zstd or none, not ${String(compression)}`);
    this.compress = compression === 'zstd';
    this.recovered = { truncatedBytes: 0, reason: null, staleLockTakenOver: lock.tookOverStale };
  }

  /** Open (and recover) the log in `opts.dir`. */
  static async open(opts: EmbeddedLogOptions): Promise<EmbeddedLog> {
    if (opts.readOnly && !fs.existsSync(opts.dir)) throw new Error(`no log in ${opts.dir}`);
    if (!opts.readOnly) fs.mkdirSync(opts.dir, { recursive: true });
    const lock = opts.readOnly ? { file: '', tookOverStale: false, release() {} } : lockDataDir(opts.dir);
    let log: EmbeddedLog | null = null;
    try {
      log = new EmbeddedLog(opts, lock);
      await log.recover();
      log.startSyncTimer();
      return log;
    } catch (e) {
      log?.closeFds();
      lock.release();
      throw e;
    }
  }

  // ---------------------------------------------------------------- recovery

  private async recover(): Promise<void> {
    const segs = listSegments(this.dir);
    let expected = 0;
    for (let i = 0; i < segs.length; i++) {
      const seg = segs[i];
      const last = i === segs.length - 1;
      if (seg.base !== expected) {
        const prev = segs[i - 1];
        throw new JournalCorruptError(
          `journal in ${this.dir} is inconsistent: segment ${path.basename(seg.file)} starts at byte ${seg.base} but ` +
            (prev ? `${path.basename(prev.file)} ends at byte ${expected}` : 'the journal starts at byte 0') +
            ' (a segment is missing or was cut); refusing to open',
        );
      }
      const fd = fs.openSync(seg.file, last && !this.readOnly ? 'r+' : 'r');
      try {
        const fileSize = seg.size;
        let why: string | null = null;
        const good = await readFrames(fd, 0, fileSize, this.chunkBytes, (buf, start, end, pos) => {
          let p = start;
          while (end - p >= FRAME_HEADER_BYTES) {
            const len = buf.readUInt32LE(p);
            if (len < MIN_PAYLOAD_BYTES || len > MAX_PAYLOAD_BYTES) {
              why = `bad frame length ${len}`;
              break;
            }
            if (pos + (p - start) + FRAME_HEADER_BYTES + len > fileSize) {
              why = 'frame cut short by the end of the file';
              break;
            }
            if (p + FRAME_HEADER_BYTES + len > end) break; // rest comes with the next chunk
            const want = buf.readUInt32LE(p + 4);
            const payloadAt = p + FRAME_HEADER_BYTES;
            if (crc32(buf.subarray(payloadAt, payloadAt + len)) !== want) {
              why = 'crc mismatch';
              break;
            }
            try {
              this.indexFrame(buf, payloadAt, payloadAt + len, seg.base + pos + (p - start));
            } catch (e) {
              if (!(e instanceof FrameFormatError)) throw e;
              why = `malformed frame: ${e.message}`;
              break;
            }
            p = payloadAt + len;
          }
          return { used: p - start, stop: why !== null };
        });
        if (good < fileSize) {
          why ??= 'frame header cut short by the end of the file';
          if (!last) {
            throw new JournalCorruptError(
              `journal segment ${seg.file} is corrupt at byte ${good} of ${fileSize} (${why}); ` +
                'it is not the last segment, so this is not a torn write from a crash; refusing to open',
            );
          }
          // A crash tears only the end. Intact frames after the bad one mean corruption of
          // acknowledged commits: refuse rather than cut them away.
          const after = findIntactFrame(fd, good + 1, fileSize);
          if (after !== undefined) {
            throw new JournalCorruptError(
              `journal segment ${seg.file} is corrupt at byte ${good} (${why}) but holds intact frames after it (from byte ${after}); ` +
                'this is not a torn write from a crash; refusing to open. Copy the data dir aside before any repair',
            );
          }
          // Torn tail from a crash (or, read-only, a frame being written now): drop it.
          if (!this.readOnly) {
            fs.ftruncateSync(fd, good);
            fs.fsyncSync(fd);
          }
          this.recovered.truncatedBytes = fileSize - good;
          this.recovered.reason = why;
          seg.size = good;
        }
      } finally {
        fs.closeSync(fd);
      }
      this.segments.push(seg);
      expected = seg.end;
    }
    if (this.readOnly) {
      // Nothing to write to: an empty journal reads as empty.
      this.active = this.segments[this.segments.length - 1] ?? new Segment(this.dir, 0, 0);
    } else if (this.segments.length === 0) {
      const seg = new Segment(this.dir, 0, 0);
      seg.fd = fs.openSync(seg.file, 'wx+');
      this.segments.push(seg);
      this.dirDirty = true;
    } else {
      const seg = this.segments[this.segments.length - 1];
      seg.fd = fs.openSync(seg.file, 'r+');
    }
    if (!this.readOnly) this.active = this.segments[this.segments.length - 1];
    this.visibleFrames = this.frames;
    for (const t of this.topics.values()) t.visible = t.written;
    if (this.fsyncMode !== 'off') {
      this.dirFd = fs.openSync(this.dir, 'r');
      if (this.dirDirty) {
        fs.fsyncSync(this.dirFd);
        this.dirDirty = false;
      }
    }
  }

  /** Index one verified frame found on disk; validates fully before changing any state. */
  private indexFrame(buf: Buffer, start: number, end: number, globalPos: number): void {
    const head = readFrameHead(buf, start, end);
    const nt = head.topics.length;
    const n = head.recordCount;
    // A compressed frame lists its records' topics up front: indexed without inflating it (its
    // records are checked when read).
    const zstd = head.zstdAt !== 0;
    let q = head.recordsAt;
    for (let i = 0; i < n; i++) {
      if (zstd) {
        if (zstdRecordTopic(buf, head, i) >= nt) throw new FrameFormatError('record topic out of range');
        continue;
      }
      if (q + 4 > end) throw new FrameFormatError('record past end of frame');
      const len = u32(buf, q);
      if (len < 12 || q + 4 + len > end) throw new FrameFormatError('record length out of bounds');
      if (u16(buf, q + 4) >= nt) throw new FrameFormatError('record topic out of range');
      q += 4 + len;
    }
    if (!zstd && q !== end) throw new FrameFormatError('trailing bytes after records');

    const f = this.addFrame(globalPos);
    const states = head.topics.map((t) => this.topicState(t));
    q = head.recordsAt;
    for (let i = 0; i < n; i++) {
      if (zstd) {
        states[zstdRecordTopic(buf, head, i)].push(f, i);
        continue;
      }
      states[u16(buf, q + 4)].push(f, i);
      q += 4 + u32(buf, q);
    }
    if (head.group !== null) for (const o of head.offsets) this.offsets.set(offsetKey(head.group, o.topic, o.partition), o.offset);
  }

  private addFrame(globalPos: number): number {
    const f = this.frames;
    if (f === this.frameStart.length) {
      const a = new Float64Array(f * 2);
      a.set(this.frameStart);
      this.frameStart = a;
    }
    this.frameStart[f] = globalPos;
    this.frames = f + 1;
    return f;
  }

  private frameEnd(f: number): number {
    return f + 1 < this.frames ? this.frameStart[f + 1] : this.active.end;
  }

  // ---------------------------------------------------------------- writing

  partitions(_topic: string): number {
    return 1;
  }

  append(records: OutRecord[]): Promise<LogPosition[]> {
    return this.write(null, [], records);
  }

  commit(group: string, offsets: LogPosition[], records: OutRecord[]): Promise<LogPosition[]> {
    if (typeof group !== 'string') return Promise.reject(new TypeError('commit: group must be a string'));
    return this.write(group, offsets, records);
  }

  private write(group: string | null, offsets: readonly LogPosition[], records: readonly OutRecord[]): Promise<LogPosition[]> {
    if (this.closed) return Promise.reject(new Error(`log ${this.dir} is closed`));
    if (this.readOnly) return Promise.reject(new Error(`log ${this.dir} was opened read-only`));
    // eslint-disable-next-line @typescript-eslint/no-base-to-string -- what was thrown: an Error in practice, printed as such
    if (this.failed) return Promise.reject(new Error(`log ${this.dir} failed earlier and accepts no more writes: ${String(this.failed)}`));
    if (records.length === 0 && offsets.length === 0) return Promise.resolve([]);
    for (const r of records) {
      if (r.partition !== undefined && r.partition !== 0)
        return Promise.reject(new RangeError(`topic ${r.topic} has 1 partition on the embedded log, not partition ${r.partition}`));
    }
    const timestamp = Date.now();
    let enc: ReturnType<FrameEncoder['encode']>;
    let disk: Buffer;
    try {
      // Bad arguments are refused before anything is written: the log stays usable.
      enc = this.encoder.encode(timestamp, group, offsets, records);
      disk = (this.compress ? compressFrame(enc) : null) ?? enc.buf;
    } catch (e) {
      return Promise.reject(e);
    }
    try {
      const pos = this.writeFrame(disk);
      const f = this.addFrame(pos);
      const states = enc.topics.map((t) => this.topicState(t));
      const positions = new Array<LogPosition>(records.length);
      // The encoder reuses its buffer: the window keeps values from one copy of the frame.
      const frame = this.windowRecords > 0 && records.length > 0 ? Buffer.from(enc.buf) : null;
      for (let i = 0; i < records.length; i++) {
        const t = states[enc.recordTopic[i]];
        const offset = t.push(f, i);
        positions[i] = { topic: t.name, partition: 0, offset };
        if (frame !== null) t.keep(frame, enc.recordStart[i], enc.valueStart[i], enc.valueEnd[i], timestamp, records[i].decoded);
      }
      const ends = states.map((t) => t.written);
      const offKeys = offsets.map((o) => offsetKey(group as string, o.topic, o.partition));
      const offVals = offsets.map((o) => o.offset);
      // Visible once written: a reader acting on a frame appends after it, and recovery keeps
      // only a prefix of whole frames, so nothing derived can outlive what it came from.
      this.visibleFrames = f + 1;
      this.setVisible(states, ends, offKeys, offVals);
      if (states.length > 0) this.notify();
      if (this.fsyncMode === 'always') {
        return new Promise<LogPosition[]>((resolve, reject) => {
          this.pending.push({ positions, resolve, reject });
          this.kickSync();
        });
      }
      return Promise.resolve(positions);
    } catch (e) {
      // A commit that could not be written must stop everything after it: a later commit
      // would move its group's offsets past the lost one.
      this.fail(e);
      return Promise.reject(e);
    }
  }

  /** Write one frame at the end of the journal; returns its global position. */
  private writeFrame(buf: Buffer): number {
    let seg = this.active;
    if (seg.size > 0 && seg.size + buf.length > this.segmentBytes) seg = this.roll();
    const fd = seg.fd as number;
    let done = 0;
    try {
      while (done < buf.length) done += fs.writeSync(fd, buf, done, buf.length - done, seg.size + done);
    } catch (e) {
      // Undo a partial write so the journal never holds a torn frame before later ones.
      try {
        fs.ftruncateSync(fd, seg.size);
      } catch (e2) {
        this.fail(e2);
      }
      throw e;
    }
    const pos = seg.end;
    seg.size += buf.length;
    if (!seg.dirty) {
      seg.dirty = true;
      this.dirty.push(seg);
    }
    return pos;
  }

  private roll(): Segment {
    const old = this.active;
    const seg = new Segment(this.dir, old.end, 0);
    seg.fd = fs.openSync(seg.file, 'wx+');
    this.segments.push(seg);
    this.active = seg;
    if (this.fsyncMode === 'off') {
      fs.closeSync(old.fd as number);
      old.fd = null;
    } else {
      // Closed after the next sync covers it (never here: a sync may be using the fd).
      old.retired = true;
      this.dirDirty = true;
      if (!old.dirty) {
        old.dirty = true;
        this.dirty.push(old);
      }
    }
    return seg;
  }

  private closeRetired(seg: Segment): void {
    if (seg.fd !== null && seg.retired && !seg.dirty) {
      fs.closeSync(seg.fd);
      seg.fd = null;
    }
  }

  private setVisible(topics: TopicState[], ends: number[], offKeys: string[], offVals: number[]): void {
    for (let i = 0; i < topics.length; i++) if (topics[i].visible < ends[i]) topics[i].visible = ends[i];
    for (let i = 0; i < offKeys.length; i++) this.offsets.set(offKeys[i], offVals[i]);
  }

  private notify(): void {
    if (this.waiters.size === 0) return;
    const ws = [...this.waiters];
    this.waiters.clear();
    for (const w of ws) w();
  }

  // ---------------------------------------------------------------- durability

  private kickSync(): void {
    if (this.syncing === null) this.syncing = this.syncLoop();
  }

  /** Group commit: one fdatasync covers every frame written before it started. */
  private async syncLoop(): Promise<void> {
    try {
      for (;;) {
        const covered = this.pending.length;
        const segs = this.dirty.splice(0);
        if (segs.length === 0 && !this.dirDirty && covered === 0) break;
        for (const s of segs) s.dirty = false;
        const dir = this.dirDirty;
        this.dirDirty = false;
        const work: Promise<void>[] = segs.map((s) => fdatasync(s.fd as number));
        if (dir && this.dirFd !== null) work.push(fsyncFd(this.dirFd));
        // allSettled: never leave a sync running on an fd we may close after a failure.
        for (const r of await Promise.allSettled(work)) if (r.status === 'rejected') throw r.reason;
        for (const s of segs) this.closeRetired(s);
        if (covered > 0) {
          for (const p of this.pending.splice(0, covered)) p.resolve(p.positions);
        }
        if (this.fsyncMode !== 'always') break;
      }
    } catch (e) {
      this.fail(e);
    } finally {
      this.syncing = null;
    }
    // Frames written while the loop was finishing up.
    if (this.fsyncMode === 'always' && this.pending.length > 0 && !this.failed) this.kickSync();
  }

  /** Waits out the sync loop. A method, as inline TS keeps `this.syncing` narrowed to null across kickSync(). */
  private async syncSettled(): Promise<void> {
    while (this.syncing) await this.syncing;
  }

  private fail(e: unknown): void {
    if (this.failed) return;
    this.failed = e;
    const err = new Error(`log ${this.dir}: write or fsync failed, commits not durable: ${String(e)}`, { cause: e });
    for (const p of this.pending.splice(0)) p.reject(err);
    this.notify();
  }

  private startSyncTimer(): void {
    if (this.fsyncMode !== 'batch') return;
    this.syncTimer = setInterval(() => {
      if (this.syncing === null && (this.dirty.length > 0 || this.dirDirty) && !this.failed) this.kickSync();
    }, this.fsyncIntervalMs);
    this.syncTimer.unref();
  }

  // ---------------------------------------------------------------- reading

  /** committed, known at once: the embedded log holds every group's offsets in memory. */
  committedNow(group: string, topic: string, partition: number): number {
    return this.offsets.get(offsetKey(group, topic, partition)) ?? 0;
  }

  async committed(group: string, topic: string, partition: number): Promise<number> {
    return this.committedNow(group, topic, partition);
  }

  /** endOffset, known at once. */
  endOffsetNow(topic: string, partition: number): number {
    checkPartition(topic, partition);
    return this.topics.get(topic)?.visible ?? 0;
  }

  async endOffset(topic: string, partition: number): Promise<number> {
    return this.endOffsetNow(topic, partition);
  }

  async read(topic: string, partition: number, fromOffset: number, maxRecords: number): Promise<LogRecord[]> {
    checkPartition(topic, partition);
    if (!Number.isSafeInteger(fromOffset) || fromOffset < 0) throw new RangeError(`read: bad offset ${fromOffset}`);
    const t = this.topics.get(topic);
    if (!t || maxRecords <= 0) return [];
    const to = Math.min(t.visible, fromOffset + Math.floor(maxRecords));
    return this.readRange(t, fromOffset, to);
  }

  /** Records [from, to) of a topic: from the window when held there, else from disk. */
  readRange(t: TopicState, from: number, to: number): LogRecord[] | Promise<LogRecord[]> {
    if (to <= from) return [];
    const low = t.windowLow();
    const fromWin: LogRecord[] = [];
    for (let o = Math.max(from, low); o < to; o++) fromWin.push(t.fromWindow(o));
    if (from >= low) return fromWin;
    return this.readDisk(t, from, Math.min(to, low)).then((disk) => (fromWin.length ? disk.concat(fromWin) : disk));
  }

  private segmentAt(pos: number): Segment {
    const s = this.segments;
    let lo = 0;
    let hi = s.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (s[mid].base <= pos) lo = mid;
      else hi = mid - 1;
    }
    return s[lo];
  }

  private async readDisk(t: TopicState, from: number, to: number): Promise<LogRecord[]> {
    // The frames holding [from, to), in order (a topic's frame numbers never decrease).
    const frames = new Map<number, VerifiedFrame | null>();
    const missing: number[] = [];
    for (let o = from, last = -1; o < to; o++) {
      const f = t.frameNo[o];
      if (f === last) continue;
      last = f;
      const v = this.frameCache.get(f);
      frames.set(f, v ?? null);
      if (v === undefined) missing.push(f);
    }
    // One positioned read for each run of nearby missing frames in one segment.
    for (let i = 0; i < missing.length;) {
      const f0 = missing[i];
      const spanStart = this.frameStart[f0];
      const seg = this.segmentAt(spanStart);
      let spanEnd = this.frameEnd(f0);
      let j = i + 1;
      while (j < missing.length) {
        const f = missing[j];
        const s = this.frameStart[f];
        const e = this.frameEnd(f);
        if (s >= seg.end || s - spanEnd > READ_GAP_MAX || e - spanStart > READ_SPAN_MAX) break;
        spanEnd = e;
        j++;
      }
      const len = spanEnd - spanStart;
      const buf = Buffer.allocUnsafe(len);
      const fd = this.reads.acquire(seg);
      let got: number;
      try {
        got = await pread(fd, buf, 0, len, spanStart - seg.base);
      } finally {
        this.reads.release(seg);
      }
      if (got !== len) throw new JournalCorruptError(`journal segment ${seg.file}: short read at ${spanStart - seg.base}`);
      for (; i < j; i++) {
        const f = missing[i];
        const at = this.frameStart[f] - spanStart;
        let v: VerifiedFrame;
        try {
          const plen = checkFrame(buf, at, len);
          if (FRAME_HEADER_BYTES + plen !== this.frameEnd(f) - this.frameStart[f]) throw new FrameFormatError('frame length differs from the index');
          const start = at + FRAME_HEADER_BYTES;
          const open = inflateFrame(buf, start, start + plen);
          v = new VerifiedFrame(open.buf, open.end, open.head);
        } catch (e) {
          if (!(e instanceof FrameFormatError)) throw e;
          throw new JournalCorruptError(`journal segment ${seg.file} is corrupt at byte ${this.frameStart[f] - seg.base}: ${e.message}`);
        }
        frames.set(f, v);
        this.frameCache.put(f, v);
      }
    }
    const out = new Array<LogRecord>(to - from);
    let lastF = -1;
    let v: VerifiedFrame | null = null;
    for (let o = from; o < to; o++) {
      const f = t.frameNo[o];
      if (f !== lastF) {
        lastF = f;
        v = frames.get(f) as VerifiedFrame;
      }
      const vf = v as VerifiedFrame;
      try {
        const q = vf.recordAt(t.recIdx[o]);
        if (vf.head.topics[u16(vf.buf, q + 4)] !== t.name) throw new FrameFormatError('the record belongs to another topic');
        out[o - from] = decodeRecordAt(vf.buf, q, t.name, o, vf.head.timestamp);
      } catch (e) {
        if (!(e instanceof FrameFormatError)) throw e;
        throw new JournalCorruptError(`journal index mismatch for ${t.name} offset ${o} (frame ${f}): ${e.message}; reopen the log`);
      }
    }
    return out;
  }

  async scan(topics: string[], visit: (r: LogRecord) => void): Promise<number> {
    if (this.closed) throw new Error(`log ${this.dir} is closed`);
    const wanted = new Map<string, ScanCursor>();
    for (const name of topics) {
      const t = this.topics.get(name);
      if (t) wanted.set(name, { t, next: 0 });
    }
    if (wanted.size === 0 || this.visibleFrames === 0) return 0;
    const frames = this.visibleFrames;
    const endPos = this.frameEnd(frames - 1);
    // Frames holding records of the wanted topics, from the index. Only those are checked and
    // decoded; the others are stepped over, their positions checked against the index.
    const needed = new Uint8Array(frames);
    for (const { t } of wanted.values()) {
      const fno = t.frameNo;
      let last = -1;
      for (let o = 0, n = t.visible; o < n; o++) {
        const f = fno[o];
        if (f !== last) {
          if (f < frames) needed[f] = 1;
          last = f;
        }
      }
    }
    let count = 0;
    let f = 0;
    for (const seg of this.segments.slice()) {
      if (seg.base >= endPos) break;
      const to = Math.min(seg.size, endPos - seg.base);
      const fd = this.reads.acquire(seg);
      let got: number;
      try {
        got = await readFrames(fd, 0, to, this.chunkBytes, (buf, start, end, pos) => {
          let p = start;
          while (end - p >= FRAME_HEADER_BYTES) {
            const at = pos + (p - start);
            const len = u32(buf, p);
            const payloadAt = p + FRAME_HEADER_BYTES;
            const payloadEnd = payloadAt + len;
            if (payloadEnd > end) {
              if (len > MAX_PAYLOAD_BYTES || at + FRAME_HEADER_BYTES + len > to) {
                throw new JournalCorruptError(`journal segment ${seg.file} is corrupt at byte ${at}: bad frame length`);
              }
              break; // rest comes with the next chunk
            }
            if (f >= frames || this.frameStart[f] !== seg.base + at) {
              throw new JournalCorruptError(`journal segment ${seg.file} is corrupt at byte ${at}: frame ${f} is not where the index has it`);
            }
            if (needed[f] === 1) {
              // One crc per frame, over the bytes the records below are decoded from.
              if (crc32(buf.subarray(payloadAt, payloadEnd)) !== u32(buf, p + 4)) {
                throw new JournalCorruptError(`journal segment ${seg.file} is corrupt at byte ${at}: crc mismatch`);
              }
              const where = `journal segment ${seg.file}, frame at byte ${at}`;
              count += scanFrame(
                malformed(where, () => inflateFrame(buf, payloadAt, payloadEnd)),
                f,
                wanted,
                visit,
                where,
              );
            }
            f++;
            p = payloadEnd;
          }
          return { used: p - start, stop: false };
        });
      } finally {
        this.reads.release(seg);
      }
      if (got !== to) throw new JournalCorruptError(`journal segment ${seg.file}: could only read ${got} of ${to} bytes`);
    }
    return count;
  }

  // ---------------------------------------------------------------- consumers

  consume(opts: ConsumeOptions): Consumer {
    if (this.closed || this.closing) throw new Error(`log ${this.dir} is closed`);
    for (const c of this.consumers) if (c.group === opts.group) throw new Error(`consumer group ${opts.group} is already running on ${this.dir}`);
    const c = new EmbeddedConsumer(this, opts);
    this.consumers.add(c);
    return c;
  }

  /** A consumer moved past records of `t`: release what no consumer still has to read. */
  consumed(t: TopicState): void {
    let low = Infinity;
    for (const c of this.consumers) {
      const next = c.nextOffset(t);
      if (next !== undefined && next < low) low = next;
    }
    if (low !== Infinity) t.releaseDecoded(low);
  }

  topicState(name: string): TopicState {
    let t = this.topics.get(name);
    if (!t) {
      t = new TopicState(name, this.windowRecords);
      this.topics.set(name, t);
    }
    return t;
  }

  onAppend(wake: () => void): () => void {
    this.waiters.add(wake);
    return () => this.waiters.delete(wake);
  }

  consumerEnded(c: EmbeddedConsumer): void {
    this.consumers.delete(c);
  }

  // ---------------------------------------------------------------- lifecycle

  stats(): EmbeddedLogStats {
    let records = 0;
    for (const t of this.topics.values()) records += t.written;
    return { segments: this.segments.length, bytes: this.active.end, frames: this.frames, records };
  }

  async close(): Promise<void> {
    if (this.closing) {
      while (!this.closed) await new Promise((r) => setTimeout(r, 5));
      return;
    }
    this.closing = true;
    try {
      await Promise.all([...this.consumers].map((c) => c.stop()));
      if (this.syncTimer) clearInterval(this.syncTimer);
      await this.syncSettled();
      if (this.fsyncMode !== 'off' && !this.failed && (this.dirty.length > 0 || this.dirDirty)) {
        this.kickSync();
        await this.syncSettled();
      }
    } finally {
      this.closed = true;
      this.closeFds();
      this.lock.release();
      this.notify();
    }
  }

  private closeFds(): void {
    for (const s of this.segments) {
      if (s.fd !== null) {
        fs.closeSync(s.fd);
        s.fd = null;
      }
    }
    if (this.dirFd !== null) {
      fs.closeSync(this.dirFd);
      this.dirFd = null;
    }
    this.reads.close();
    this.frameCache.clear();
  }
}

interface ScanCursor {
  t: TopicState;
  /** Offset of the topic's next record in the scan. */
  next: number;
}

/** Runs `fn`, reporting a malformed frame as a JournalCorruptError that says where. */
function malformed<T>(where: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof FrameFormatError) throw new JournalCorruptError(`${where}: malformed frame: ${e.message}`);
    throw e;
  }
}

/**
 * Visit the records of the wanted topics in verified frame `f` (its records inflated), in frame
 * order; returns how many it visited. Records are built without decoding anything (see Rec).
 */
function scanFrame(frame: OpenFrame, f: number, wanted: Map<string, ScanCursor>, visit: (r: LogRecord) => void, where: string): number {
  const { buf, end, head } = frame;
  const nt = head.topics.length;
  let map: (ScanCursor | undefined)[] | null = null;
  for (let i = 0; i < nt; i++) {
    const w = wanted.get(head.topics[i]);
    if (w) {
      map ??= new Array<ScanCursor | undefined>(nt);
      map[i] = w;
    }
  }
  if (map === null) return 0;
  const ts = head.timestamp;
  const n = head.recordCount;
  let count = 0;
  let q = head.recordsAt;
  for (let i = 0; i < n; i++) {
    if (q + 4 > end) throw new JournalCorruptError(`${where}: record past its frame`);
    const next = q + 4 + u32(buf, q);
    if (next > end) throw new JournalCorruptError(`${where}: record past its frame`);
    const w = map[u16(buf, q + 4)];
    if (w !== undefined) {
      const t = w.t;
      const off = w.next++;
      // The index and the bytes must agree on every record handed out.
      if (off >= t.visible || t.frameNo[off] !== f || t.recIdx[off] !== i) {
        throw new JournalCorruptError(`${where}: record ${i} of topic ${t.name} does not match the index (offset ${off}); reopen the log`);
      }
      if (off >= t.windowLow()) visit(t.fromWindow(off));
      else {
        let vs: number;
        try {
          vs = recordValueStart(buf, q);
        } catch (e) {
          if (e instanceof FrameFormatError) throw new JournalCorruptError(`${where}: malformed record: ${e.message}`);
          throw e;
        }
        visit(new Rec(t.name, u32(buf, q + 6), off, ts, undefined, buf, q, vs, next));
      }
      count++;
    }
    q = next;
  }
  return count;
}

/** First position in [from, end) where a whole frame with a matching crc starts, if any. */
function findIntactFrame(fd: number, from: number, end: number): number | undefined {
  if (end - from < FRAME_HEADER_BYTES) return undefined;
  const buf = Buffer.allocUnsafe(end - from);
  let got = 0;
  while (got < buf.length) {
    const n = fs.readSync(fd, buf, got, buf.length - got, from + got);
    if (n === 0) break;
    got += n;
  }
  for (let p = 0; p + FRAME_HEADER_BYTES <= got; p++) {
    const len = buf.readUInt32LE(p);
    if (len < MIN_PAYLOAD_BYTES || len > MAX_PAYLOAD_BYTES || p + FRAME_HEADER_BYTES + len > got) continue;
    if (crc32(buf.subarray(p + FRAME_HEADER_BYTES, p + FRAME_HEADER_BYTES + len)) === buf.readUInt32LE(p + 4)) return from + p;
  }
  return undefined;
}

function checkPartition(topic: string, partition: number): void {
  if (partition !== 0) throw new RangeError(`topic ${topic} has 1 partition in the embedded log; partition ${partition} does not exist`);
}

/** Open (and recover) an embedded log in `opts.dir`. */
export function openEmbeddedLog(opts: EmbeddedLogOptions): Promise<EmbeddedLog> {
  return EmbeddedLog.open(opts);
}
