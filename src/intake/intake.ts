// Intake: lines of a file (or stdin) become raw records on exec.intents.
// For a file, the byte position read so far commits atomically with the records,
// so a restart with the same file resumes exactly where it stopped.
import { createReadStream, realpathSync, statSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { TOPICS } from '../domain/events.js';
import { sha256Hex } from '../domain/hash.js';
import type { EventLog, OutRecord } from '../log/types.js';

export const INTAKE_GROUP = 'intake';

export interface IntakeOptions {
  /** Keep reading as the file grows (until the signal aborts). */
  follow?: boolean;
  signal?: AbortSignal;
  batchLines?: number;
  /** Pause while the pipeline has more unread records than this (bounds memory and latency). */
  maxBacklog?: number;
  backlog?: () => number;
  onLines?: (n: number) => void;
  /** Key of each line's record (default none); on Kafka it picks the partition. */
  keyOf?: (line: Buffer) => string | null;
}

/** Source id of a file: its real path, so the same file given again resumes. */
export function fileSourceTopic(path: string): string {
  return `source:file:${sha256Hex(realpathSync(path)).slice(0, 24)}`;
}

/** Longest line kept: a longer one is cut here (the normalizer dead-letters it as OVERSIZED). */
export const MAX_LINE_BYTES = 1 << 20;

/**
 * Splits chunks into lines, calling emit(line, file position after its newline). A partial line
 * is carried to the next chunk, but never more than MAX_LINE_BYTES of it: the rest of an endless
 * line is skipped, so memory and time stay bounded whatever the input.
 */
class LineSplitter {
  private carry: Buffer[] = [];
  private carried = 0;

  constructor(private readonly emit: (line: Buffer, endPos: number) => void) {}

  push(chunk: Buffer, chunkPos: number): void {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(10, start);
      if (nl < 0) break;
      let line = chunk.subarray(start, nl);
      if (this.carried > 0) {
        line = Buffer.concat([...this.carry, line.subarray(0, Math.max(0, MAX_LINE_BYTES - this.carried))]);
        this.carry = [];
        this.carried = 0;
      } else if (line.length > MAX_LINE_BYTES) line = line.subarray(0, MAX_LINE_BYTES);
      if (line.length > 0 && line[line.length - 1] === 13) line = line.subarray(0, line.length - 1);
      this.emit(line, chunkPos + nl + 1);
      start = nl + 1;
    }
    if (start < chunk.length && this.carried < MAX_LINE_BYTES) {
      const part = chunk.subarray(start, start + (MAX_LINE_BYTES - this.carried));
      this.carry.push(Buffer.from(part));
      this.carried += part.length;
    }
  }

  /** The unterminated last line, if any. */
  rest(): Buffer | undefined {
    return this.carried > 0 ? Buffer.concat(this.carry) : undefined;
  }
}

const isBlank = (b: Buffer) => {
  for (const c of b) if (c !== 32 && c !== 9 && c !== 13) return false;
  return true;
};

/** Reads `path` from the committed position and appends each non-blank line as one intent. */
export async function intakeFile(log: EventLog, path: string, o: IntakeOptions = {}): Promise<number> {
  const source = fileSourceTopic(path);
  let pos = await log.committed(INTAKE_GROUP, source, 0);
  const size = statSync(path).size;
  if (pos > size) throw new Error(`intake file ${path} is shorter (${size} bytes) than the ${pos} bytes already read from it: was it replaced?`);
  let total = 0;
  for (;;) {
    total += await readFrom(pos, (p) => (pos = p));
    if (!o.follow || o.signal?.aborted) return total;
    await sleep(50, undefined, { signal: o.signal }).catch(() => undefined);
    if (o.signal?.aborted) return total;
  }

  async function readFrom(from: number, setPos: (p: number) => void): Promise<number> {
    let records: OutRecord[] = [];
    let lastEnd = from;
    let count = 0;
    const flush = async () => {
      if (records.length === 0 && lastEnd === pos) return;
      const batch = records;
      records = [];
      await log.commit(INTAKE_GROUP, [{ topic: source, partition: 0, offset: lastEnd }], batch);
      setPos(lastEnd);
      count += batch.length;
      o.onLines?.(batch.length);
      while (o.backlog && o.maxBacklog && o.backlog() > o.maxBacklog && !o.signal?.aborted) await sleep(2);
    };
    let read = from;
    const lines = new LineSplitter((line, end) => {
      lastEnd = end;
      if (!isBlank(line)) records.push(intentRecord(Buffer.from(line), o));
    });
    const stream = createReadStream(path, { start: from, highWaterMark: 1 << 20 });
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      lines.push(chunk, read);
      read += chunk.length;
      if (records.length >= (o.batchLines ?? 1000)) await flush();
      if (o.signal?.aborted) break;
    }
    // A last line without a newline counts only when not following (it may still be being written).
    const carry = lines.rest();
    if (carry && !o.follow && !o.signal?.aborted) {
      lastEnd = read;
      if (!isBlank(carry)) records.push(intentRecord(carry, o));
    }
    await flush();
    return count;
  }
}

function intentRecord(value: Buffer, o: IntakeOptions): OutRecord {
  return { topic: TOPICS.intents, key: o.keyOf ? o.keyOf(value) : null, value };
}

/** Reads stdin to its end; no resume (a pipe cannot be re-read), duplicates are caught by intent_id. */
export async function intakeStream(log: EventLog, input: NodeJS.ReadableStream, o: IntakeOptions = {}): Promise<number> {
  let records: OutRecord[] = [];
  let count = 0;
  const flush = async () => {
    if (records.length === 0) return;
    const batch = records;
    records = [];
    await log.append(batch);
    count += batch.length;
    o.onLines?.(batch.length);
    while (o.backlog && o.maxBacklog && o.backlog() > o.maxBacklog) await sleep(2);
  };
  const lines = new LineSplitter((line) => {
    if (!isBlank(line)) records.push(intentRecord(Buffer.from(line), o));
  });
  for await (const chunk of input as AsyncIterable<Buffer>) {
    lines.push(chunk, 0);
    if (records.length >= (o.batchLines ?? 1000)) await flush();
  }
  const carry = lines.rest();
  if (carry && !isBlank(carry)) records.push(intentRecord(carry, o));
  await flush();
  return count;
}
