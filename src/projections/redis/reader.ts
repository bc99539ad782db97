// Live state read back from the Redis projection as a View, so the CLI renders it, and hashes it,
// exactly as it does a fold of the log.
import { scanPrefix, type Redis } from './client.js';
import type { OrderState } from '../../oms/order.js';
import { bookOfPositions, type Position, type PositionBook } from '../../positions/positions.js';
import { emptyView, type View } from '../view.js';
import type { RedisKeys } from './keys.js';
import type { StoredOrder } from './projector.js';

const COUNT_FIELDS = ['events', 'intents', 'dlq', 'duplicates', 'normalized', 'accepted', 'rejected', 'fills', 'fill_duplicates', 'anomalies', 'policy_version'] as const;

export async function readRedisView(redis: Redis, k: RedisKeys): Promise<View> {
  const view = emptyView();
  const counts = await redis.hgetall(k.counts);
  for (const f of COUNT_FIELDS) view[f] = Number(counts[f] ?? 0);
  view.last_ts = counts.last_ts ?? '';
  view.dlq_by_code = numbers(await redis.hgetall(k.dlqByCode));
  view.rejects_by_code = numbers(await redis.hgetall(k.rejectsByCode));
  for await (const keys of scanPrefix(redis, k.order(''))) {
    const values = await redis.mget(...keys);
    for (const v of values) {
      if (v === null) continue;
      const o = JSON.parse(v) as StoredOrder;
      view.orders.set(o.order.client_order_id, { ...o, fingerprints: [] } satisfies OrderState);
    }
  }
  view.positions = await readRedisPositions(redis, k);
  return view;
}

/** Every account's positions in the projection, as a book. */
export async function readRedisPositions(redis: Redis, k: RedisKeys): Promise<PositionBook> {
  const positions: Position[] = [];
  for (const account of (await redis.smembers(k.accounts)).sort()) {
    for (const v of Object.values(await redis.hgetall(k.positions(account)))) positions.push(JSON.parse(v) as Position);
  }
  return bookOfPositions(positions);
}

/** The applied-offset watermarks: `<topic>/<partition>` → next offset. */
export async function readWatermarks(redis: Redis, k: RedisKeys): Promise<Record<string, number>> {
  return numbers(await redis.hgetall(k.applied));
}

function numbers(h: Record<string, string>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, v] of Object.entries(h)) out[key] = Number(v);
  return out;
}
