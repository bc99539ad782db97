// Pull loop of one consumer group over the embedded log: read a batch, handle it, commit
// outputs and offsets in one frame, repeat; sleep on an in-process notify when caught up.
import type { ConsumeOptions, Consumer, LogPosition, LogRecord, OutRecord } from '../types.js';
import type { TopicState } from './topic.js';

export interface ConsumerHost {
  topicState(name: string): TopicState;
  committedNow(group: string, topic: string, partition: number): number;
  commit(group: string, offsets: LogPosition[], records: OutRecord[]): Promise<LogPosition[]>;
  readRange(t: TopicState, from: number, to: number): LogRecord[] | Promise<LogRecord[]>;
  /** Call `wake` once when records become visible; returns a function that unregisters it. */
  onAppend(wake: () => void): () => void;
  consumerEnded(c: EmbeddedConsumer): void;
  /** This consumer moved past records of `t`. */
  consumed(t: TopicState): void;
}

/**
 * Batches of this size keep few events alive between stages, which cuts young-generation GC
 * copying more than it adds per-batch overhead (1000 cost about a quarter more GC time).
 */
const DEFAULT_MAX_BATCH = 256;

/** Commits one consumer may have written but not yet seen durable. */
const MAX_IN_DOUBT = 64;

/** Fallback wake-up while idle, in case a notify is ever missed. */
const IDLE_WAKE_MS = 1000;

const yieldToLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export class EmbeddedConsumer implements Consumer {
  readonly group: string;
  readonly done: Promise<void>;
  private readonly topics: TopicState[];
  private readonly next: number[];
  private readonly maxBatch: number;
  private readonly handle: ConsumeOptions['handle'];
  private readonly positions: ConsumeOptions['positions'];
  private readonly onCommitted: ConsumeOptions['onCommitted'];
  private stopping = false;
  private inFlight = false;
  private wakeIdle: (() => void) | null = null;
  /** Commits written and visible but maybe not yet durable, oldest first. */
  private readonly unsynced: Promise<unknown>[] = [];
  /** Set as soon as any commit fails: no batch is handled after that. */
  private commitError: unknown = undefined;

  constructor(
    private readonly host: ConsumerHost,
    opts: ConsumeOptions,
  ) {
    if (opts.topics.length === 0) throw new TypeError('consume: no topics');
    if (new Set(opts.topics).size !== opts.topics.length) throw new TypeError('consume: topics repeat');
    this.group = opts.group;
    this.maxBatch = Math.max(1, Math.floor(opts.maxBatch ?? DEFAULT_MAX_BATCH));
    // Bound: called as the caller's methods, as the Kafka consumer calls them.
    this.handle = opts.handle.bind(opts);
    this.positions = opts.positions?.bind(opts);
    this.onCommitted = opts.onCommitted?.bind(opts);
    this.topics = opts.topics.map((t) => host.topicState(t));
    this.next = opts.topics.map((t) => host.committedNow(opts.group, t, 0));
    this.done = this.run();
  }

  /** Next offset this consumer reads in `t`; undefined when it does not read `t`. */
  nextOffset(t: TopicState): number | undefined {
    const i = this.topics.indexOf(t);
    return i < 0 ? undefined : this.next[i];
  }

  lag(): number {
    let n = 0;
    for (let i = 0; i < this.topics.length; i++) n += Math.max(0, this.topics[i].visible - this.next[i]);
    return n;
  }

  busy(): boolean {
    return this.inFlight;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.wakeIdle?.();
    // Errors surface on `done`; stopping itself succeeds.
    await this.done.catch(() => undefined);
  }

  private async run(): Promise<void> {
    try {
      // Start on a later turn so the caller can attach to `done` first.
      await yieldToLoop();
      if (this.positions) await this.startAtSinkPositions(this.positions);
      while (!this.stopping) {
        const batch = await this.nextBatch();
        if (batch === null) {
          await this.idle();
          continue;
        }
        this.inFlight = true;
        // eslint-disable-next-line @typescript-eslint/only-throw-error -- rethrows what was caught earlier, as is
        if (this.commitError) throw this.commitError;
        const t0 = this.onCommitted ? performance.now() : 0;
        const outputs = await this.handle(batch.records);
        if (this.positions) {
          // A sink: its position is stored with its data, nothing goes to the log.
          if (outputs && outputs.length > 0) throw new Error(`consumer ${this.group}: a sink's handle returned records`);
          this.advance(batch.next);
          this.inFlight = false;
          await yieldToLoop();
          continue;
        }
        // The frame is written (and visible) inside commit; only its fsync is pending. Go on with
        // the next batches meanwhile: the journal is one ordered file, so a later commit is never
        // durable before an earlier one, and any failed commit stops this consumer (commitError)
        // and the log. The bound only caps how much work waits on one slow fsync.
        const commit = this.host.commit(this.group, batch.offsets, outputs ?? []);
        commit.catch((e: unknown) => (this.commitError ??= e));
        if (this.onCommitted) {
          const told = this.onCommitted;
          const n = batch.records.length;
          const out = outputs?.length ?? 0;
          void commit.then(
            () => told(n, out, (performance.now() - t0) / 1000),
            () => undefined,
          );
        }
        this.advance(batch.next);
        this.unsynced.push(commit);
        void commit.then(
          () => this.unsynced.shift(),
          () => undefined,
        );
        if (this.unsynced.length > MAX_IN_DOUBT) await this.unsynced[0];
        this.inFlight = false;
        // Let other consumers and I/O run between batches.
        await yieldToLoop();
      }
      // Settle durability of the last commit before reporting done.
      await Promise.all(this.unsynced);
    } finally {
      this.inFlight = false;
      this.stopping = true;
      this.host.consumerEnded(this);
    }
  }

  private advance(next: number[]): void {
    for (let i = 0; i < this.topics.length; i++) {
      if (next[i] === this.next[i]) continue;
      this.next[i] = next[i];
      this.host.consumed(this.topics[i]);
    }
  }

  private async startAtSinkPositions(positions: NonNullable<ConsumeOptions['positions']>): Promise<void> {
    const stored = await positions(this.topics.map((t) => ({ topic: t.name, partition: 0 })));
    for (let i = 0; i < this.topics.length; i++) {
      const p = stored.find((x) => x.topic === this.topics[i].name && x.partition === 0);
      const offset = p?.offset ?? 0;
      if (!Number.isInteger(offset) || offset < 0 || offset > this.topics[i].visible) {
        throw new Error(
          `consumer ${this.group}: the sink is at ${this.topics[i].name} offset ${offset}, but the log ends at ${this.topics[i].visible}: was it written from another log?`,
        );
      }
      this.next[i] = offset;
    }
  }

  private idle(): Promise<void> {
    return new Promise<void>((resolve) => {
      let timer: NodeJS.Timeout | null = null;
      let off: (() => void) | null = null;
      const wake = (): void => {
        if (timer) clearTimeout(timer);
        off?.();
        this.wakeIdle = null;
        resolve();
      };
      this.wakeIdle = wake;
      off = this.host.onAppend(wake);
      // Re-check after registering: a commit may have become visible in between.
      if (this.lag() > 0 || this.stopping) return wake();
      timer = setTimeout(wake, IDLE_WAKE_MS);
      // A consumer left open must not keep the process alive on its own.
      timer.unref();
    });
  }

  /** Up to maxBatch visible records, in journal order across topics; null when caught up. */
  private async nextBatch(): Promise<{ records: LogRecord[]; offsets: LogPosition[]; next: number[] } | null> {
    const ts = this.topics;
    const k = ts.length;
    const upto = new Array<number>(k);
    if (k === 1) {
      const t = ts[0];
      const from = this.next[0];
      const to = Math.min(t.visible, from + this.maxBatch);
      if (to <= from) return null;
      upto[0] = to;
      const r = this.host.readRange(t, from, to);
      const records = r instanceof Promise ? await r : r;
      return { records, offsets: [{ topic: t.name, partition: 0, offset: to }], next: upto };
    }
    // Plan the merge on the index alone, then read exactly what was picked.
    const ends = new Array<number>(k);
    let avail = 0;
    for (let i = 0; i < k; i++) {
      upto[i] = this.next[i];
      ends[i] = Math.min(ts[i].visible, this.next[i] + this.maxBatch);
      avail += Math.max(0, ends[i] - upto[i]);
    }
    if (avail === 0) return null;
    const take = Math.min(avail, this.maxBatch);
    const order = new Uint16Array(take);
    for (let n = 0; n < take; n++) {
      let best = -1;
      let bf = 0;
      let bi = 0;
      for (let i = 0; i < k; i++) {
        const o = upto[i];
        if (o >= ends[i]) continue;
        const f = ts[i].frameNo[o];
        const x = ts[i].recIdx[o];
        if (best < 0 || f < bf || (f === bf && x < bi)) {
          best = i;
          bf = f;
          bi = x;
        }
      }
      order[n] = best;
      upto[best]++;
    }
    const parts = await Promise.all(ts.map((t, i) => (upto[i] > this.next[i] ? this.host.readRange(t, this.next[i], upto[i]) : [])));
    const cursor = new Array<number>(k).fill(0);
    const records = new Array<LogRecord>(take);
    for (let n = 0; n < take; n++) {
      const i = order[n];
      records[n] = parts[i][cursor[i]++];
    }
    const offsets: LogPosition[] = [];
    for (let i = 0; i < k; i++) if (upto[i] > this.next[i]) offsets.push({ topic: ts[i].name, partition: 0, offset: upto[i] });
    return { records, offsets, next: upto };
  }
}
