// The live-state projection in Redis: orders by client order id and by intent id, open orders per
// account, positions, outcome counts and the risk policy in force. The projector folds the log in
// memory (the same fold as replay) and writes what each batch changed, together with the batch's
// per-partition applied-offset watermarks, in one Lua script: Redis runs it atomically, so after a
// crash the state and the watermarks always agree, and each event is applied exactly once.
import { ALL_TOPICS, TERMINAL_STATUSES, TOPICS } from '../../domain/events.js';
import type { EventLog, LogPosition, LogRecord } from '../../log/types.js';
import type { MarketData } from '../../market/types.js';
import type { OrderState } from '../../oms/order.js';
import { getPosition } from '../../positions/positions.js';
import { fromRecord, HEADER_CLIENT_ORDER_ID, HEADER_TYPE } from '../../runtime/codec.js';
import type { Sink } from '../../runtime/sink.js';
import { isPolicyRecord } from '../../risk/stage.js';
import { applyRecord, emptyView, resolverFor, type View } from '../view.js';
import { connectRedis, permanentFaultOf, scanPrefix, type Redis } from './client.js';
import { serverName, StopRequested } from '../../domain/faults.js';
import { redisKeys, type RedisKeys } from './keys.js';

export { connectRedis };

export const PROJECTOR_GROUP = 'projector';
/** Every log topic: exec.intents only counts intents; exec.risk also carries the policy. */
export const PROJECTOR_TOPICS: readonly string[] = ALL_TOPICS;

/**
 * KEYS[1]: the watermark hash. ARGV: n, then n × (field, expected, next), then the ops in one
 * string: per op `<argc>:` then per argument `<bytes>:<argument>`. One argument instead of
 * thousands: the client's cost per argument was a tenth of the projector's time (and a JSON array
 * would escape every quote of every stored order). Every watermark must still be what this
 * projector last wrote, or another projector wrote since (FENCED) and nothing is applied; unless
 * every one is already at this batch's end (-1): the batch's result is there, e.g. the client sent
 * the script again after a dropped connection lost its answer, and a fold of the same log gives
 * the same state whoever wrote it.
 */
/** The script's own op: number a new order and index it (not a Redis command). */
const INDEX_OP = 'FS_INDEX_ORDER';

export const APPLY_BATCH = `
local n = tonumber(ARGV[1])
local i = 2
local fenced = nil
local applied = true
for k = 1, n do
  local cur = redis.call('HGET', KEYS[1], ARGV[i]) or '0'
  if cur ~= ARGV[i + 1] and not fenced then
    fenced = 'FENCED ' .. ARGV[i] .. ' is at ' .. cur .. ', this projector expected ' .. ARGV[i + 1]
  end
  if cur ~= ARGV[i + 2] then applied = false end
  i = i + 3
end
if fenced then
  if applied then return -1 end
  return redis.error_reply(fenced)
end
local ops = ARGV[i]
local pos = 1
local count = 0
while pos <= #ops do
  local c = string.find(ops, ':', pos, true)
  local argc = tonumber(string.sub(ops, pos, c - 1))
  pos = c + 1
  local a = {}
  for k = 1, argc do
    c = string.find(ops, ':', pos, true)
    local len = tonumber(string.sub(ops, pos, c - 1))
    a[k] = string.sub(ops, c + 1, c + len)
    pos = c + len + 1
  end
  if a[1] == '${INDEX_OP}' then
    -- a[2] order seq key, a[3] index, a[4] the account's index, a[5] client order id: numbered
    -- once, the first time the projection sees the order (a rewrite after a restart keeps it).
    if not redis.call('ZSCORE', a[3], a[5]) then
      local n = redis.call('INCR', a[2])
      redis.call('ZADD', a[3], n, a[5])
      redis.call('ZADD', a[4], n, a[5])
    end
  else
    redis.call(unpack(a))
  end
  count = count + 1
end
i = 2
for k = 1, n do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 2])
  i = i + 3
end
return count
`;

type ApplyBatch = (key: string, ...args: string[]) => Promise<number>;

export interface ProjectorOptions {
  redisUrl: string;
  /** Key prefix (FILLSTREAM_REDIS_PREFIX), default `fillstream:`. */
  prefix?: string;
  log: EventLog;
  market?: MarketData;
  /** Aborted when the process stops (see connectRedis). */
  signal?: AbortSignal;
}

/** The order as stored: everything but the fill fingerprints (the projector's own dedup memory). */
export type StoredOrder = Omit<OrderState, 'fingerprints'>;

export function storedOrder(s: OrderState): StoredOrder {
  const { fingerprints: _f, ...rest } = s;
  return rest;
}

/**
 * JSON of storedOrder(s), given the JSON of s.order (immutable: the projector keeps it while the
 * order is open, as an open order is written again at each batch that touches it). Fixed key
 * order. The status and the sums the fold formats itself need no escaping; avg_price may be a
 * venue's figure and ts a header's text, so they are escaped.
 */
