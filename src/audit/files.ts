// The embedded journal: append-only files in <dataDir>/audit/, in segments: the events as
// TabSeparated lines (the table's columns, the very lines the ClickHouse store INSERTs), the
// checksums as NDJSON. Each segment starts with a state file (chain heads and daily
// checksums as of its first row), so a restart reads only the newest segment back; a torn last
// line after a crash is cut off. Rows count as stored once fsync'd.
import { closeSync, existsSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, statSync, writeSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DataDirLockedError, lockDataDir, type DirLock } from '../log/embedded/lock.js';
import { checksumKey, JournalState, linesOf, type ChainHead, type StagedRow } from './journal.js';
import { EVENT_COLUMNS, type ChecksumRow } from './columns.js';
import type { JournalStore } from './sink.js';

export const auditDir = (dataDir: string): string => join(dataDir, 'audit');
const seqName = (seq: number) => String(seq).padStart(6, '0');
export const eventsFile = (dir: string, seq: number) => join(dir, `events-${seqName(seq)}.tsv`);
export const checksumsFile = (dir: string, seq: number) => join(dir, `checksums-${seqName(seq)}.ndjson`);
const stateFile = (dir: string, seq: number) => join(dir, `state-${seqName(seq)}.json`);

interface SegmentState {
  heads: ChainHead[];
  checksums: ChecksumRow[];
}

/** Lines of a file up to its last newline; cuts a torn tail off the file itself when `repair`. */
export function readLines(path: string, repair: boolean): string[] {
  if (!existsSync(path)) return [];
  const buf = readFileSync(path);
  const end = buf.lastIndexOf(0x0a) + 1;
  if (end < buf.length && repair) {
    const fd = openSync(path, 'r+');
    try {
      ftruncateSync(fd, end);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }
  return end === 0
    ? []
    : buf
        .subarray(0, end - 1)
        .toString()
        .split('\n');
}

const column = (name: string): number => EVENT_COLUMNS.findIndex(([c]) => c === name);
const DAY = column('day');
const TOPIC = column('log_topic');
const PARTITION = column('log_partition');
const OFFSET = column('log_offset');
const ROW_HASH = column('row_hash');

/** What a restart needs of a stored line (these columns never hold an escape). */
function stagedOf(line: string): Omit<StagedRow, 'line'> {
  const f = line.split('\t');
  if (f.length !== EVENT_COLUMNS.length) throw new Error(`audit journal: a line with ${f.length} columns, expected ${EVENT_COLUMNS.length}: ${line.slice(0, 120)}`);
  return { day: f[DAY], log_topic: f[TOPIC], log_partition: Number(f[PARTITION]), log_offset: Number(f[OFFSET]), row_hash: f[ROW_HASH] };
}

function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Where the stored journal ends per (topic, partition), read without repairing or writing anything:
 * for a catch-up to check, before it touches the files, that they do not run past the log.
 */
export function storedEnds(dataDir: string): { topic: string; partition: number; next: number }[] {
  const dir = auditDir(dataDir);
  if (!existsSync(dir)) return [];
  const seqs = readdirSync(dir)
    .map((f) => /^state-(\d+)\.json$/.exec(f))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]));
  if (seqs.length === 0) return [];
  const seq = Math.max(...seqs);
  const s = JSON.parse(readFileSync(stateFile(dir, seq), 'utf8')) as SegmentState;
  const state = new JournalState(s.heads, s.checksums);
  state.applyStored(readLines(eventsFile(dir, seq), false).map(stagedOf));
  return state.heads().map((h) => ({ topic: h.log_topic, partition: h.log_partition, next: h.last_offset + 1 }));
}

export class FileStore implements JournalStore {
  private readonly dir: string;
  private seq = 0;
  private events: number | undefined;
  private sums: number | undefined;
  private size = 0;
  private lock: DirLock | undefined;

  constructor(
    dataDir: string,
    private readonly segmentBytes = 256 << 20,
  ) {
    this.dir = auditDir(dataDir);
  }

