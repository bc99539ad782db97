// Key layout of the Redis projection, all under one prefix (FILLSTREAM_REDIS_PREFIX, default
// `fillstream:`), so `rebuild --target redis` can clear exactly its own keys.
export const DEFAULT_REDIS_PREFIX = 'fillstream:';

export interface RedisKeys {
  prefix: string;
  /** HASH `<topic>/<partition>` → next offset to apply (the applied-offset watermarks). */
  applied: string;
  /** STRING: the order as JSON (StoredOrder). */
  order(clientOrderId: string): string;
  /** STRING: the client order id of the intent's order. */
  intent(intentId: string): string;
  /** SET: client order ids of the account's orders not yet in a terminal status. */
  open(account: string): string;
  /** HASH instrument_id → position JSON. */
  positions(account: string): string;
  /** SET: accounts that have positions. */
  accounts: string;
  /** HASH: outcome counts (intents, dlq, accepted, …), policy_version, last_ts. */
  counts: string;
  dlqByCode: string;
  rejectsByCode: string;
  /** HASH: policy_version and the policy in force (JSON): what the risk stage decides with. */
  risk: string;
  /** STRING: the last number given to an order, in the order orders first reached the projection. */
  orderSeq: string;
  /** ZSET: client order ids scored by that number (the API's /orders cursor). */
  ordersBySeq: string;
  /** ZSET: the account's client order ids, scored the same. */
  accountOrdersBySeq(account: string): string;
}

export function redisKeys(prefix = DEFAULT_REDIS_PREFIX): RedisKeys {
  return {
    prefix,
    applied: `${prefix}applied`,
    order: (c) => `${prefix}order:${c}`,
    intent: (i) => `${prefix}intent:${i}`,
    open: (a) => `${prefix}open:${a}`,
    positions: (a) => `${prefix}positions:${a}`,
    accounts: `${prefix}accounts`,
    counts: `${prefix}counts`,
    dlqByCode: `${prefix}dlq_by_code`,
    rejectsByCode: `${prefix}rejects_by_code`,
    risk: `${prefix}risk`,
    orderSeq: `${prefix}order_seq`,
    ordersBySeq: `${prefix}orders_by_seq`,
    accountOrdersBySeq: (a) => `${prefix}orders_by_seq:${a}`,
  };
}