export function storedOrderJson(s: OrderState, orderJson: string = JSON.stringify(s.order)): string {
  let out = `{"order":${orderJson},"status":"${s.status}","filled_qty":"${s.filled_qty}","notional":"${s.notional}","avg_price":${JSON.stringify(s.avg_price)},"fees":"${s.fees}"`;
  if (s.fee_ccy !== undefined) out += `,"fee_ccy":${JSON.stringify(s.fee_ccy)}`;
  if (s.other_fees !== undefined) out += `,"other_fees":${JSON.stringify(s.other_fees)}`;
  if (s.venue_order_id !== undefined) out += `,"venue_order_id":${JSON.stringify(s.venue_order_id)}`;
  if (s.prior_venue_order_ids !== undefined) out += `,"prior_venue_order_ids":${JSON.stringify(s.prior_venue_order_ids)}`;
  return `${out},"fills":${s.fills},"ts":${JSON.stringify(s.ts)}}`;
}

/** Watermark field names, made once per partition (one per record otherwise). */
const wmFields = new Map<string, string[]>();
function wmField(topic: string, partition: number): string {
  let byPartition = wmFields.get(topic);
  if (byPartition === undefined) wmFields.set(topic, (byPartition = []));
  return (byPartition[partition] ??= `${topic}/${partition}`);
}

export class RedisProjector implements Sink {
  readonly name = PROJECTOR_GROUP;
  readonly topics = PROJECTOR_TOPICS;
  // Each batch rewrites every order it touched: catching up, larger batches write each order fewer
  // times (a script of 10,000 records runs for tens of milliseconds in Redis).
  readonly maxBatch = 10_000;
  readonly keys: RedisKeys;
  private readonly redis: Redis;
  private readonly applyBatch: ApplyBatch;
  private view: View = emptyView();
  private readonly resolve;
  /** Next offset per partition, as last written to Redis by this projector. */
  private readonly applied = new Map<string, number>();
  private policyVersion = 0;
  /** The latest batch's script, while Redis runs it; its failure fails the next write or flush. */
  private inFlight: Promise<void> | undefined;
  private inFlightRecords = 0;
  /** Orders whose index entries this projector wrote: true while in the open set. */
  private readonly indexed = new Map<string, boolean>();
  private readonly knownAccounts = new Set<string>();
  /** JSON of each open order's `order`, written again at every batch that touches it. */
  private readonly orderJson = new Map<string, string>();
  private failure: unknown;

  private constructor(private readonly o: ProjectorOptions) {
    this.keys = redisKeys(o.prefix);
    this.redis = connectRedis(o.redisUrl, { signal: o.signal });
    this.redis.defineCommand('fillstreamApplyBatch', { numberOfKeys: 1, lua: APPLY_BATCH });
    this.applyBatch = (this.redis as unknown as { fillstreamApplyBatch: ApplyBatch }).fillstreamApplyBatch.bind(this.redis);
    this.resolve = resolverFor(o.market);
  }

  /** Connects on the first command, which waits while Redis is away (connectRedis). */
  static open(o: ProjectorOptions): Promise<RedisProjector> {
    return Promise.resolve(new RedisProjector(o));
  }

  /** Reads the watermarks, then folds the log up to them: the in-memory state is what Redis holds. */
  async positions(partitions: { topic: string; partition: number }[]): Promise<LogPosition[]> {
    await this.flush();
    const stored = await this.redis.hgetall(this.keys.applied).catch((e: unknown) => {
      throw this.fault(e);
    });
    this.applied.clear();
    for (const [field, v] of Object.entries(stored)) this.applied.set(field, Number(v));
    this.view = emptyView();
    this.policyVersion = 0;
    this.indexed.clear();
    this.knownAccounts.clear();
    this.orderJson.clear();
    // An empty projection (a rebuild, a first start) has nothing to fold back.
    if (this.applied.size > 0)
      await this.o.log.scan([...this.topics], (r) => {
        if (r.offset < (this.applied.get(wmField(r.topic, r.partition)) ?? 0)) this.fold(r);
      });
    return partitions.map((p) => ({ ...p, offset: this.applied.get(wmField(p.topic, p.partition)) ?? 0 }));
  }

  private fold(r: LogRecord): void {
    applyRecord(this.view, r, this.resolve);
    if (r.topic === TOPICS.risk && isPolicyRecord(r)) {
      const e = fromRecord(r);
      if (e.type === 'RiskPolicySet' && e.data.version > this.policyVersion) this.policyVersion = e.data.version;
    }
  }

