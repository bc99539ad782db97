// The OKX emulator's wire shapes, pure: the exchange core's orders and trades in OKX v5 JSON
// (ids, field names, states, cancelSource, negative fees), and its refusals as OKX error codes.
import { type Dec, dec, fmt, ZERO } from '../../domain/decimal.js';
import type { Book, InstrumentSpec } from '../../market/types.js';
import type { EmulatedOrder, EmulatedTrade, Holding, Refusal } from '../emulator/exchange.js';

/** OKX ids are long decimal numbers: the core's sequences, offset into that shape. */
export const ordIdOf = (seq: number): string => String(600_000_000_000_000_000n + BigInt(seq));
export const seqOfOrdId = (ordId: string): number | undefined => {
  if (!/^\d{1,20}$/.test(ordId)) return undefined;
  const n = BigInt(ordId) - 600_000_000_000_000_000n;
  return n > 0n && n < BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : undefined;
};
export const tradeIdOf = (t: EmulatedTrade): string => String(240_000_000 + t.trade_id);
export const billIdOf = (t: EmulatedTrade): string => String(800_000_000_000_000_000n + BigInt(t.trade_id));

/** Orders placed without a clOrdId still need a key in the core; OKX shows them with clOrdId "". */
export const ANONYMOUS = '~';
export const shownClOrdId = (coid: string): string => (coid.startsWith(ANONYMOUS) ? '' : coid);

const neg = (d: Dec): string => fmt(ZERO.minus(d));

export function okxOrdType(o: EmulatedOrder): string {
  if (o.type === 'MARKET') return 'market';
  if (o.type === 'LIMIT_MAKER') return 'post_only';
  return o.tif === 'IOC' ? 'ioc' : o.tif === 'FOK' ? 'fok' : 'limit';
}

export function okxState(o: EmulatedOrder): string {
  switch (o.status) {
    case 'NEW':
      return 'live';
    case 'PARTIALLY_FILLED':
      return 'partially_filled';
    case 'FILLED':
      return 'filled';
    default:
      return 'canceled';
  }
}

/** OKX's cancelSource: 1 by user; 13 FOK not fully filled; 14 IOC remainder; 0 by the system (market remainder). */
export function cancelSourceOf(o: EmulatedOrder): string {
  if (o.status === 'CANCELED') return '1';
  if (o.status !== 'EXPIRED') return '';
  if (o.tif === 'FOK') return '13';
  return o.type === 'MARKET' ? '0' : '14';
}

/** The fields of one fill, as the orders channel reports "this update"; empty when the update is not a fill. */
function fillFields(o: EmulatedOrder, t: EmulatedTrade | undefined): Record<string, string> {
  if (!t) return { fillSz: '0', fillPx: '', tradeId: '', fillTime: '', fillFee: '0', fillFeeCcy: '', execType: '' };
  return { fillSz: fmt(t.qty), fillPx: fmt(t.price), tradeId: tradeIdOf(t), fillTime: String(t.ts_ms), fillFee: neg(t.fee), fillFeeCcy: t.fee_ccy, execType: t.maker ? 'M' : 'T' };
}

/**
 * An order in OKX's shape (GET /trade/order, /trade/orders-pending, the orders channel). `update`
 * is the fill this message is about (orders channel); REST shows the last fill instead.
 */
export function orderJson(o: EmulatedOrder, update?: { trade?: EmulatedTrade; amendReqId?: string; rest?: boolean }): Record<string, string> {
  const last = update?.rest ? o.trades[o.trades.length - 1] : update?.trade;
  const fee = o.trades.reduce((a, t) => a.plus(t.fee), ZERO);
  return {
    instType: 'SPOT',
    instId: o.symbol,
    ordId: ordIdOf(o.seq),
    clOrdId: shownClOrdId(o.client_order_id),
    tag: '',
    px: o.price ? fmt(o.price) : '',
    sz: o.funds ? fmt(o.funds) : fmt(o.qty),
    ordType: okxOrdType(o),
    side: o.side === 'BUY' ? 'buy' : 'sell',
    posSide: 'net',
    tdMode: 'cash',
    tgtCcy: o.type === 'MARKET' ? (o.funds ? 'quote_ccy' : 'base_ccy') : '',
    state: okxState(o),
    accFillSz: fmt(o.filled),
    avgPx: o.filled.gt(ZERO) ? fmt(o.filled_quote.div(o.filled)) : '',
    ...fillFields(o, last),
    fee: neg(fee),
    feeCcy: o.trades[0]?.fee_ccy ?? (o.side === 'BUY' ? o.spec.base : o.spec.quote),
    rebate: '0',
    rebateCcy: o.side === 'BUY' ? o.spec.quote : o.spec.base,
    cancelSource: cancelSourceOf(o),
    cancelSourceReason: o.status === 'CANCELED' || o.status === 'EXPIRED' ? (o.reason ?? '') : '',
    amendResult: update?.amendReqId !== undefined ? '0' : '',
    reqId: update?.amendReqId ?? '',
    category: 'normal',
    lever: '',
    pnl: '0',
    source: '',
    stpMode: 'cancel_maker',
    reduceOnly: 'false',
    tradeQuoteCcy: o.spec.quote,
    code: '0',
    msg: '',
    cTime: String(o.created_ms),
    uTime: String(o.updated_ms),
  };
}

