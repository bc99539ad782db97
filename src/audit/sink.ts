// The audit sink's buffering, shared by both stores: rows are built (hashed) as records arrive,
// stored in cuts by size and time, and the chain state advances only once a cut is stored.
import { TOPICS } from '../domain/events.js';
import type { LogPosition, LogRecord } from '../log/types.js';
import type { Sink } from '../runtime/sink.js';
import { checksumKey, cutBatches, JournalState, type StagedRow } from './journal.js';
import type { ChecksumRow } from './columns.js';

/** Every event topic; exec.intents holds raw producer input, not events. */
export const AUDIT_TOPICS: readonly string[] = [TOPICS.risk, TOPICS.router, TOPICS.gateway, TOPICS.audit, TOPICS.dlq];

export interface BatchOptions {
  /**
   * Rows per INSERT / file write (default 50,000). Each INSERT is one part on the server, and a
   * part's rows cost the server again in every merge: on 18.16, 10,000-row parts took 15.7 µs of
   * CPU per row, 50,000-row parts 7.0 µs.
   */
  maxRows?: number;
  /** Bytes per INSERT, roughly (default 64 MiB). */
  maxBytes?: number;
  /** Longest a row waits in the buffer (default 1 s: about one INSERT a second, as ClickHouse asks). */
  flushMs?: number;
}

/** The storage side of a journal sink. */
export interface JournalStore {
  /** The chain state as stored (heads and daily checksums), repaired if a crash left them apart. */
  load(): Promise<JournalState>;
  /**
   * Store one cut (one table partition, log order), retrying until stored; advances `state` and
   * returns the daily checksums the cut changed (JournalState.applyStored).
   */
  store(rows: StagedRow[], state: JournalState): Promise<ChecksumRow[]>;
  /** Store the daily checksums as they stand after the cuts of one flush. */
  storeChecksums(sums: ChecksumRow[]): Promise<void>;
  close(): Promise<void>;
}

export class JournalSink implements Sink {
  readonly name = 'audit';
  readonly topics = AUDIT_TOPICS;
  private state = new JournalState();
  private buffer: StagedRow[] = [];
  private inFlight = 0;
  private chain: Promise<void> = Promise.resolve();
  private failure: unknown;
  private timer: NodeJS.Timeout | undefined;
  private readonly maxRows: number;
  private readonly maxBytes: number;
  private readonly flushMs: number;

  constructor(
    private readonly store: JournalStore,
    o: BatchOptions = {},
  ) {
    this.maxRows = o.maxRows ?? 50_000;
    this.maxBytes = o.maxBytes ?? 64 << 20;
    this.flushMs = o.flushMs ?? 1_000;
  }

  async positions(partitions: { topic: string; partition: number }[]): Promise<LogPosition[]> {
    await this.flush();
    this.state = await this.store.load();
    return partitions.map((p) => ({ ...p, offset: this.state.next(p.topic, p.partition) }));
  }

  async write(batch: LogRecord[]): Promise<void> {
    this.check();
    for (const r of batch) {
      const row = this.state.append(r);
      if (row) this.buffer.push(row);
    }
    if (this.buffer.length >= this.maxRows) {
      this.kick();
      // One cut stored while the next fills; beyond that, the log waits for the store.
      if (this.inFlight > 2 * this.maxRows) await this.chain;
      this.check();
    } else if (this.buffer.length > 0 && !this.timer) this.arm();
  }

  /** Stores the buffer after flushMs; while a cut is being stored, rows gather into a fuller one. */
  private arm(): void {
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.inFlight > 0) this.arm();
      else this.kick();
    }, this.flushMs);
    this.timer.unref();
  }

  pending(): number {
    return this.buffer.length + this.inFlight;
  }

  async flush(): Promise<void> {
    this.kick();
    await this.chain;
    this.check();
  }

  async close(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.chain.catch(() => undefined);
    await this.store.close();
  }

  private kick(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.buffer.length === 0) return;
    const rows = this.buffer;
    this.buffer = [];
    this.inFlight += rows.length;
    const state = this.state;
    this.chain = this.chain.then(async () => {
      try {
        if (this.failure === undefined) {
          const touched = new Map<string, ChecksumRow>();
          for (const cut of cutBatches(rows, this.maxRows, this.maxBytes)) for (const c of await this.store.store(cut, state)) touched.set(checksumKey(c), c);
          // One checksum write per flush, not per cut: a crash in between is repaired on load.
          await this.store.storeChecksums([...touched.values()]);
        }
      } catch (e) {
        this.failure = e;
      } finally {
        this.inFlight -= rows.length;
      }
    });
  }

  private check(): void {
    // eslint-disable-next-line @typescript-eslint/only-throw-error -- rethrows what was caught earlier, as is
    if (this.failure !== undefined) throw this.failure;
  }
}
