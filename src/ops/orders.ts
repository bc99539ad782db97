// /orders over the API's fold: orders in the order they first appeared, filtered, a page at a
// time. The cursor is an order's place in that order, which never changes and only grows at the
// end, so paging while orders arrive neither skips nor repeats one; new orders come after the last
// page. A page looks at a bounded number of orders, so a filter that matches little answers with
// fewer orders and a cursor to go on from, never with a long scan.
import { OrderStatus, type OrderStatus as Status } from '../domain/events.js';
import type { OrderState } from '../oms/order.js';
import type { z } from 'zod';
import { CURSOR, ISO_UTC, type ApiOrder } from './contract.js';

export interface OrdersQuery {
  account?: string;
  strategy?: string;
  status?: Status;
  venue?: string;
  since?: string;
  until?: string;
  limit: number;
  /** Index of the first order to look at. */
  start: number;
}

export class BadQuery extends Error {}

/** Orders looked at per page at most. */
export const SCAN_BUDGET = 20_000;
export const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 1_000;

/** Cursor text: the index of the next order to look at, base36 behind a version letter. */
export const cursorOf = (index: number): string => `c${index.toString(36)}`;

function parseCursor(c: string): number {
  const n = CURSOR.test(c) ? parseInt(c.slice(1), 36) : NaN;
  if (!Number.isSafeInteger(n) || n < 0) throw new BadQuery(`cursor ${JSON.stringify(c)} is not one this API gave out`);
  return n;
}

/** The query from the request's parameters, or a BadQuery naming the parameter. */
export function parseOrdersQuery(q: Record<string, unknown>): OrdersQuery {
  const str = (k: string): string | undefined => {
    const v = q[k];
    if (v === undefined) return undefined;
    if (typeof v !== 'string') throw new BadQuery(`${k}: give it once, as text`);
    return v;
  };
  const out: OrdersQuery = { limit: DEFAULT_LIMIT, start: 0 };
  for (const k of ['account', 'strategy', 'venue'] as const) out[k] = str(k);
  const status = str('status');
  if (status !== undefined) {
    const parsed = OrderStatus.safeParse(status);
    if (!parsed.success) throw new BadQuery(`status ${JSON.stringify(status)}: use one of ${OrderStatus.options.join(', ')}`);
    out.status = parsed.data;
  }
  for (const k of ['since', 'until'] as const) {
    const v = str(k);
    if (v === undefined) continue;
    if (!ISO_UTC.test(v)) throw new BadQuery(`${k} ${JSON.stringify(v)}: use an ISO 8601 UTC time such as 2026-01-02T03:04:05Z`);
    out[k] = canonicalTime(v);
  }
  const limit = str('limit');
  if (limit !== undefined) {
    const n = Number(limit);
    if (!/^\d+$/.test(limit) || n < 1 || n > MAX_LIMIT) throw new BadQuery(`limit ${JSON.stringify(limit)}: a whole number from 1 to ${MAX_LIMIT}`);
    out.limit = n;
  }
  const cursor = str('cursor');
  if (cursor !== undefined) out.start = parseCursor(cursor);
  return out;
}

/** Event times are written with 6 fractional digits: the query's time in that form compares as text. */
function canonicalTime(v: string): string {
  const [secs, frac = ''] = v.slice(0, -1).split('.');
  return `${secs}.${frac.padEnd(6, '0').slice(0, 6)}Z`;
}

export function apiOrder(s: OrderState, index: number): z.infer<typeof ApiOrder> {
  const o = s.order;
  return {
    cursor: cursorOf(index + 1),
    client_order_id: o.client_order_id,
    intent_id: o.intent_id,
    account: o.account,
    strategy: o.strategy,
    env: o.env,
    venue: o.venue,
    instrument_id: o.instrument_id,
    side: o.side,
    order_type: o.order_type,
    qty: o.qty,
    ...(o.limit_price !== undefined ? { limit_price: o.limit_price } : {}),
    status: s.status,
    filled_qty: s.filled_qty,
    avg_price: s.avg_price,
    fees: s.fees,
    ...(s.fee_ccy !== undefined ? { fee_ccy: s.fee_ccy } : {}),
    ...(s.venue_order_id !== undefined ? { venue_order_id: s.venue_order_id } : {}),
    fills: s.fills,
    ts: s.ts,
  };
}

