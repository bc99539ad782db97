// OKX v5 messages -> fillstream reports, pure. One trade gives one TRADE report whichever path
// brought it (orders-channel push, GET /trade/fills, the query of an order): same order id, trade
// id, canonical decimals, fill time, and the fee as the positive amount charged (OKX sends a
// charged fee as a negative number).
import { dec, fmt, isDecimalString, ZERO } from '../../domain/decimal.js';
import type { VenueReport } from '../../domain/events.js';
import { microsToIso } from '../../domain/time.js';
import type { VenueInstrumentRules, VenueMessage, VenueOrderSnapshot } from '../types.js';

/** Every OKX REST reply: code "0" is success; "1" (all failed) and "2" (some failed) carry sCode per item. */
export interface OkxReply<T = unknown> {
  code: string;
  msg: string;
  data: T[];
}

/** An item of a place / cancel / amend reply. */
export interface OkxOrderAck {
  ordId: string;
  clOrdId: string;
  ts?: string;
  reqId?: string;
  sCode: string;
  sMsg: string;
}

/** An order as GET /trade/order, /trade/orders-pending and the orders channel give it (fields used here). */
export interface OkxOrder {
  instId: string;
  ordId: string;
  clOrdId: string;
  side: 'buy' | 'sell';
  ordType: string;
  sz: string;
  px: string;
  state: 'live' | 'partially_filled' | 'filled' | 'canceled' | 'mmp_canceled';
  accFillSz: string;
  avgPx?: string;
  fillSz?: string;
  fillPx?: string;
  tradeId?: string;
  fillTime?: string;
  /** Orders channel only: the fee of this update's fill (negative = charged). */
  fillFee?: string;
  fillFeeCcy?: string;
  fee?: string;
  feeCcy?: string;
  execType?: string;
  cancelSource?: string;
  amendResult?: string;
  reqId?: string;
  cTime: string;
  uTime: string;
}

/** One trade of ours, from GET /trade/fills or /trade/fills-history. */
export interface OkxFill {
  instId: string;
  ordId: string;
  clOrdId: string;
  tradeId: string;
  billId: string;
  fillPx: string;
  fillSz: string;
  side: string;
  fee: string;
  feeCcy: string;
  execType: string;
  fillTime: string;
  ts: string;
}

/** GET /api/v5/account/balance: one item, its details one per currency. */
export interface OkxBalance {
  uTime?: string;
  details: { ccy: string; availBal: string; cashBal?: string; frozenBal?: string; eq?: string }[];
}

export interface OkxInstrument {
  instType: string;
  instId: string;
  baseCcy: string;
  quoteCcy: string;
  tickSz: string;
  lotSz: string;
  minSz: string;
  maxLmtSz: string;
  maxMktSz?: string;
  state: string;
}

/** A reply that is not OKX's JSON envelope (a proxy's page, a cut body). */
export class OkxProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OkxProtocolError';
  }
}

export function parseReply<T = unknown>(text: string): OkxReply<T> {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new OkxProtocolError(`OKX reply is not JSON: ${text.slice(0, 120)}`);
  }
  const r = body as Partial<OkxReply<T>>;
  if (typeof r !== 'object' || r === null || typeof r.code !== 'string') throw new OkxProtocolError(`OKX reply without a code: ${text.slice(0, 120)}`);
  return { code: r.code, msg: typeof r.msg === 'string' ? r.msg : '', data: Array.isArray(r.data) ? r.data : [] };
}

/** What OKX's codes mean for us, where its own text is terse or empty. */
const MEANING: Record<string, string> = {
  '50011': 'rate limit reached',
  '50101': 'API key does not match the environment (demo keys go with env staging, live keys with prod)',
  '50102': 'request timestamp expired (clock off by more than 30 s)',
  '50105': 'passphrase incorrect',
  '50111': 'invalid API key',
  '50113': 'invalid signature (wrong secret?)',
  '51000': 'parameter error',
  '51001': 'instrument does not exist',
  '51008': 'insufficient balance',
  '51016': 'client order id already in use by a pending order',
  '51020': 'order below the minimum size or amount',
  '51121': 'quantity is not a multiple of the lot size',
  '51400': 'cancel failed: order already filled, canceled or does not exist',
  '51503': 'amend failed: order already filled or canceled',
  '51603': 'order does not exist',
};