  async write(batch: LogRecord[]): Promise<void> {
    const k = this.keys;
    const touched = new Set<string>();
    const accounts = new Set<string>();
    let policy: string | undefined;
    const next = new Map<string, number>();
    for (const r of batch) {
      const field = wmField(r.topic, r.partition);
      const from = next.get(field) ?? this.applied.get(field) ?? 0;
      if (r.offset < from) continue; // already in Redis
      this.fold(r);
      next.set(field, r.offset + 1);
      const coid = r.headers[HEADER_CLIENT_ORDER_ID];
      if (coid !== undefined) {
        touched.add(coid);
        // An amend changes the order itself: its cached JSON goes.
        if (r.headers[HEADER_TYPE] === 'OrderAmended') this.orderJson.delete(coid);
        if (r.headers[HEADER_TYPE] === 'OrderFilled') {
          const s = this.view.orders.get(coid);
          if (s) accounts.add(`${s.order.account}\u0000${s.order.instrument_id}`);
        }
      }
      if (r.topic === TOPICS.risk && isPolicyRecord(r)) {
        const e = fromRecord(r);
        if (e.type === 'RiskPolicySet' && e.data.version === this.policyVersion) policy = JSON.stringify(e.data);
      }
    }
    if (next.size === 0) return;
    const args: string[] = [String(next.size)];
    for (const [field, offset] of next) args.push(field, String(this.applied.get(field) ?? 0), String(offset));
    let ops = '';
    const op = (...a: string[]) => {
      ops += a.length + ':';
      for (const x of a) ops += Buffer.byteLength(x) + ':' + x;
    };
    for (const coid of touched) {
      const s = this.view.orders.get(coid);
      if (!s) continue; // an event about an order never routed: counted as an anomaly
      const open = !TERMINAL_STATUSES.has(s.status);
      let orderJson = this.orderJson.get(coid);
      if (orderJson === undefined) {
        orderJson = JSON.stringify(s.order);
        if (open) this.orderJson.set(coid, orderJson);
      } else if (!open) this.orderJson.delete(coid);
      op('SET', k.order(coid), storedOrderJson(s, orderJson));
      // Index entries only when they change (all writes are idempotent, so after a restart, when
      // this memory is empty, writing them again is harmless).
      const was = this.indexed.get(coid);
      if (was === undefined) {
        op('SET', k.intent(s.order.intent_id), coid);
        op(INDEX_OP, k.orderSeq, k.ordersBySeq, k.accountOrdersBySeq(s.order.account), coid);
      }
      if (open && was !== true) op('SADD', k.open(s.order.account), coid);
      if (!open && was !== false) op('SREM', k.open(s.order.account), coid);
      this.indexed.set(coid, open);
    }
    for (const ai of accounts) {
      const [account, instrument] = ai.split('\u0000');
      const pos = getPosition(this.view.positions, account, instrument);
      if (!pos) continue;
      op('HSET', k.positions(account), instrument, JSON.stringify(pos));
      if (!this.knownAccounts.has(account)) op('SADD', k.accounts, account);
      this.knownAccounts.add(account);
    }
    const v = this.view;
    op(
      'HSET',
      k.counts,
      ...Object.entries({
        events: v.events,
        intents: v.intents,
        dlq: v.dlq,
        duplicates: v.duplicates,
        normalized: v.normalized,
        accepted: v.accepted,
        rejected: v.rejected,
        fills: v.fills,
        fill_duplicates: v.fill_duplicates,
        anomalies: v.anomalies,
        policy_version: v.policy_version,
        last_ts: v.last_ts,
      }).flatMap(([f, x]) => [f, String(x)]),
    );
    const byCode = (key: string, m: Record<string, number>) => {
      const e = Object.entries(m);
      if (e.length) op('HSET', key, ...e.flatMap(([c, n]) => [c, String(n)]));
    };
    byCode(k.dlqByCode, v.dlq_by_code);
    byCode(k.rejectsByCode, v.rejects_by_code);
    if (policy !== undefined) op('HSET', k.risk, 'policy_version', String(this.policyVersion), 'policy', policy);
    // One script stays in flight while the next batch is folded: Redis runs them in order, and the
    // next one expects the watermarks this one sets, so a failure of either fails the projector.
    for (const [field, offset] of next) this.applied.set(field, offset);
    const previous = this.inFlight;
    const records = batch.length;
    args.push(ops);
    const applying = this.applyBatch(k.applied, ...args).then(
      () => {
        this.inFlightRecords -= records;
      },
      (e: unknown) => {
        this.failure ??= e;
      },
    );
    this.inFlightRecords += records;
    this.inFlight = applying;
    await previous;
    this.throwIfFailed();
  }

  private throwIfFailed(): void {
    if (this.failure !== undefined) throw this.fault(this.failure);
  }

  /** What a failed command means: the connection's permanent fault when it met one, a stop when the process is stopping, else the error. */
  private fault(e: unknown): unknown {
    return permanentFaultOf(this.redis) ?? (this.o.signal?.aborted ? new StopRequested(serverName('Redis', this.o.redisUrl), { cause: e }) : e);
  }

  pending(): number {
    return this.inFlightRecords;
  }

  async flush(): Promise<void> {
    await this.inFlight;
    this.throwIfFailed();
  }

  async close(): Promise<void> {
    await this.inFlight;
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}

/** Deletes every key of the namespace (UNLINK, in SCAN pages). Returns how many there were. */
export async function clearNamespace(redis: Redis, prefix: string): Promise<number> {
  let n = 0;
  for await (const keys of scanPrefix(redis, prefix)) n += await redis.unlink(...keys);
  return n;
}
