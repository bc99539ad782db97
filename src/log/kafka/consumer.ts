// One stage's consumer group on Kafka: each batch of one partition is handled, then its outputs
// and the partition's next offset commit in one transaction. Nothing is committed any other way
// (autoCommit off), so after a crash or a rebalance the group resumes exactly after the last
// committed transaction.
import type { Consumer as KConsumer, EachBatchPayload } from 'kafkajs';
import type { ConsumeOptions, Consumer, LogPosition, LogRecord, OutRecord } from '../types.js';
import { toLogRecord } from './records.js';

/** What a stage consumer needs of its log (KafkaLog): named here so the two files do not import each other. */
export interface ConsumerHost {
  newConsumer(groupId: string): KConsumer;
  /** performance.now() of this process's last write. */
  readonly lastWriteAt: number;
  physical(topic: string): string;
  logical(physical: string): string;
  unwrap(records: LogRecord[]): Promise<void> | void;
  commit(group: string, offsets: LogPosition[], records: OutRecord[]): Promise<LogPosition[]>;
  committed(group: string, topic: string, partition: number): Promise<number>;
}

/** Partitions whose batches are handled and committed at once (each in its own transaction). */
const PARTITIONS_IN_FLIGHT = 8;

/** Records handed to one call of handle (a partition's fetch is cut into chunks of this size). */
const DEFAULT_MAX_BATCH = 500;

/**
 * A fetch counts as "nothing left" only if it started this long after this process's last write:
 * transaction markers are written just after a commit returns, and data becomes visible to
 * read_committed readers only with them.
 */
const MARKER_GRACE_MS = 50;

export class KafkaStageConsumer implements Consumer {
  readonly group: string;
  readonly done: Promise<void>;
  private readonly consumer: KConsumer;
  private readonly maxBatch: number;
  private readonly lags = new Map<string, number>();
  /** Units of work in hand (partitions are handled concurrently). */
  private inFlight = 0;
  /** The rebuild after the latest join, shared by the partitions' batches that arrive with it. */
  private preparing: { join: number; done: Promise<boolean> } | undefined;
  private stopping = false;
  private joined = false;
  private roundStartedAt = 0;
  private roundHadBatches = false;
  /** Start of the latest fetch round that found nothing new. */
  private caughtUpAt = -1;
  private failure: unknown;
  /** Bumped on each join; the partitions of the latest, and the join onAssign last ran for. */
  private joins = 0;
  private assigned: { topic: string; partition: number }[] = [];
  private preparedFor = 0;
  private wake: () => void = () => undefined;

  constructor(
    private readonly log: ConsumerHost,
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
    // Until a late-enough fetch found nothing new, there may be work we have not seen.
    const settled = this.joined && this.caughtUpAt > this.log.lastWriteAt + MARKER_GRACE_MS;
    return n + (settled ? 0 : 1);
  }

  busy(): boolean {
    return this.inFlight > 0;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.wake();
  }