/** A clear reason: OKX's code, its message, and what it means where the message does not say. */
export function okxReason(code: string, msg: string): string {
  const meaning = MEANING[code];
  const text = msg.trim();
  if (!text) return `OKX ${code}: ${meaning ?? 'refused'}`;
  return meaning ? `OKX ${code}: ${text} (${meaning})` : `OKX ${code}: ${text}`;
}

/** The refusal in a reply, if any: the item's sCode when there is one, else the top-level code. */
export function replyError(r: OkxReply): { code: string; msg: string } | undefined {
  const item = r.data[0] as Partial<OkxOrderAck> | undefined;
  if (item && typeof item.sCode === 'string' && item.sCode !== '0') return { code: item.sCode, msg: item.sMsg ?? '' };
  if (r.code !== '0') return { code: r.code, msg: r.msg };
  return undefined;
}

/** OKX millisecond time (a decimal string) as fillstream's RFC 3339 with microseconds. */
export function okxTime(ms: string | undefined, fallbackMs: number): string {
  const n = ms !== undefined && /^\d+$/.test(ms) ? Number(ms) : fallbackMs;
  return microsToIso(n * 1000);
}

/** Canonical decimal ("0.0100" -> "0.01"); empty or missing is zero. */
const canon = (s: string | undefined): string => (s !== undefined && s !== '' && isDecimalString(s) ? fmt(dec(s)) : '0');

const positive = (s: string | undefined): boolean => s !== undefined && s !== '' && isDecimalString(s) && dec(s).gt(ZERO);

/** OKX's fee sign (negative = charged) turned into fillstream's (positive = charged). */
const charged = (fee: string | undefined): string => (fee !== undefined && fee !== '' && isDecimalString(fee) ? fmt(ZERO.minus(dec(fee))) : '0');

export const liquidity = (execType: string | undefined): 'MAKER' | 'TAKER' => (execType === 'M' ? 'MAKER' : 'TAKER');

export function tradeOfFill(f: OkxFill): VenueReport {
  return {
    kind: 'TRADE',
    venue_order_id: f.ordId,
    trade_id: f.tradeId,
    qty: canon(f.fillSz),
    price: canon(f.fillPx),
    fee: charged(f.fee),
    fee_ccy: f.feeCcy,
    liquidity: liquidity(f.execType),
    ts: okxTime(f.fillTime, Number(f.ts)),
  };
}

/** The fill an orders-channel push carries, if this update is a fill. */
export function tradeOfPush(o: OkxOrder): VenueReport | undefined {
  if (!o.tradeId || !positive(o.fillSz)) return undefined;
  return {
    kind: 'TRADE',
    venue_order_id: o.ordId,
    trade_id: o.tradeId,
    qty: canon(o.fillSz),
    price: canon(o.fillPx),
    fee: charged(o.fillFee),
    fee_ccy: o.fillFeeCcy ?? o.feeCcy ?? '',
    liquidity: liquidity(o.execType),
    ts: okxTime(o.fillTime, Number(o.uTime)),
  };
}

/** Why OKX closed an order (cancelSource), as fillstream sees it: only a cancel we asked for is CANCELED. */
export function closeReport(o: OkxOrder): VenueReport | undefined {
  if (o.state !== 'canceled' && o.state !== 'mmp_canceled') return undefined;
  const ts = okxTime(o.uTime, Number(o.cTime));
  if (o.state === 'mmp_canceled') return { kind: 'EXPIRED', reason: 'canceled by market maker protection', ts };
  switch (o.cancelSource ?? '') {
    case '1':
    case '':
      return { kind: 'CANCELED', reason: 'canceled by user', ts };
    case '13':
      return { kind: 'EXPIRED', reason: 'FOK: not fully fillable, canceled', ts };
    case '14':
      return { kind: 'EXPIRED', reason: 'IOC: unfilled remainder canceled', ts };
    case '0':
      return { kind: 'EXPIRED', reason: 'canceled by OKX (system)', ts };
    default:
      return { kind: 'EXPIRED', reason: `canceled by OKX (cancelSource ${o.cancelSource})`, ts };
  }
}

export const ackOf = (o: Pick<OkxOrder, 'ordId' | 'cTime'>, fallbackMs = 0): VenueReport => ({ kind: 'ACK', venue_order_id: o.ordId, ts: okxTime(o.cTime, fallbackMs) });

