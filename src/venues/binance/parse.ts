// Binance spot JSON -> fillstream reports, pure. One trade gives the same TRADE report whichever
// path brought it (place reply, user-data push, query, trade list): the venue's order id, trade id
// and trade time, canonical decimals. Amends are cancel/replace: the replacement order's client id
// is <root>r<n> and the cancel leg's is <root>x<n>; both map back to the root order fillstream knows.
import { dec, fmt } from '../../domain/decimal.js';
import type { VenueReport } from '../../domain/events.js';
import { microsToIso } from '../../domain/time.js';
import type { VenueInstrumentRules, VenueMessage, VenueOrderSnapshot } from '../types.js';

/** What Binance accepts as newClientOrderId. */
export const CLIENT_ORDER_ID_RE = /^[a-zA-Z0-9-_]{1,36}$/;

export interface RawError {
  code: number;
  msg: string;
  /** cancelReplace failures carry both legs' results here. */
  data?: RawCancelReplace;
}
/** POST /api/v3/order/cancelReplace: the reply, or an error's data. */
export interface RawCancelReplace {
  cancelResult: 'SUCCESS' | 'FAILURE';
  newOrderResult: 'SUCCESS' | 'FAILURE' | 'NOT_ATTEMPTED';
  cancelResponse: RawOrder | RawError;
  newOrderResponse: RawOrder | RawError | null;
}
export const isRawError = (x: unknown): x is RawError => typeof x === 'object' && x !== null && typeof (x as RawError).code === 'number' && typeof (x as RawError).msg === 'string';
export interface RawFill {
  price: string;
  qty: string;
  commission: string;
  commissionAsset: string;
  tradeId: number;
}
/** POST /api/v3/order (FULL), DELETE /api/v3/order, GET /api/v3/order and openOrders share these fields. */
export interface RawOrder {
  symbol: string;
  orderId: number;
  clientOrderId: string;
  origClientOrderId?: string;
  transactTime?: number;
  time?: number;
  updateTime?: number;
  price: string;
  origQty: string;
  executedQty: string;
  status: string;
  timeInForce: string;
  type: string;
  side: string;
  fills?: RawFill[];
}
export interface RawMyTrade {
  symbol: string;
  id: number;
  orderId: number;
  price: string;
  qty: string;
  commission: string;
  commissionAsset: string;
  time: number;
  isBuyer: boolean;
  isMaker: boolean;
}
export interface RawExecutionReport {
  e: 'executionReport';
  E: number;
  s: string;
  c: string;
  S: string;
  o: string;
  f: string;
  q: string;
  p: string;
  C: string;
  x: string;
  X: string;
  r: string;
  i: number;
  l: string;
  z: string;
  L: string;
  n: string;
  N: string | null;
  T: number;
  t: number;
  m: boolean;
  O?: number;
}
interface RawFilter {
  filterType: string;
  tickSize?: string;
  stepSize?: string;
  minQty?: string;
  maxQty?: string;
  minNotional?: string;
}
export interface RawRateLimit {
  rateLimitType: 'REQUEST_WEIGHT' | 'ORDERS' | 'RAW_REQUESTS';
  interval: 'SECOND' | 'MINUTE' | 'HOUR' | 'DAY';
  intervalNum: number;
  limit: number;
}
export interface RawExchangeInfo {
  serverTime: number;
  rateLimits: RawRateLimit[];
  symbols: { symbol: string; status: string; baseAsset: string; quoteAsset: string; filters: RawFilter[] }[];
}

const num = (x: string): string => fmt(dec(x));
const iso = (ms: number): string => microsToIso(ms * 1000);

// --- client order ids of a cancel/replace chain -------------------------------------------------

const LEG_RE = /^([a-zA-Z0-9_-]{1,32})([rx])([1-9]\d{0,2})$/;

/** The replacement order's id for amendment n (1..999): root + 'r' + n. */
export const replacementId = (root: string, n: number): string => `${root}r${n}`;
/** The cancel leg's id for amendment n: root + 'x' + n. */
export const cancelLegId = (root: string, n: number): string => `${root}x${n}`;

