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
  /** Pause while the pipeline has this many unread intents (bounds memory and latency). */
  maxBacklog?: number;
  backlog?: () => number;
  onLines?: (n: number) => void;
}

/** Source id of a file: its real path, so the same file given again resumes. */
export function fileSourceTopic(path: string): string {
  return `source:file:${sha256Hex(realpathSync(path)).slice(0, 24)}`;
}

function splitLines(chunk: Buffer, carry: Buffer | undefined, emit: (line: Buffer, endPos: number) => void, basePos: number): Buffer | undefined {
  let buf = carry ? Buffer.concat([carry, chunk]) : chunk;
  let start = 0;
  const origin = basePos - (carry?.length ?? 0);
  for (;;) {
    const nl = buf.indexOf(10, start);
    if (nl < 0) break;
    let end = nl;
    if (end > start && buf[end - 1] === 13) end--;
    emit(buf.subarray(start, end), origin + nl + 1);
    start = nl + 1;
  }
  return start < buf.length ? buf.subarray(start) : undefined;
}

const isBlank = (b: Buffer) => {
  for (const c of b) if (c !== 32 && c !== 9 && c !== 13) return false;
  return true;
};

/** Reads `path` from the committed position and appends each non-blank line as one intent. */
export async function intakeFile(log: EventLog, path: string, o: IntakeOptions = {}): Promise<number> {
  const source = fileSourceTopic(path);
  let pos = log.committed(INTAKE_GROUP, source, 0);
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
    let carry: Buffer | undefined;
    let read = from;
    const stream = createReadStream(path, { start: from, highWaterMark: 1 << 20 });
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      carry = splitLines(chunk, carry, (line, end) => {
        lastEnd = end;
        if (!isBlank(line)) records.push({ topic: TOPICS.intents, key: null, value: Buffer.from(line) });
      }, read);
      read += chunk.length;
      if (records.length >= (o.batchLines ?? 1000)) await flush();
      if (o.signal?.aborted) break;
    }
    // A last line without a newline counts only when not following (it may still be being written).
    if (carry && !o.follow && !o.signal?.aborted) {
      lastEnd = read;
      if (!isBlank(carry)) records.push({ topic: TOPICS.intents, key: null, value: Buffer.from(carry) });
    }
    await flush();
    return count;
  }
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
  let carry: Buffer | undefined;
  for await (const chunk of input as AsyncIterable<Buffer>) {
    carry = splitLines(chunk, carry, (line) => {
      if (!isBlank(line)) records.push({ topic: TOPICS.intents, key: null, value: Buffer.from(line) });
    }, 0);
    if (records.length >= (o.batchLines ?? 1000)) await flush();
  }
  if (carry && !isBlank(carry)) records.push({ topic: TOPICS.intents, key: null, value: Buffer.from(carry) });
  await flush();
  return count;
}
