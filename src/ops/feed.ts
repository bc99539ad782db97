// The live feed: log events over a WebSocket, filtered, resumable from offsets, and bounded. Each
// WebSocket message is a JSON array of events ({topic, partition, offset, type, event}), a batch
// per turn of the event loop. A client whose unsent data passes the limit is dropped with close
// code 4008: a slow reader never grows this process's memory.
import type { WebSocket } from 'ws';
import { ALL_TOPICS } from '../domain/events.js';
import type { EventLog } from '../log/types.js';
import { tailRecord, type LogTail, type TailRecord } from './tail.js';

/** Close code for a subscriber that does not read fast enough. */
export const CLOSE_SLOW_CONSUMER = 4008;
/** Close code for a subscription request that does not parse. */
export const CLOSE_BAD_REQUEST = 4000;

/** Unsent bytes a subscriber may have queued before it is dropped. */
export const DEFAULT_MAX_BUFFERED = 8 * 1024 * 1024;
/** Events per WebSocket message at most: a big backlog goes out as several, each checked against the bound. */
const MAX_BATCH = 1_000;

export interface FeedFilter {
  accounts?: ReadonlySet<string>;
  strategies?: ReadonlySet<string>;
  intents?: ReadonlySet<string>;
  types?: ReadonlySet<string>;
  topics?: ReadonlySet<string>;
}

export interface FeedRequest {
  filter: FeedFilter;
  /** Next offset per `topic/partition` to send from; undefined: only what arrives from now on. */
  from?: Map<string, number>;
}

const list = (v: unknown): Set<string> | undefined => {
  if (typeof v !== 'string' || v === '') return undefined;
  return new Set(
    v
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean),
  );
};

/**
 * Query parameters: account, strategy, intent_id, types, topics (comma-separated lists) and from:
 * `end` (default: what arrives from now on), `start` (the whole log), or positions
 * `exec.gateway/0:1200,exec.risk/0:40` (each the next offset wanted, as the events' own offsets
 * plus one; partitions not named start at 0).
 */
export function parseFeedRequest(q: Record<string, unknown>): FeedRequest {
  const filter: FeedFilter = {
    accounts: list(q.account),
    strategies: list(q.strategy),
    intents: list(q.intent_id),
    types: list(q.types),
    topics: list(q.topics),
  };
  for (const t of filter.topics ?? []) if (!(ALL_TOPICS as readonly string[]).includes(t)) throw new Error(`topics: no topic ${t} (known: ${ALL_TOPICS.join(', ')})`);
  const from = typeof q.from === 'string' ? q.from : 'end';
  if (from === 'end') return { filter };
  if (from === 'start') return { filter, from: new Map() };
  const at = new Map<string, number>();
  for (const part of from.split(',')) {
    const m = /^([\w.-]+)\/(\d+):(\d+)$/.exec(part.trim());
    if (!m) throw new Error(`from: ${JSON.stringify(part)} is not topic/partition:offset (or use start or end)`);
    at.set(`${m[1]}/${m[2]}`, Number(m[3]));
  }
  return { filter, from: at };
}

export function matches(f: FeedFilter, r: TailRecord): boolean {
  const e = r.event;
  if (f.topics && !f.topics.has(r.topic)) return false;
  if (f.types && !f.types.has(e.type)) return false;
  if (f.accounts && !f.accounts.has(e.account)) return false;
  if (f.strategies && !f.strategies.has(e.strategy)) return false;
  if (f.intents && !f.intents.has(e.intent_id)) return false;
  return true;
}

/** Subscribers' sockets as the feed needs them (ws's WebSocket). */
type Socket = Pick<WebSocket, 'send' | 'close' | 'terminate' | 'on' | 'bufferedAmount' | 'readyState'>;

export class Subscriber {
  private queue: string[] = [];
  private scheduled = false;
  private closed = false;
  private unsubscribe: (() => void) | undefined;
  /** Live records held back while the catch-up from the log is read. */
  private held: TailRecord[] | undefined;
  private sent = 0;

  constructor(
    private readonly socket: Socket,
    private readonly req: FeedRequest,
    private readonly maxBuffered = DEFAULT_MAX_BUFFERED,
    private readonly onDropped?: () => void,
  ) {
    socket.on('close', () => this.stop());
    socket.on('error', () => this.stop());
  }

  /** Events sent so far. */
  get count(): number {
    return this.sent;
  }

  async start(tail: LogTail, log: EventLog): Promise<void> {
    const from = this.req.from;
    if (!from) {
      this.unsubscribe = tail.subscribe((r) => this.push(r));
      return;
    }
    const recent = tail.recentSince(from);
    if (recent) {
      for (const r of recent) this.push(r);
      this.unsubscribe = tail.subscribe((r) => this.push(r));
      return;
    }
    // Behind the memory ring: read the log from the positions asked for up to where the tail is,
    // holding what arrives meanwhile, then hand over without a gap or a repeat.
    this.held = [];
    this.unsubscribe = tail.subscribe((r) => (this.held ? this.held.push(r) : this.push(r)));
    const upTo = new Map(tail.positions);
    for (const [tp, end] of upTo) {
      const slash = tp.lastIndexOf('/');
      const topic = tp.slice(0, slash);
      const partition = Number(tp.slice(slash + 1));
      if (this.req.filter.topics && !this.req.filter.topics.has(topic)) continue;
      let next = from.get(tp) ?? 0;
      while (next < end && !this.closed) {
        const batch = await log.read(topic, partition, next, Math.min(1_000, end - next));
        if (batch.length === 0) break;
        for (const rec of batch) if (rec.offset < end) this.push(tailRecord(rec));
        next = batch[batch.length - 1].offset + 1;
        // Let the socket drain: the catch-up obeys the same bound as live events.
        while (!this.closed && this.socket.bufferedAmount > this.maxBuffered / 2) await new Promise((r) => setTimeout(r, 5));
      }
    }
    const held = this.held;
    this.held = undefined;
    for (const r of held) if (r.offset >= (upTo.get(`${r.topic}/${r.partition}`) ?? 0)) this.push(r);
  }

  stop(): void {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe?.();
    this.queue = [];
  }

  private push(r: TailRecord): void {
    if (this.closed || !matches(this.req.filter, r)) return;
    this.queue.push(r.message);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  private flush(): void {
    this.scheduled = false;
    if (this.closed || this.queue.length === 0) return;
    if (this.socket.bufferedAmount > this.maxBuffered) {
      this.socket.close(CLOSE_SLOW_CONSUMER, 'slow consumer: unsent events passed the limit; reconnect with from=<the last offsets you have>');
      // A peer that does not read will not read the close frame either.
      setTimeout(() => this.socket.terminate(), 2_000).unref();
      this.stop();
      this.onDropped?.();
      return;
    }
    const batch = this.queue.length > MAX_BATCH ? this.queue.splice(0, MAX_BATCH) : this.queue;
    if (batch === this.queue) this.queue = [];
    this.sent += batch.length;
    this.socket.send(`[${batch.join(',')}]`);
    if (this.queue.length > 0) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }
}
