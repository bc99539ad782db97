// KuCoin's JSON (HF order REST replies, /hf/fills, /api/v2/symbols, orderChange V2 pushes, error
// bodies) into fillstream's venue reports. Pure: the adapter does the I/O and hands the bodies here.
// A TRADE is always built from a /hf/fills item, so it is the same report whichever path found it.
import { dec, fmt } from '../../domain/decimal.js';
import type { VenueReport } from '../../domain/events.js';
import { microsToIso } from '../../domain/time.js';
import type { VenueInstrumentRules, VenueMessage, VenueOrderSnapshot } from '../types.js';

export const OK_CODE = '200000';

/** Every KuCoin REST reply: {code, data} on success, {code, msg} on failure. */
export interface KucoinEnvelope<T = unknown> {
  code: string;
  msg?: string;
  data?: T;
}

/** An HF order as GET /api/v1/hf/orders/{orderId} and …/client-order/{clientOid} return it. */
export interface KucoinOrder {
  id: string;
  clientOid: string;
  symbol: string;
  type: 'limit' | 'market';
  side: 'buy' | 'sell';
  price?: string;
  size: string;
  funds?: string;
  dealSize: string;
  dealFunds?: string;
  timeInForce?: 'GTC' | 'GTT' | 'IOC' | 'FOK';
  cancelExist?: boolean;
  cancelledSize?: string;
  remainSize?: string;
  active: boolean;
  inOrderBook?: boolean;
  createdAt: number;
  lastUpdatedAt: number;
}

/** One item of GET /api/v1/hf/fills. */
export interface KucoinFill {
  /** Integers past 2^53 come as strings (parseJson). */
  id: number | string;
  symbol: string;
  tradeId: number | string;
  orderId: string;
  side: 'buy' | 'sell';
  liquidity: 'taker' | 'maker';
  price: string;
  size: string;
  funds?: string;
  fee: string;
  feeCurrency: string;
  createdAt: number;
}

/** One item of GET /api/v1/accounts: a currency of one account type (available = balance - holds). */
export interface KucoinAccount {
  id: string;
  currency: string;
  type: string;
  balance: string;
  available: string;
  holds: string;
}

/** One item of GET /api/v2/symbols. */
export interface KucoinSymbol {
  symbol: string;
  baseCurrency: string;
  quoteCurrency: string;
  baseMinSize: string;
  baseMaxSize: string;
  baseIncrement: string;
  priceIncrement: string;
  quoteMinSize?: string;
  minFunds?: string | null;
  enableTrading?: boolean;
}

/** The data of an orderChange push on /spotMarket/tradeOrdersV2. */
export interface KucoinOrderChange {
  symbol: string;
  orderType: 'limit' | 'market';
  side: 'buy' | 'sell';
  orderId: string;
  clientOid: string;
  type: 'received' | 'open' | 'match' | 'update' | 'filled' | 'canceled';
  status: string;
  size?: string;
  oldSize?: string;
  price?: string;
  filledSize?: string;
  remainSize?: string;
  matchPrice?: string;
  matchSize?: string;
  tradeId?: string;
  liquidity?: 'taker' | 'maker';
  /** Nanoseconds. */
  ts: number | string;
}

/** Venue time in ms → the canonical event time. */
export const msToIso = (ms: number): string => microsToIso(Math.trunc(ms) * 1000);
/** KuCoin pushes nanoseconds; reports keep the millisecond, as /hf/fills gives it. A JSON number this large is a float: exact only as a string. */
export const nsToMs = (ns: number | string): number => (typeof ns === 'string' ? Number(BigInt(ns) / 1_000_000n) : Math.floor(ns / 1_000_000));

const canon = (s: string): string => fmt(dec(s));

/** What a KuCoin error code means, for reject reasons a person can act on. */
const MEANING: Readonly<Record<string, string>> = {
  '200001': 'order creation suspended for this pair',
  '200004': 'insufficient balance',
  '400001': 'authentication header missing',
  '400002': 'request timestamp outside the venue window',
  '400003': 'API key does not exist',
  '400004': 'API passphrase is wrong',
  '400005': 'signature is wrong',
  '400006': 'IP address is not in the API key whitelist',
  '400007': 'access denied (API key permission)',
  '400100': 'parameter error',
  '400200': 'order placement forbidden',
  '400600': 'symbol not yet trading',
  '429000': 'rate limit exceeded',
  '900001': 'symbol does not exist',
  '126043': 'order does not exist',
  '126044': 'client order id already used',
};

export function explainError(code: string, msg: string | undefined): string {
  const meaning = MEANING[code];
  const text = msg && msg.length > 0 ? msg : 'no message';
  return meaning ? `KuCoin ${code} ${meaning}: ${text}` : `KuCoin ${code}: ${text}`;
}

export function rejected(code: string, msg: string | undefined, ts: string): VenueReport {
  return { kind: 'REJECTED', code, reason: explainError(code, msg), ts };
}

type Reviver = (this: unknown, key: string, value: unknown, context?: { source?: string }) => unknown;
/** Integers past 2^53 (KuCoin's tradeId, nanosecond ts) are kept as their exact digits, in a string. */
const keepBigIntegers: Reviver = (_key, value, context) =>
  typeof value === 'number' && Number.isInteger(value) && !Number.isSafeInteger(value) && context?.source !== undefined ? context.source : value;

/** JSON.parse that does not round KuCoin's large integer ids. */
export function parseJson(text: string): unknown {
  // A reviver costs a call per value: only texts with an integer that long can hold one past 2^53.
  return LONG_DIGITS.test(text) ? JSON.parse(text, keepBigIntegers) : JSON.parse(text);
}

const LONG_DIGITS = /\d{16}/;