/** The reports one orders-channel update gives: its ACK (new order), amend, fill, or close. */
export function reportsOfPush(o: OkxOrder): VenueReport[] {
  const out: VenueReport[] = [];
  const trade = tradeOfPush(o);
  if (o.amendResult === '0') {
    out.push({ kind: 'AMENDED', venue_order_id: o.ordId, qty: canon(o.sz), ...(positive(o.px) ? { limit_price: canon(o.px) } : {}), ts: okxTime(o.uTime, Number(o.cTime)) });
  } else if (o.state === 'live' && !trade && !positive(o.accFillSz) && !o.amendResult) out.push(ackOf(o));
  if (trade) out.push(trade);
  const close = closeReport(o);
  if (close) out.push(close);
  return out;
}

/** An orders-channel message (or any other private push) -> reports, in push order; [] for anything else. */
export function messagesOfPush(text: string): VenueMessage[] {
  if (text === 'pong') return [];
  let m: { arg?: { channel?: string }; data?: unknown };
  try {
    m = JSON.parse(text) as typeof m;
  } catch {
    return [];
  }
  if (m.arg?.channel !== 'orders' || !Array.isArray(m.data)) return [];
  const out: VenueMessage[] = [];
  for (const o of m.data as OkxOrder[]) {
    if (!o.clOrdId) continue; // an order placed without our id (web, another tool): not ours to report
    for (const report of reportsOfPush(o)) out.push({ client_order_id: o.clOrdId, report });
  }
  return out;
}

/** The answer to a placement: ACK, or REJECTED with OKX's code and a clear reason. */
export function placeReports(r: OkxReply<OkxOrderAck>, nowMs: number): VenueReport[] {
  const err = replyError(r);
  const ts = okxTime(r.data[0]?.ts, nowMs);
  if (err) return [{ kind: 'REJECTED', code: err.code, reason: okxReason(err.code, err.msg), ts }];
  return [{ kind: 'ACK', venue_order_id: r.data[0].ordId, ts }];
}

const byTrade = (a: OkxFill, b: OkxFill) => Number(a.fillTime) - Number(b.fillTime) || (BigInt(a.tradeId) < BigInt(b.tradeId) ? -1 : 1);

/** An order with its trades (from the fills endpoint: real trade ids and times) and how it ended. */
export function snapshotOf(o: OkxOrder, fills: readonly OkxFill[]): VenueOrderSnapshot {
  const mine = fills.filter((f) => f.ordId === o.ordId).sort(byTrade);
  const reports: VenueReport[] = [ackOf(o), ...mine.map(tradeOfFill)];
  const close = closeReport(o);
  if (close) reports.push(close);
  return { client_order_id: o.clOrdId, venue_order_id: o.ordId, symbol: o.instId, open: o.state === 'live' || o.state === 'partially_filled', reports };
}

export function rulesOf(i: OkxInstrument): VenueInstrumentRules {
  return {
    symbol: i.instId,
    base: i.baseCcy,
    quote: i.quoteCcy,
    tick_size: canon(i.tickSz),
    lot_size: canon(i.lotSz),
    min_qty: canon(i.minSz),
    max_qty: canon(i.maxLmtSz),
    // OKX publishes no minimum notional for spot: its minimum is minSz.
    min_notional: '0',
  };
}

/** GET /account/config's perm ("read_only,trade,withdraw"). */
export function permissionsOf(perm: string | undefined): { can_trade: boolean; can_withdraw: boolean | undefined } {
  if (typeof perm !== 'string') return { can_trade: false, can_withdraw: undefined };
  const set = new Set(perm.split(',').map((p) => p.trim()));
  return { can_trade: set.has('trade'), can_withdraw: set.has('withdraw') };
}

/** GET /public/time's ts, epoch ms. */
export function serverTimeOf(r: OkxReply<{ ts?: string }>): number {
  const ts = r.data[0]?.ts;
  if (typeof ts !== 'string' || !/^\d+$/.test(ts)) throw new OkxProtocolError(`OKX server time without ts: ${JSON.stringify(r.data[0])}`);
  return Number(ts);
}

/** A private WebSocket event (login, subscribe, error). */
export function streamEvent(text: string): { event: string; code?: string; msg?: string } | undefined {
  if (text === 'pong') return undefined;
  try {
    const m = JSON.parse(text) as { event?: unknown; code?: unknown; msg?: unknown };
    if (typeof m.event !== 'string') return undefined;
    return { event: m.event, code: typeof m.code === 'string' ? m.code : undefined, msg: typeof m.msg === 'string' ? m.msg : undefined };
  } catch {
    return undefined;
  }
}
