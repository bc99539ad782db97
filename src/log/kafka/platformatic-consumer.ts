// One stage's consumer group on @platformatic/kafka. The library keeps the group membership and
// heartbeats; this loop fetches the assigned partitions itself (platformatic-fetch.ts) from the
// group's committed offsets, or a sink's own positions, and commits each chunk's outputs with the
// partition's next offset in one transaction, as the kafkajs consumer (consumer.ts) does.
import type { Consumer as PConsumer } from '@platformatic/kafka';
import type { ConsumeOptions, Consumer, LogPosition, LogRecord, OutRecord } from '../types.js';
import { DEFAULT_MAX_BATCH, MARKER_GRACE_MS } from './common.js';
import { fetchRound, type Fetched, type FetchWant } from './platformatic-fetch.js';

/** What a stage consumer needs of its log (PlatformaticKafkaLog). */
export interface PlatformaticConsumerHost {
  newConsumer(groupId: string): PConsumer;
  /** performance.now() of this process's last write. */
  readonly lastWriteAt: number;
  /** Longest a fetch waits on the broker for new records (KafkaLogOptions.fetchWaitMs). */
  readonly fetchWaitMs: number;
  physical(topic: string): string;
  logical(physical: string): string;
  unwrap(records: LogRecord[]): Promise<void> | void;
  commit(group: string, offsets: LogPosition[], records: OutRecord[]): Promise<LogPosition[]>;
  /** Next offset to read for each partition: the group's committed offset, else the log start. */
  startOffsets(group: string, partitions: { topic: string; partition: number }[]): Promise<number[]>;
}

/** Partitions whose chunks are handled and committed at once (each in its own transaction), as on kafkajs. */
const PARTITIONS_IN_FLIGHT = 8;

/**
 * Longest a fetch round or a commit may wait on the broker. A request on a connection the broker
 * dropped (a broker restart) can stay unanswered forever; past this the consumer fails, and its
 * supervisor rebuilds it from the group's committed offsets.
 */
const BROKER_STALL_MS = 60_000;

/** `p`, or a rejection naming what stalled once `ms` passed without an answer. */
function answeredWithin<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const stalled = new Promise<never>((_, rej) => {
    timer = setTimeout(() => rej(new Error(`${what}: no answer from the broker in ${ms / 1000} s; the consumer is rebuilt`)), ms);
  });
  return Promise.race([p, stalled]).finally(() => clearTimeout(timer));
}

export class PlatformaticStageConsumer implements Consumer {
  readonly group: string;
  readonly done: Promise<void>;
  private readonly consumer: PConsumer;
  private readonly maxBatch: number;
  private readonly lags = new Map<string, number>();
  /** Units of work in hand (partitions are handled concurrently). */
  private inFlight = 0;
  private stopping = false;
  private joined = false;
  /** Start of the latest fetch round that found nothing new. */
  private caughtUpAt = -1;
  private failure: unknown;
  /** Bumped on each join; the join the positions below were prepared for. */
  private joins = 0;
  private preparedFor = 0;
  private next = new Map<string, FetchWant>();
  private wake: () => void = () => undefined;

  constructor(
    private readonly log: PlatformaticConsumerHost,
    private readonly opts: ConsumeOptions,
  ) {
    this.group = opts.group;
    this.maxBatch = Math.max(1, Math.floor(opts.maxBatch ?? DEFAULT_MAX_BATCH));
    this.consumer = log.newConsumer(opts.group);
    this.done = this.run();
  }

  lag(): number {
    let n = 0;
    for (const v of this.lags.values()) n += v;
    const settled = this.joined && this.caughtUpAt > this.log.lastWriteAt + MARKER_GRACE_MS;
    return n + (settled ? 0 : 1);
  }

  busy(): boolean {
    return this.inFlight > 0;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.wake();
    return Promise.resolve();
  }

  private fail(e: unknown): void {
    this.failure ??= e;
    this.wake();
  }