/** Which logical order a venue client id belongs to, and whether it is a replacement or a cancel leg. */
export function splitClientId(id: string): { root: string; leg?: 'replacement' | 'cancel'; n: number } {
  const m = LEG_RE.exec(id);
  if (!m) return { root: id, n: 0 };
  return { root: m[1], leg: m[2] === 'r' ? 'replacement' : 'cancel', n: Number(m[3]) };
}

// --- errors ----------------------------------------------------------------------------------------

/** Binance's {code,msg} error body, if the text is one. */
export function parseError(text: string): RawError | undefined {
  try {
    const j = JSON.parse(text) as unknown;
    if (isRawError(j)) return j.data === undefined ? { code: j.code, msg: j.msg } : { code: j.code, msg: j.msg, data: j.data };
  } catch {
    // not JSON: no venue error
  }
  return undefined;
}

const FILTER_WHY: Record<string, string> = {
  PRICE_FILTER: 'the price is off the tick size or outside the allowed price range',
  PERCENT_PRICE: 'the price is too far from the average price',
  LOT_SIZE: 'the quantity is off the step size, below the minimum or above the maximum',
  MARKET_LOT_SIZE: 'the market order quantity is off the step size or out of range',
  MIN_NOTIONAL: 'price x quantity is below the minimum notional',
  NOTIONAL: 'price x quantity is outside the allowed notional range',
  MAX_NUM_ORDERS: 'too many open orders on the symbol',
};

/** A clear reason for a venue refusal, naming the venue's code, message and (for filter failures) the filter. */
export function rejectReason(e: RawError): string {
  const filter = /^Filter failure: ([A-Z_]+)/.exec(e.msg);
  if (filter) return `Binance ${e.code}: ${e.msg} (${FILTER_WHY[filter[1]] ?? `the order breaks the ${filter[1]} filter`})`;
  switch (e.msg) {
    case 'Duplicate order sent.':
      return `Binance ${e.code}: ${e.msg} (the client order id is in use by an open order)`;
    case 'Account has insufficient balance for requested action.':
      return `Binance ${e.code}: ${e.msg} (the account's free balance cannot pay for the order)`;
    case 'Order would immediately match and take.':
      return `Binance ${e.code}: ${e.msg} (a post-only order would have taken liquidity)`;
    case 'Unknown order sent.':
      return `Binance ${e.code}: ${e.msg} (no open order with that id: never placed, or already closed)`;
    default:
      return `Binance ${e.code}: ${e.msg}`;
  }
}

export function rejectedReport(e: RawError, ts: string): VenueReport {
  return { kind: 'REJECTED', code: String(e.code), reason: rejectReason(e), ts };
}

// --- orders and trades -------------------------------------------------------------------------------

/**
 * Why an order expired, in words, from its type and time in force: every path (reply, push,
 * query) says the same, as a push carries no expiry reason.
 */
export function expiredReason(type: string, tif: string): string {
  return type === 'MARKET'
    ? 'market order: remainder expired (not enough liquidity)'
    : tif === 'FOK'
      ? 'FOK: not fully fillable, expired'
      : tif === 'IOC'
        ? 'IOC: unfilled remainder expired'
        : 'expired by the venue';
}

export const CANCELED_REASON = 'canceled';

function terminal(o: Pick<RawOrder, 'status' | 'type' | 'timeInForce'>, ts: string): VenueReport | undefined {
  switch (o.status) {
    case 'CANCELED':
      return { kind: 'CANCELED', reason: CANCELED_REASON, ts };
    case 'EXPIRED':
      return { kind: 'EXPIRED', reason: expiredReason(o.type, o.timeInForce), ts };
    case 'EXPIRED_IN_MATCH':
      return { kind: 'EXPIRED', reason: 'self-trade prevention', ts };
    case 'REJECTED':
      return { kind: 'REJECTED', code: 'REJECTED', reason: 'rejected by the matching engine', ts };
    default:
      return undefined;
  }
}

export const isOpenStatus = (status: string): boolean => status === 'NEW' || status === 'PARTIALLY_FILLED' || status === 'PENDING_NEW';

/** A trade from the account trade list (GET /api/v3/myTrades). */
export function tradeReport(t: RawMyTrade): VenueReport {
  return {
    kind: 'TRADE',
    venue_order_id: String(t.orderId),
    trade_id: String(t.id),
    qty: num(t.qty),
    price: num(t.price),
    fee: num(t.commission),
    fee_ccy: t.commissionAsset,
    liquidity: t.isMaker ? 'MAKER' : 'TAKER',
    ts: iso(t.time),
  };
}