  async load(): Promise<JournalState> {
    mkdirSync(this.dir, { recursive: true });
    this.takeLock();
    this.closeFiles();
    // Journals written before the TabSeparated segments: refuse, rather than journal twice.
    const old = readdirSync(this.dir).filter((f) => /^events-\d+\.ndjson$/.test(f));
    if (old.length > 0)
      throw new Error(
        `the audit journal in ${this.dir} is in the older NDJSON format (${old[0]}); move that directory aside: the journal is rebuilt from the log by the next audit command`,
      );
    const seqs = readdirSync(this.dir)
      .map((f) => /^state-(\d+)\.json$/.exec(f))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => Number(m[1]));
    if (seqs.length === 0) {
      this.seq = 1;
      this.writeState(new JournalState());
      this.open();
      return new JournalState();
    }
    this.seq = Math.max(...seqs);
    const s = JSON.parse(readFileSync(stateFile(this.dir, this.seq), 'utf8')) as SegmentState;
    const state = new JournalState(s.heads, s.checksums);
    const rows = readLines(eventsFile(this.dir, this.seq), true).map(stagedOf);
    // The checksums may lag the rows (a crash between the two writes): those that do are written again.
    const touched = new Map<string, ChecksumRow>();
    for (const c of state.applyStored(rows)) touched.set(checksumKey(c), c);
    state.rewind();
    for (const line of readLines(checksumsFile(this.dir, this.seq), true)) {
      const c = JSON.parse(line) as ChecksumRow;
      const k = checksumKey(c);
      const t = touched.get(k);
      if (t && t.last_offset === c.last_offset && t.head === c.head && t.row_count === c.row_count) touched.delete(k);
    }
    this.open();
    if (touched.size > 0) this.append(this.sums!, [...touched.values()]);
    return state;
  }

  async store(rows: StagedRow[], state: JournalState): Promise<ChecksumRow[]> {
    if (this.events === undefined) throw new Error('audit journal files are not open: positions() first');
    if (this.size >= this.segmentBytes) {
      this.closeFiles();
      this.seq++;
      this.writeState(state);
      this.open();
    }
    this.size += this.write(this.events, linesOf(rows));
    return state.applyStored(rows);
  }

  async storeChecksums(sums: ChecksumRow[]): Promise<void> {
    if (this.sums === undefined) throw new Error('audit journal files are not open: positions() first');
    this.append(this.sums, sums);
  }

  async close(): Promise<void> {
    this.closeFiles();
    this.lock?.release();
    this.lock = undefined;
  }

  /** One writer at a time: two would interleave their segments and chains. */
  private takeLock(): void {
    if (this.lock) return;
    try {
      this.lock = lockDataDir(this.dir);
    } catch (e) {
      if (e instanceof DataDirLockedError) {
        throw new Error(`the audit journal in ${this.dir} is being written by pid ${e.pid} (an audit command, a stage audit, or run --journal-inline): try again once it is done`, {
          cause: e,
        });
      }
      throw e;
    }
  }

  /** Writes the rows as NDJSON and fsyncs; returns the bytes written. */
  private append(fd: number, rows: readonly object[]): number {
    return rows.length === 0 ? 0 : this.write(fd, Buffer.from(rows.map((r) => JSON.stringify(r)).join('\n') + '\n'));
  }

  private write(fd: number, buf: Buffer): number {
    if (buf.length === 0) return 0;
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
    fsyncSync(fd);
    return buf.length;
  }

  private writeState(state: JournalState): void {
    const path = stateFile(this.dir, this.seq);
    const s: SegmentState = { heads: state.heads(), checksums: state.checksums() };
    writeFileSync(path + '.tmp', JSON.stringify(s));
    const fd = openSync(path + '.tmp', 'r');
    fsyncSync(fd);
    closeSync(fd);
    renameSync(path + '.tmp', path);
    fsyncDir(this.dir);
  }

  private open(): void {
    const ev = eventsFile(this.dir, this.seq);
    this.events = openSync(ev, 'a');
    this.sums = openSync(checksumsFile(this.dir, this.seq), 'a');
    this.size = statSync(ev).size;
    fsyncDir(this.dir);
  }

  private closeFiles(): void {
    if (this.events !== undefined) closeSync(this.events);
    if (this.sums !== undefined) closeSync(this.sums);
    this.events = this.sums = undefined;
  }
}