  private async run(): Promise<void> {
    const c = this.consumer;
    c.on('consumer:group:join', () => {
      this.joined = true;
      this.lags.clear();
      this.joins++;
      this.wake();
    });
    // A failed rejoin: the stage stops (done rejects), a supervisor starts it again.
    c.on('error', (e: unknown) => this.fail(e));
    try {
      c.topics.trackAll(...this.opts.topics.map((t) => this.log.physical(t)));
      await c.joinGroup({});
      while (!this.stopping && this.failure === undefined) {
        if (this.preparedFor !== this.joins) {
          if (!(await this.guarded(() => this.prepare()))) break;
          continue;
        }
        const wants = [...this.next.values()];
        if (wants.length === 0) {
          // Nothing assigned: caught up, until a join hands partitions over.
          this.caughtUpAt = performance.now();
          await new Promise<void>((r) => {
            this.wake = r;
            setTimeout(r, 100);
          });
          continue;
        }
        const roundStartedAt = performance.now();
        const fetched = await answeredWithin(
          fetchRound(c, (t) => this.log.physical(t), wants, this.log.fetchWaitMs),
          this.log.fetchWaitMs + BROKER_STALL_MS,
          `consumer ${this.group}: a fetch`,
        );
        const one = async (f: Fetched) => {
          const key = `${f.topic}\u0000${f.partition}`;
          if (this.preparedFor !== this.joins || this.stopping || this.failure !== undefined) return;
          if (!(await this.handlePartition(f.topic, f.partition, f.records))) return;
          const w = this.next.get(key);
          if (w && this.preparedFor === this.joins) w.offset = Math.max(w.offset, f.next);
          if (f.lastStable >= 0) this.lags.set(key, Math.max(0, f.lastStable - (w?.offset ?? f.next)));
        };
        // Each partition's chunks commit in its own transaction (its own transactional id): they
        // overlap rather than queue, as on kafkajs. Sinks take theirs one at a time.
        if (this.opts.positions) for (const f of fetched) await one(f);
        else for (let i = 0; i < fetched.length; i += PARTITIONS_IN_FLIGHT) await Promise.all(fetched.slice(i, i + PARTITIONS_IN_FLIGHT).map(one));
        const any = fetched.some((f) => f.records.length > 0);
        if (!any && this.preparedFor === this.joins) this.caughtUpAt = roundStartedAt;
      }
    } catch (e) {
      this.fail(e);
    } finally {
      // A client stuck on a dropped connection may not close either: the failure goes on regardless.
      await answeredWithin(c.close(), 5_000, `consumer ${this.group}: close`).catch(() => undefined);
    }
    // eslint-disable-next-line @typescript-eslint/only-throw-error -- rethrows what was caught earlier, as is
    if (this.failure !== undefined) throw this.failure;
  }

  /** After a join: the stage rebuilds (onAssign), then each partition starts where the group or the sink left it. */
  private async prepare(): Promise<void> {
    const join = this.joins;
    const assigned = (this.consumer.assignments ?? []).flatMap((a) => a.partitions.map((partition) => ({ topic: this.log.logical(a.topic), partition })));
    this.next = new Map();
    if (this.opts.onAssign) await this.opts.onAssign(assigned);
    let starts: number[];
    if (this.opts.positions) {
      const stored = await this.opts.positions(assigned);
      starts = assigned.map((a) => stored.find((x) => x.topic === a.topic && x.partition === a.partition)?.offset ?? 0);
    } else starts = await this.log.startOffsets(this.group, assigned);
    if (join !== this.joins) return; // assigned anew meanwhile: prepare again
    assigned.forEach((a, i) => this.next.set(`${a.topic}\u0000${a.partition}`, { ...a, offset: starts[i] }));
    this.preparedFor = join;
  }

  /** The partition's records in chunks of maxBatch, each committed with the partition's next offset. */
  private async handlePartition(topic: string, partition: number, records: LogRecord[]): Promise<boolean> {
    const key = `${topic}\u0000${partition}`;
    for (let i = 0; i < records.length; i += this.maxBatch) {
      if (this.stopping || this.failure !== undefined || this.preparedFor !== this.joins) return false;
      const chunk = records.slice(i, i + this.maxBatch);
      const next = chunk[chunk.length - 1].offset + 1;
      const ok = await this.guarded(async () => {
        await this.log.unwrap(chunk);
        const t0 = performance.now();
        const out = await this.opts.handle(chunk);
        if (this.opts.positions) {
          // A sink stores its position with its data: nothing is committed to Kafka.
          if (out.length > 0) throw new Error(`consumer ${this.group}: a sink's handle returned records`);
        } else await answeredWithin(this.log.commit(this.group, [{ topic, partition, offset: next }], out), BROKER_STALL_MS, `consumer ${this.group}: a commit`);
        this.opts.onCommitted?.(chunk.length, out.length, (performance.now() - t0) / 1000);
      });
      if (!ok) return false;
      const w = this.next.get(key);
      if (w) w.offset = next;
    }
    return true;
  }

  /**
   * Runs one unit of work as busy. A failure stops the consumer (done rejects with it): nothing of
   * a failed chunk committed, and a restart resumes from the last transaction.
   */
  private async guarded(work: () => Promise<void>): Promise<boolean> {
    this.inFlight++;
    try {
      await work();
      return true;
    } catch (e) {
      this.fail(e);
      return false;
    } finally {
      this.inFlight--;
    }
  }
}