/**
 * The reports a placement reply carries (newOrderRespType=FULL): ACK, the fills it took at once
 * (as taker, at the transaction time), and the terminal report when it closed at once.
 */
export function placeReplyReports(o: RawOrder): VenueReport[] {
  const at = o.transactTime ?? o.time ?? 0;
  const ts = iso(at);
  const out: VenueReport[] = [{ kind: 'ACK', venue_order_id: String(o.orderId), ts }];
  for (const f of o.fills ?? []) {
    out.push({
      kind: 'TRADE',
      venue_order_id: String(o.orderId),
      trade_id: String(f.tradeId),
      qty: num(f.qty),
      price: num(f.price),
      fee: num(f.commission),
      fee_ccy: f.commissionAsset,
      liquidity: 'TAKER',
      ts,
    });
  }
  const end = terminal(o, ts);
  if (end) out.push(end);
  return out;
}

/** The reply to a cancel (DELETE /api/v3/order). */
export function cancelReplyReports(o: RawOrder): VenueReport[] {
  const ts = iso(o.transactTime ?? o.updateTime ?? 0);
  return [terminal(o, ts) ?? { kind: 'CANCELED', reason: CANCELED_REASON, ts }];
}

/**
 * An order as the venue holds it, from the chain of venue orders that carried it (the root, then
 * each replacement of a cancel/replace amend, oldest first) and their trades.
 */
export function orderSnapshot(chain: readonly RawOrder[], trades: readonly RawMyTrade[]): VenueOrderSnapshot {
  if (chain.length === 0) throw new Error('an order snapshot needs at least one venue order');
  const root = chain[0];
  const last = chain[chain.length - 1];
  const reports: VenueReport[] = [{ kind: 'ACK', venue_order_id: String(root.orderId), ts: iso(root.time ?? root.transactTime ?? 0) }];
  const byOrder = new Map<number, RawMyTrade[]>();
  for (const t of [...trades].sort((a, b) => a.id - b.id)) byOrder.set(t.orderId, [...(byOrder.get(t.orderId) ?? []), t]);
  let filledBefore = dec('0');
  chain.forEach((o, i) => {
    if (i > 0) {
      reports.push({ kind: 'AMENDED', venue_order_id: String(o.orderId), qty: fmt(filledBefore.plus(dec(o.origQty))), limit_price: num(o.price), ts: iso(o.time ?? 0) });
    }
    for (const t of byOrder.get(o.orderId) ?? []) reports.push(tradeReport(t));
    filledBefore = filledBefore.plus(dec(o.executedQty));
  });
  // A replaced order's CANCELED is the replace's cancel leg: only the last order's end is the order's.
  const end = terminal(last, iso(last.updateTime ?? last.time ?? 0));
  if (end) reports.push(end);
  return { client_order_id: splitClientId(root.clientOrderId).root, venue_order_id: String(last.orderId), symbol: root.symbol, open: isOpenStatus(last.status), reports };
}

// --- user-data stream ------------------------------------------------------------------------------

/** The reports one executionReport carries, tagged with the logical order's client id. */
export function executionReportMessages(e: RawExecutionReport): VenueMessage[] {
  const ts = iso(e.T);
  const own = splitClientId(e.c);
  switch (e.x) {
    case 'NEW':
      // A replacement's NEW is reported by the amend's AMENDED (it knows the total quantity).
      return own.leg ? [] : [{ client_order_id: own.root, report: { kind: 'ACK', venue_order_id: String(e.i), ts } }];
    case 'TRADE':
      return [
        {
          client_order_id: own.root,
          report: {
            kind: 'TRADE',
            venue_order_id: String(e.i),
            trade_id: String(e.t),
            qty: num(e.l),
            price: num(e.L),
            fee: num(e.n),
            fee_ccy: e.N ?? '',
            liquidity: e.m ? 'MAKER' : 'TAKER',
            ts,
          },
        },
      ];
    case 'CANCELED': {
      // c is the cancel request's id, C the canceled order's: a replace's cancel leg is no cancel of the order.
      if (own.leg === 'cancel') return [];
      const target = splitClientId(e.C !== '' ? e.C : e.c);
      return [{ client_order_id: target.root, report: { kind: 'CANCELED', reason: CANCELED_REASON, ts } }];
    }
    case 'EXPIRED':
      return [{ client_order_id: own.root, report: { kind: 'EXPIRED', reason: expiredReason(e.o, e.f), ts } }];
    case 'TRADE_PREVENTION':
      return [{ client_order_id: own.root, report: { kind: 'EXPIRED', reason: 'self-trade prevention', ts } }];
    case 'REJECTED':
      return [{ client_order_id: own.root, report: { kind: 'REJECTED', code: e.r, reason: `rejected by the venue: ${e.r}`, ts } }];
    default:
      return []; // REPLACED (amend keeping priority) and anything newer: not used by this gateway
  }
}

