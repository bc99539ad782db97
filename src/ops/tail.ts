// The API's reading of the log: every topic followed from the start into a View (the same fold as
// replay and the run summary), the orders indexed in the order they appeared (the cursor of
// /orders), and each record handed to the live feed. A sink-style consumer: it starts where this
// process wants and commits nothing, so any number of API processes read side by side.
import { randomUUID } from 'node:crypto';
import { ALL_TOPICS, type Event } from '../domain/events.js';
import type { Consumer, EventLog, LogRecord } from '../log/types.js';
import type { MarketData } from '../market/types.js';
import { applyRecord, emptyView, resolverFor, type View } from '../projections/view.js';
import { fromRecord, HEADER_INTENT_ID } from '../runtime/codec.js';

/** One record as the feed sends it: decoded once, serialized once for every subscriber. */
export interface TailRecord {
  topic: string;
  partition: number;
  offset: number;
  event: Event;
  /** The feed message, JSON. */
  message: string;
}

const TOPIC_INDEX = new Map<string, number>(ALL_TOPICS.map((t, i) => [t, i]));

/** Recent records kept for subscribers that resume a little behind (memory bound: between this and twice as many). */
const RING = 50_000;

export class LogTail {
  readonly view: View = emptyView();
  /** Next offset per `topic/partition`. */
  readonly positions = new Map<string, number>();
  /** Client order ids in the order their orders first appeared: an order's index is its cursor. */
  readonly orderIds: string[] = [];
  /** Indexes into orderIds by account. */
  readonly byAccount = new Map<string, number[]>();
  /** Where each intent's records are: (topic index, partition, offset) triples, flat. */
  private readonly byIntent = new Map<string, number[]>();
  private readonly listeners = new Set<(r: TailRecord) => void>();
  /** The last records read, raw: decoded only for a subscriber that resumes among them. */
  private readonly ring: LogRecord[] = [];
  private readonly resolve;
  private consumer: Consumer | undefined;
  private ends: Map<string, number> | undefined;
  private caughtUp = false;

  constructor(
    readonly log: EventLog,
    market: MarketData | undefined,
  ) {
    this.resolve = resolverFor(market);
  }

  /** Follow the log; resolves once the fold has reached the log's end as it was at the call. */
  async start(): Promise<void> {
    const ends = new Map<string, number>();
    for (const topic of ALL_TOPICS) {
      for (let p = 0; p < this.log.partitions(topic); p++) {
        const end = await this.log.endOffset(topic, p);
        if (end > 0) ends.set(`${topic}/${p}`, end);
      }
    }
    this.ends = ends;
    this.consumer = this.log.consume({
      group: `fillstream-api-${randomUUID().slice(0, 8)}`,
      topics: [...ALL_TOPICS],
      maxBatch: 2_000,
      positions: (parts) => Promise.resolve(parts.map((p) => ({ ...p, offset: this.positions.get(`${p.topic}/${p.partition}`) ?? 0 }))),
      handle: (batch) => {
        for (const r of batch) this.apply(r);
        return [];
      },
    });
    this.consumer.done.catch(() => undefined);
    while (!this.isCaughtUp()) {
      await Promise.race([new Promise((r) => setTimeout(r, 20)), this.consumer.done]);
      if (!this.isCaughtUp() && (await settled(this.consumer.done))) throw new Error('the log reader stopped before it caught up');
    }
  }

  /** True once the fold reached the log's end as it was at start (what /readyz waits for). */
  isCaughtUp(): boolean {
    if (this.caughtUp) return true;
    for (const [tp, end] of this.ends ?? new Map<string, number>()) {
      // Kafka's end offsets count transaction markers: within a couple of the end is the end.
      if ((this.positions.get(tp) ?? 0) < end - 2) return false;
      if ((this.positions.get(tp) ?? 0) < end && this.consumer && this.consumer.lag() > 0) return false;
    }
    this.caughtUp = this.ends !== undefined;
    return this.caughtUp;
  }

  lag(): number {
    return this.consumer?.lag() ?? 0;
  }

  /** The reader's end: rejects when it failed. */
  get done(): Promise<void> {
    return this.consumer?.done ?? Promise.resolve();
  }

  async stop(): Promise<void> {
    await this.consumer?.stop();
  }

  subscribe(listener: (r: TailRecord) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Records after `from` (next offset per `topic/partition`; absent partitions from 0) that are
   * still in memory, in the order this process read them; undefined when some are older than the
   * ring, and must be read from the log.
   */
  recentSince(from: ReadonlyMap<string, number>): TailRecord[] | undefined {
    const oldest = new Map<string, number>();
    for (const r of this.ring) {
      const k = `${r.topic}/${r.partition}`;
      if (!oldest.has(k)) oldest.set(k, r.offset);
    }
    // Every partition the client has not seen all of must still start in the ring.
    for (const [tp, next] of this.positions) {
      const want = from.get(tp) ?? 0;
      if (want >= next) continue;
      const first = oldest.get(tp);
      if (first === undefined || first > want) return undefined;
    }
    return this.ring.filter((r) => r.offset >= (from.get(`${r.topic}/${r.partition}`) ?? 0)).map((r) => tailRecord(r));
  }

  private apply(r: LogRecord): void {
    const orders = this.view.orders.size;
    applyRecord(this.view, r, this.resolve);
    this.positions.set(`${r.topic}/${r.partition}`, r.offset + 1);
    const intentId = r.headers[HEADER_INTENT_ID];
    if (intentId) {
      let at = this.byIntent.get(intentId);
      if (!at) this.byIntent.set(intentId, (at = []));
      at.push(TOPIC_INDEX.get(r.topic) ?? -1, r.partition, r.offset);
    }
    let event: Event | undefined;
    if (this.view.orders.size > orders) {
      event = fromRecord(r);
      if (event.type === 'OrderRouted') this.indexOrder(event.data.order.client_order_id, event.data.order.account);
    }
    this.ring.push(r);
    if (this.ring.length >= RING * 2) this.ring.splice(0, RING);
    if (this.listeners.size === 0) return;
    const t = tailRecord(r, event);
    for (const l of this.listeners) l(t);
  }

  /** Where the intent's records are in the log, in the order this process read them. */
  recordsOf(intentId: string): { topic: string; partition: number; offset: number }[] {
    const at = this.byIntent.get(intentId) ?? [];
    const out = [];
    for (let i = 0; i < at.length; i += 3) if (at[i] >= 0) out.push({ topic: ALL_TOPICS[at[i]], partition: at[i + 1], offset: at[i + 2] });
    return out;
  }

  private indexOrder(coid: string, account: string): void {
    const i = this.orderIds.length;
    this.orderIds.push(coid);
    let a = this.byAccount.get(account);
    if (!a) this.byAccount.set(account, (a = []));
    a.push(i);
  }
}

/** A record as the feed sends it. */
export function tailRecord(r: LogRecord, event: Event = fromRecord(r)): TailRecord {
  const message = JSON.stringify({ topic: r.topic, partition: r.partition, offset: r.offset, type: event.type, event });
  return { topic: r.topic, partition: r.partition, offset: r.offset, event, message };
}

async function settled(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  p.then(
    () => (done = true),
    () => (done = true),
  );
  await Promise.resolve();
  return done;
}
