// The API's reads from the Redis projection, when REDIS_URL is set: orders by the number the
// projector gave each when it first saw it (the /orders cursor, so paging while orders arrive
// neither skips nor repeats one), an intent's orders, and positions. Several API processes then
// answer from one store, without each keeping every order in memory.
import { emptyView, type View } from '../projections/view.js';
import type { Redis } from '../projections/redis/client.js';
import type { RedisKeys } from '../projections/redis/keys.js';
import type { StoredOrder } from '../projections/redis/projector.js';
import { readRedisPositions } from '../projections/redis/reader.js';
import type { OrderState } from '../oms/order.js';
import { SCAN_BUDGET, apiOrder, cursorOf, passes, type OrdersQuery } from './orders.js';

/** Orders fetched per round trip while a filter skips some. */
const CHUNK = 500;

export class RedisReads {
  constructor(
    private readonly redis: Redis,
    private readonly k: RedisKeys,
  ) {}

  /** One /orders page as JSON, with the same filters, budget and cursors as the fold's. */
  async page(q: OrdersQuery): Promise<string> {
    const key = q.account !== undefined ? this.k.accountOrdersBySeq(q.account) : this.k.ordersBySeq;
    const filtered = q.strategy !== undefined || q.status !== undefined || q.venue !== undefined || q.since !== undefined || q.until !== undefined;
    const items: string[] = [];
    let start = q.start;
    let scanned = 0;
    let next: number | null = null;
    for (;;) {
      const want = Math.min(filtered ? CHUNK : q.limit - items.length, SCAN_BUDGET - scanned);
      const got = await this.redis.zrangebyscore(key, start, '+inf', 'WITHSCORES', 'LIMIT', 0, want);
      if (got.length === 0) break;
      const ids: string[] = [];
      const seqs: number[] = [];
      for (let i = 0; i < got.length; i += 2) {
        ids.push(got[i]);
        seqs.push(Number(got[i + 1]));
      }
      const values = await this.redis.mget(...ids.map((c) => this.k.order(c)));
      let i = 0;
      for (; i < ids.length && items.length < q.limit; i++) {
        scanned++;
        const v = values[i];
        if (v === null) continue;
        const s = stateOf(v);
        if (passes(q, s)) items.push(JSON.stringify(apiOrder(s, seqs[i])));
      }
      start = i < seqs.length ? seqs[i] : seqs[seqs.length - 1] + 1;
      if (items.length >= q.limit || scanned >= SCAN_BUDGET) {
        // More to look at? One count answers it.
        next = (await this.redis.zcount(key, start, '+inf')) > 0 ? start : null;
        break;
      }
    }
    return `{"orders":[${items.join(',')}],"next_cursor":${next === null ? 'null' : `"${cursorOf(next)}"`},"scanned":${scanned}}`;
  }

  /** The intent's order (the projection indexes an intent's first order) with its place in the listing. */
  async ordersOfIntent(intentId: string): Promise<{ state: OrderState; seq: number }[]> {
    const coid = await this.redis.get(this.k.intent(intentId));
    if (coid === null) return [];
    const [v, seq] = await Promise.all([this.redis.get(this.k.order(coid)), this.redis.zscore(this.k.ordersBySeq, coid)]);
    return v === null ? [] : [{ state: stateOf(v), seq: Number(seq ?? 0) }];
  }

  /** Positions and the time they are marked at (the projection's last order event time), as a View. */
  async positions(): Promise<View> {
    const view = emptyView();
    view.positions = await readRedisPositions(this.redis, this.k);
    view.last_ts = (await this.redis.hget(this.k.counts, 'last_ts')) ?? '';
    return view;
  }
}

function stateOf(json: string): OrderState {
  return { ...(JSON.parse(json) as StoredOrder), fingerprints: [] };
}