/** One WebSocket API frame: a reply to a request, a user-data event, or something else. */
export type StreamFrame =
  | { kind: 'reply'; id: string | number | null; status: number; result?: unknown; error?: RawError }
  | { kind: 'event'; subscriptionId?: number; messages: VenueMessage[]; event: string }
  | { kind: 'other'; text: string };

export function parseStreamFrame(text: string): StreamFrame {
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch {
    return { kind: 'other', text };
  }
  if (typeof j !== 'object' || j === null) return { kind: 'other', text };
  const o = j as { id?: string | number | null; status?: number; result?: unknown; error?: RawError; subscriptionId?: number; event?: { e?: string } };
  if (typeof o.status === 'number' && 'id' in o) return { kind: 'reply', id: o.id ?? null, status: o.status, result: o.result, error: o.error };
  if (o.event && typeof o.event.e === 'string') {
    const messages = o.event.e === 'executionReport' ? executionReportMessages(o.event as RawExecutionReport) : [];
    return { kind: 'event', subscriptionId: o.subscriptionId, messages, event: o.event.e };
  }
  return { kind: 'other', text };
}

// --- rules ----------------------------------------------------------------------------------------------

/** Trading rules per symbol from exchangeInfo (symbols that are not TRADING are left out). */
export function instrumentRules(info: RawExchangeInfo): VenueInstrumentRules[] {
  const out: VenueInstrumentRules[] = [];
  for (const s of info.symbols) {
    if (s.status !== 'TRADING') continue;
    const f = (t: string) => s.filters.find((x) => x.filterType === t);
    const price = f('PRICE_FILTER');
    const lot = f('LOT_SIZE');
    const notional = f('NOTIONAL') ?? f('MIN_NOTIONAL');
    out.push({
      symbol: s.symbol,
      base: s.baseAsset,
      quote: s.quoteAsset,
      tick_size: num(price?.tickSize ?? '0'),
      lot_size: num(lot?.stepSize ?? '0'),
      min_qty: num(lot?.minQty ?? '0'),
      max_qty: num(lot?.maxQty ?? '0'),
      min_notional: num(notional?.minNotional ?? '0'),
    });
  }
  return out;
}

const INTERVAL_MS = { SECOND: 1_000, MINUTE: 60_000, HOUR: 3_600_000, DAY: 86_400_000 } as const;
const INTERVAL_LETTER = { SECOND: 'S', MINUTE: 'M', HOUR: 'H', DAY: 'D' } as const;

export interface RateLimit {
  kind: 'REQUEST_WEIGHT' | 'ORDERS';
  /** The header that reports its use, e.g. x-mbx-used-weight-1m, x-mbx-order-count-10s. */
  header: string;
  window_ms: number;
  limit: number;
}

/** The request-weight and order-count limits exchangeInfo publishes, with the header reporting each. */
export function rateLimits(info: Pick<RawExchangeInfo, 'rateLimits'>): RateLimit[] {
  const out: RateLimit[] = [];
  for (const r of info.rateLimits) {
    if (r.rateLimitType === 'RAW_REQUESTS') continue;
    const suffix = `${r.intervalNum}${INTERVAL_LETTER[r.interval]}`.toLowerCase();
    const header = r.rateLimitType === 'REQUEST_WEIGHT' ? `x-mbx-used-weight-${suffix}` : `x-mbx-order-count-${suffix}`;
    out.push({ kind: r.rateLimitType, header, window_ms: r.intervalNum * INTERVAL_MS[r.interval], limit: r.limit });
  }
  return out;
}