/** A reply body as an envelope; a body that is not one is described, never trusted. */
export function parseEnvelope(text: string): KucoinEnvelope {
  let body: unknown;
  try {
    body = parseJson(text);
  } catch {
    return { code: 'BAD_REPLY', msg: `not JSON: ${text.slice(0, 120)}` };
  }
  if (typeof body !== 'object' || body === null || typeof (body as { code?: unknown }).code !== 'string') {
    return { code: 'BAD_REPLY', msg: `no code in reply: ${text.slice(0, 120)}` };
  }
  return body as KucoinEnvelope;
}

export function isDuplicateClientOid(code: string, msg: string | undefined): boolean {
  return code === '126044' || (code === '400100' && /clientOid\s*(duplicat|.*already)/i.test(msg ?? ''));
}

export function isOrderNotFound(code: string, msg: string | undefined): boolean {
  return code === '126043' || /order[_ ]not[_ ]exist|does not exist/i.test(msg ?? '');
}

export function fillToTrade(f: KucoinFill): VenueReport {
  return {
    kind: 'TRADE',
    venue_order_id: f.orderId,
    trade_id: String(f.tradeId),
    qty: canon(f.size),
    price: canon(f.price),
    fee: canon(f.fee),
    fee_ccy: f.feeCurrency,
    liquidity: f.liquidity === 'maker' ? 'MAKER' : 'TAKER',
    ts: msToIso(f.createdAt),
  };
}

/** KuCoin reports an IOC/FOK/market remainder as canceled; fillstream calls that expired. */
export function terminalOf(o: { type: 'limit' | 'market'; timeInForce?: string }, ts: string): VenueReport {
  if (o.type === 'market') return { kind: 'EXPIRED', reason: 'market order remainder canceled by KuCoin (no more liquidity)', ts };
  if (o.timeInForce === 'IOC') return { kind: 'EXPIRED', reason: 'IOC remainder canceled by KuCoin', ts };
  if (o.timeInForce === 'FOK') return { kind: 'EXPIRED', reason: 'FOK not fully fillable: canceled by KuCoin', ts };
  return { kind: 'CANCELED', reason: 'canceled on KuCoin', ts };
}

/**
 * An order and its fills (of every order id it had) as a snapshot: ACK (with its current id), the trades by
 * trade id, then its terminal report when closed without being fully filled.
 */
export function orderSnapshot(o: KucoinOrder, fills: readonly KucoinFill[], ackOrderId = o.id): VenueOrderSnapshot {
  const reports: VenueReport[] = [{ kind: 'ACK', venue_order_id: ackOrderId, ts: msToIso(o.createdAt) }];
  const trades = [...fills].sort((a, b) => (BigInt(a.tradeId) < BigInt(b.tradeId) ? -1 : 1));
  for (const f of trades) reports.push(fillToTrade(f));
  const filledAll = dec(o.size).coef > 0n && dec(o.dealSize).gte(dec(o.size));
  if (!o.active && !filledAll) reports.push(terminalOf(o, msToIso(o.lastUpdatedAt)));
  return { client_order_id: o.clientOid, venue_order_id: o.id, symbol: o.symbol, open: o.active, reports };
}

export function symbolRules(s: KucoinSymbol): VenueInstrumentRules {
  return {
    symbol: s.symbol,
    base: s.baseCurrency,
    quote: s.quoteCurrency,
    tick_size: canon(s.priceIncrement),
    lot_size: canon(s.baseIncrement),
    min_qty: canon(s.baseMinSize),
    max_qty: canon(s.baseMaxSize),
    min_notional: canon(s.minFunds ?? s.quoteMinSize ?? '0'),
  };
}

/**
 * What an orderChange push says, except trades: a match carries no fee, so the adapter answers it
 * with the /hf/fills item for that trade (`trade` names it). `tif` is the order's time in force
 * when the adapter knows it (pushes do not carry it).
 */
export type OrderChangeMeaning =
  { kind: 'report'; message: VenueMessage } | { kind: 'trade'; client_order_id: string; symbol: string; order_id: string; trade_id: string } | { kind: 'none' };

export function orderChange(d: KucoinOrderChange, tif?: string): OrderChangeMeaning {
  const ts = msToIso(nsToMs(d.ts));
  const coid = d.clientOid;
  switch (d.type) {
    case 'received':
      return { kind: 'report', message: { client_order_id: coid, report: { kind: 'ACK', venue_order_id: d.orderId, ts } } };
    case 'match':
      if (!d.tradeId) return { kind: 'none' };
      return { kind: 'trade', client_order_id: coid, symbol: d.symbol, order_id: d.orderId, trade_id: String(d.tradeId) };
    case 'canceled':
      return { kind: 'report', message: { client_order_id: coid, report: terminalOf({ type: d.orderType, timeInForce: tif }, ts) } };
    case 'update': {
      const report: VenueReport = { kind: 'AMENDED', venue_order_id: d.orderId, qty: canon(d.size ?? '0'), ts };
      if (d.price !== undefined && d.orderType === 'limit') report.limit_price = canon(d.price);
      return { kind: 'report', message: { client_order_id: coid, report } };
    }
    case 'open':
    case 'filled':
      // The ACK came with received; a fill's trades say what filled.
      return { kind: 'none' };
    default:
      return { kind: 'none' };
  }
}

/** A private-stream frame: the orderChange data it carries, if any. */
export function streamOrderChange(text: string): KucoinOrderChange | undefined {
  let m: unknown;
  try {
    m = parseJson(text);
  } catch {
    return undefined;
  }
  const f = m as { type?: string; topic?: string; subject?: string; data?: KucoinOrderChange };
  if (f.type !== 'message' || f.topic !== '/spotMarket/tradeOrdersV2' || f.subject !== 'orderChange' || typeof f.data !== 'object') return undefined;
  return f.data;
}