  private async run(): Promise<void> {
    const c = this.consumer;
    const stopped = new Promise<void>((r) => (this.wake = r));
    c.on(c.events.GROUP_JOIN, (e) => {
      this.joined = true;
      this.lags.clear();
      const a = e.payload.memberAssignment as Record<string, number[]>;
      this.assigned = Object.entries(a).flatMap(([t, ps]) => ps.map((partition) => ({ topic: this.log.logical(t), partition })));
      this.joins++;
      // Rebuilt at the join, not at the first batch: a stage with nothing new to read (a gateway
      // whose pending fills are only on the venue until it reconciles) must not wait for input.
      if (this.opts.onAssign || this.opts.positions) {
        const join = this.joins;
        this.preparing = { join, done: this.prepare(join, this.assigned) };
      }
    });
    // kafkajs fetches, hands the batches to eachBatch, waits for them, then fetches again; a
    // round with no batch event found nothing new.
    c.on(c.events.FETCH_START, () => {
      const now = performance.now();
      if (this.roundStartedAt > 0 && !this.roundHadBatches) this.caughtUpAt = this.roundStartedAt;
      this.roundStartedAt = now;
      this.roundHadBatches = false;
    });
    c.on(c.events.START_BATCH_PROCESS, () => (this.roundHadBatches = true));
    c.on(c.events.END_BATCH_PROCESS, (e) => {
      this.lags.set(`${e.payload.topic}/${e.payload.partition}`, Math.max(0, Number(e.payload.offsetLag)));
    });
    c.on(c.events.CRASH, (e) => {
      this.failure ??= e.payload.error;
      this.wake();
    });
    try {
      await c.connect();
      await c.subscribe({ topics: this.opts.topics.map((t) => this.log.physical(t)), fromBeginning: true });
      await c.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        // Each partition's batch commits in its own transaction (its own transactional id): they
        // overlap rather than queue. Sinks take theirs one at a time.
        partitionsConsumedConcurrently: this.opts.positions ? 1 : PARTITIONS_IN_FLIGHT,
        eachBatch: (p) => this.onBatch(p),
      });
      if (!this.stopping) await stopped;
    } finally {
      await c.disconnect().catch(() => undefined);
    }
    // eslint-disable-next-line @typescript-eslint/only-throw-error -- rethrows what was caught earlier, as is
    if (this.failure !== undefined) throw this.failure;
  }

  private async onBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    const topic = this.log.logical(batch.topic);
    if ((this.opts.onAssign || this.opts.positions) && this.preparedFor !== this.joins) {
      const join = this.joins;
      if (this.preparing?.join !== join) this.preparing = { join, done: this.prepare(join, this.assigned) };
      if (!(await this.preparing.done)) return;
      // Assigned anew meanwhile, or seeked: the batch in hand is stale; the next one counts.
      if (this.preparedFor !== this.joins || payload.isStale() || this.opts.positions || this.opts.onAssign) return;
    }
    const msgs = batch.messages;
    for (let i = 0; i < msgs.length; i += this.maxBatch) {
      if (this.stopping || this.failure !== undefined || !payload.isRunning() || payload.isStale()) return;
      const chunk = msgs.slice(i, i + this.maxBatch);
      const last = chunk[chunk.length - 1].offset;
      const ok = await this.guarded(async () => {
        const records = chunk.map((m) => toLogRecord(topic, batch.partition, m));
        await this.log.unwrap(records);
        const t0 = performance.now();
        const out = await this.opts.handle(records);
        if (this.opts.positions) {
          // A sink stores its position with its data: nothing is committed to Kafka.
          if (out.length > 0) throw new Error(`consumer ${this.group}: a sink's handle returned records`);
        } else await this.log.commit(this.group, [{ topic, partition: batch.partition, offset: Number(last) + 1 }], out);
        this.opts.onCommitted?.(records.length, out.length, (performance.now() - t0) / 1000);
      });
      if (!ok) return;
      payload.resolveOffset(last);
      await payload.heartbeat();
    }
  }

  /** After a join: the stage rebuilds (onAssign), or the sink's positions are sought. Once per join. */
  private async prepare(join: number, assigned: { topic: string; partition: number }[]): Promise<boolean> {
    if (this.opts.onAssign && !(await this.guarded(() => this.opts.onAssign!(assigned)))) return false;
    // The previous owner may have committed after this member read the group's offsets at the
    // join, and before onAssign fenced it: continue from the offsets as they stand now.
    if (this.opts.onAssign && !(await this.guarded(() => this.seekToCommitted(assigned)))) return false;
    if (this.opts.positions && !(await this.guarded(() => this.seekToSinkPositions(assigned)))) return false;
    this.preparedFor = join;
    return true;
  }

  private async seekToCommitted(assigned: { topic: string; partition: number }[]): Promise<void> {
    for (const a of assigned) {
      const offset = await this.log.committed(this.group, a.topic, a.partition);
      this.consumer.seek({ topic: this.log.physical(a.topic), partition: a.partition, offset: String(offset) });
    }
  }

  /** Every assigned partition continues where the sink's stored position says. */
  private async seekToSinkPositions(assigned: { topic: string; partition: number }[]): Promise<void> {
    const stored = await this.opts.positions!(assigned);
    for (const a of assigned) {
      const p = stored.find((x) => x.topic === a.topic && x.partition === a.partition);
      this.consumer.seek({ topic: this.log.physical(a.topic), partition: a.partition, offset: String(p?.offset ?? 0) });
    }
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
      this.failure ??= e;
      this.wake();
      return false;
    } finally {
      this.inFlight--;
    }
  }
}