/**
 * One page: `ids` are the client order ids by first appearance, `byAccount` their indexes per
 * account (an account filter walks only its own). Returns the orders and the cursor after the
 * last order looked at, or null when the listing's end was reached.
 */
export function pageOrders(
  q: OrdersQuery,
  ids: readonly string[],
  byAccount: ReadonlyMap<string, readonly number[]>,
  get: (coid: string) => OrderState | undefined,
): { orders: z.infer<typeof ApiOrder>[]; next_cursor: string | null; scanned: number } {
  const page = walk(q, ids, byAccount, get, apiOrder);
  return { orders: page.items, next_cursor: page.next_cursor, scanned: page.scanned };
}

/** The same page as JSON text, each order's JSON reused from `cache` while the order is unchanged. */
export function pageOrdersJson(
  q: OrdersQuery,
  ids: readonly string[],
  byAccount: ReadonlyMap<string, readonly number[]>,
  get: (coid: string) => OrderState | undefined,
  cache: OrderJsonCache,
): string {
  const page = walk(q, ids, byAccount, get, (s, i) => cache.json(s, i));
  return `{"orders":[${page.items.join(',')}],"next_cursor":${page.next_cursor === null ? 'null' : `"${page.next_cursor}"`},"scanned":${page.scanned}}`;
}

/**
 * Each order's JSON as /orders sends it, kept while the order's figures stay the same: most pages
 * show orders that are done, so most of a page is text already made. Text, not Buffers: buffers
 * live outside V8's heap, and a page of them per request made V8 run full collections for the
 * external memory (20 ms pauses in the p99). An order's state is folded in place, so what changed
 * is read from its figures.
 */
export class OrderJsonCache {
  private readonly byId = new Map<string, { status: string; fills: number; ts: string; filled: string; vid: string | undefined; json: string }>();

  json(s: OrderState, index: number): string {
    const id = s.order.client_order_id;
    const hit = this.byId.get(id);
    if (hit && hit.status === s.status && hit.fills === s.fills && hit.ts === s.ts && hit.filled === s.filled_qty && hit.vid === s.venue_order_id) return hit.json;
    const json = JSON.stringify(apiOrder(s, index));
    this.byId.set(id, { status: s.status, fills: s.fills, ts: s.ts, filled: s.filled_qty, vid: s.venue_order_id, json });
    return json;
  }
}

/** True when the order passes the query's filters other than the account (which picks the index walked). */
export function passes(q: OrdersQuery, s: OrderState): boolean {
  return (
    (q.strategy === undefined || s.order.strategy === q.strategy) &&
    (q.status === undefined || s.status === q.status) &&
    (q.venue === undefined || s.order.venue === q.venue) &&
    (q.since === undefined || s.ts >= q.since) &&
    (q.until === undefined || s.ts < q.until)
  );
}

function walk<T>(
  q: OrdersQuery,
  ids: readonly string[],
  byAccount: ReadonlyMap<string, readonly number[]>,
  get: (coid: string) => OrderState | undefined,
  item: (s: OrderState, index: number) => T,
): { items: T[]; next_cursor: string | null; scanned: number } {
  const items: T[] = [];
  // The indexes to walk: every order's, or the account's (sorted: a binary search finds the start).
  const own = q.account !== undefined ? (byAccount.get(q.account) ?? []) : undefined;
  const total = own ? own.length : ids.length;
  let pos = own ? lowerBound(own, q.start) : Math.min(q.start, ids.length);
  let scanned = 0;
  while (pos < total && items.length < q.limit && scanned < SCAN_BUDGET) {
    const index = own ? own[pos] : pos;
    pos++;
    scanned++;
    const s = get(ids[index]);
    if (!s) continue;
    if (passes(q, s)) items.push(item(s, index));
  }
  const nextIndex = pos < total ? (own ? own[pos] : pos) : undefined;
  return { items, next_cursor: nextIndex === undefined ? null : cursorOf(nextIndex), scanned };
}

function lowerBound(a: readonly number[], x: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