/** One currency of GET /account/balance's details (a spot cash account: equity is the cash balance). */
export function balanceDetailJson(ccy: string, h: Holding, uTime: number): Record<string, string> {
  const cash = fmt(h.free.plus(h.locked));
  return { ccy, eq: cash, cashBal: cash, availBal: fmt(h.free), frozenBal: fmt(h.locked), ordFrozen: fmt(h.locked), uTime: String(uTime) };
}

/** One trade in GET /trade/fills' shape. */
export function fillJson(o: EmulatedOrder, t: EmulatedTrade): Record<string, string> {
  return {
    instType: 'SPOT',
    instId: o.symbol,
    tradeId: tradeIdOf(t),
    ordId: ordIdOf(o.seq),
    clOrdId: shownClOrdId(o.client_order_id),
    billId: billIdOf(t),
    subType: o.side === 'BUY' ? '1' : '2',
    tag: '',
    fillPx: fmt(t.price),
    fillSz: fmt(t.qty),
    side: o.side === 'BUY' ? 'buy' : 'sell',
    posSide: 'net',
    execType: t.maker ? 'M' : 'T',
    feeCcy: t.fee_ccy,
    fee: neg(t.fee),
    feeRate: neg(dec(t.maker ? o.spec.maker_fee : o.spec.taker_fee)),
    fillTime: String(t.ts_ms),
    ts: String(t.ts_ms),
    tradeQuoteCcy: o.spec.quote,
  };
}

export function instrumentJson(s: InstrumentSpec): Record<string, string> {
  return {
    instType: 'SPOT',
    instId: s.symbol,
    instFamily: '',
    uly: '',
    baseCcy: s.base,
    quoteCcy: s.quote,
    settleCcy: '',
    ctVal: '',
    ctMult: '',
    ctValCcy: '',
    ctType: '',
    optType: '',
    stk: '',
    listTime: '1606468572000',
    expTime: '',
    lever: '',
    tickSz: s.tick_size,
    lotSz: s.lot_size,
    minSz: s.min_qty,
    maxLmtSz: s.max_qty,
    maxMktSz: s.max_qty,
    maxLmtAmt: '1000000',
    maxMktAmt: '1000000',
    state: 'live',
    category: '1',
    alias: '',
    ruleType: 'normal',
  };
}

export function bookJson(b: Book, depth: number): Record<string, unknown> {
  const side = (levels: Book['bids']) => levels.slice(0, depth).map((l) => [fmt(l.price), fmt(l.qty), '0', '1']);
  return { asks: side(b.asks), bids: side(b.bids), ts: String(Math.floor(b.ts_us / 1000)) };
}

export type OkxOp = 'place' | 'cancel' | 'amend';

/** A core refusal as OKX's sCode and sMsg for this operation. */
export function okxRefusal(r: Refusal, op: OkxOp): { sCode: string; sMsg: string } {
  if (op === 'cancel') return { sCode: '51400', sMsg: 'Order cancellation failed as the order has been filled, canceled or does not exist.' };
  // A placement, or an amend to a larger or dearer order, the account cannot pay for.
  if (r.code === 'INSUFFICIENT_BALANCE') {
    return { sCode: '51008', sMsg: r.asset ? `Order failed. Insufficient ${r.asset} balance in account.` : 'Order failed. Insufficient balance in account.' };
  }
  if (op === 'amend') {
    if (r.code === 'UNKNOWN_ORDER' || r.code === 'ORDER_CLOSED') return { sCode: '51503', sMsg: 'Your order has already been filled or canceled.' };
    if (r.code === 'PRICE_FILTER') return { sCode: '51000', sMsg: 'Parameter newPx error' };
    if (r.message.includes('multiple of the step')) return { sCode: '51121', sMsg: 'Order quantity must be a multiple of the lot size.' };
    return { sCode: '51000', sMsg: 'Parameter newSz error' };
  }
  switch (r.code) {
    case 'DUPLICATE_CLIENT_ID':
      return { sCode: '51016', sMsg: 'Client order ID already exists.' };
    case 'UNKNOWN_SYMBOL':
    case 'NO_MARKET_DATA':
      return { sCode: '51001', sMsg: "Instrument ID, Instrument ID code or Spread ID doesn't exist." };
    case 'PRICE_FILTER':
      return { sCode: '51000', sMsg: 'Parameter px error' };
    case 'MIN_NOTIONAL':
      return { sCode: '51020', sMsg: 'Your order should meet or exceed the minimum order amount.' };
    case 'LOT_SIZE':
      if (r.message.includes('below the minimum')) return { sCode: '51020', sMsg: 'Your order should meet or exceed the minimum order amount.' };
      if (r.message.includes('above the maximum')) return { sCode: '51005', sMsg: 'Your order amount exceeds the max order amount.' };
      return { sCode: '51121', sMsg: 'Order quantity must be a multiple of the lot size.' };
    case 'BAD_QTY':
      return { sCode: '51000', sMsg: r.message.startsWith('price') ? 'Parameter px error' : 'Parameter sz error' };
    default:
      return { sCode: '51000', sMsg: r.message };
  }
}
