// The OKX emulator's REST endpoints (after authentication): the v5 paths, parameters and reply
// envelopes the adapter and ccxt use, served from the exchange core.
import { isDecimalString } from '../../domain/decimal.js';
import { Refusal, type EmulatedExchange, type EmulatedOrder, type EmulatedTif, type EmulatedType } from '../emulator/exchange.js';
import { balanceDetailJson, billIdOf, bookJson, fillJson, instrumentJson, okxRefusal, orderJson, ordIdOf, seqOfOrdId, type OkxOp } from './emulator-wire.js';

export interface RestReply {
  status: number;
  body: unknown;
}

export interface RestContext {
  exchange: EmulatedExchange;
  /** The key's permissions, as GET /account/config reports them. */
  perm: string;
  /** The reqId of the amend being applied, for its orders-channel push. */
  amending: { reqId?: string };
  nextAnonymous(): string;
}

const ok = (data: unknown[]): RestReply => ({ status: 200, body: { code: '0', msg: '', data } });
/** A request-level error: OKX's code and text in the envelope, no data. */
export const okxError = (status: number, code: string, msg: string): RestReply => ({ status, body: { code, msg, data: [] } });

type Item = Record<string, unknown>;
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const CLORDID = /^[A-Za-z0-9]{1,32}$/;

function itemReply(items: Item[]): RestReply {
  const failed = items.filter((i) => i.sCode !== '0').length;
  const code = failed === 0 ? '0' : failed === items.length ? '1' : '2';
  const msg = code === '0' ? '' : code === '1' ? 'All operations failed' : 'Batch operation partially succeeded';
  return { status: 200, body: { code, msg, data: items, inTime: `${Date.now()}000`, outTime: `${Date.now()}000` } };
}

const failure = (b: Item, sCode: string, sMsg: string, now: number): Item => ({
  ordId: '',
  clOrdId: str(b.clOrdId) ?? '',
  tag: str(b.tag) ?? '',
  ts: String(now),
  sCode,
  sMsg,
  subCode: '',
});
const success = (o: EmulatedOrder, b: Item, sMsg: string, extra: Item = {}): Item => ({
  ordId: ordIdOf(o.seq),
  clOrdId: str(b.clOrdId) ?? '',
  tag: str(b.tag) ?? '',
  ts: String(o.updated_ms),
  sCode: '0',
  sMsg,
  subCode: '',
  ...extra,
});

function refused(e: unknown, b: Item, op: OkxOp, now: number): Item {
  if (!(e instanceof Refusal)) throw e;
  const { sCode, sMsg } = okxRefusal(e, op);
  return failure(b, sCode, sMsg, now);
}

const ORD_TYPES: Record<string, { type: EmulatedType; tif: EmulatedTif }> = {
  market: { type: 'MARKET', tif: 'IOC' },
  limit: { type: 'LIMIT', tif: 'GTC' },
  ioc: { type: 'LIMIT', tif: 'IOC' },
  fok: { type: 'LIMIT', tif: 'FOK' },
};

/** POST /api/v5/trade/order (one item of batch-orders too). */
function placeOne(b: Item, ctx: RestContext): Item {
  const now = ctx.exchange.now();
  const instId = str(b.instId);
  if (!instId) return failure(b, '50014', 'Parameter instId can not be empty.', now);
  if (b.tdMode !== 'cash') return failure(b, '51000', 'Parameter tdMode error', now);
  if (b.side !== 'buy' && b.side !== 'sell') return failure(b, '51000', 'Parameter side error', now);
  const kind = ORD_TYPES[String(b.ordType)];
  // post_only and the derivatives-only types are not emulated.
  if (!kind) return failure(b, '51000', 'Parameter ordType error', now);
  const clOrdId = str(b.clOrdId);
  if (clOrdId !== undefined && !CLORDID.test(clOrdId)) return failure(b, '51000', 'Parameter clOrdId error', now);
  const sz = str(b.sz);
  if (!sz || !isDecimalString(sz)) return failure(b, '51000', 'Parameter sz error', now);
  const side = b.side === 'buy' ? 'BUY' : 'SELL';
  // Spot market orders are sized in quote for a buy and base for a sell unless tgtCcy says otherwise.
  const tgtCcy = str(b.tgtCcy) ?? (side === 'BUY' ? 'quote_ccy' : 'base_ccy');
  if (kind.type === 'MARKET' && side === 'SELL' && tgtCcy === 'quote_ccy') return failure(b, '51000', 'Parameter tgtCcy error', now);
  const funds = kind.type === 'MARKET' && tgtCcy === 'quote_ccy' ? sz : undefined;
  try {
    const order = ctx.exchange.place({
      client_order_id: clOrdId ?? ctx.nextAnonymous(),
      symbol: instId,
      side,
      type: kind.type,
      tif: kind.tif,
      ...(funds ? { funds } : { qty: sz }),
      ...(kind.type === 'MARKET' ? {} : { price: str(b.px) ?? '' }),
    });
    return { ...success(order, b, 'Order placed'), ts: String(order.created_ms) };
  } catch (e) {
    return refused(e, b, 'place', now);
  }
}

/** The order a request names: ordId wins over clOrdId, as on OKX. */
function target(b: Item): { seq?: number; client_order_id?: string } | undefined {
  const ordId = str(b.ordId);
  if (ordId) return { seq: seqOfOrdId(ordId) ?? -1 };
  const clOrdId = str(b.clOrdId);
  return clOrdId ? { client_order_id: clOrdId } : undefined;
}

function cancelOne(b: Item, ctx: RestContext): Item {
  const now = ctx.exchange.now();
  const ref = target(b);
  if (!ref) return failure(b, '51407', 'Either order ID or client order ID is required.', now);
  const o = ctx.exchange.get(ref);
  if (o && o.symbol !== b.instId) return failure(b, '51400', 'Order cancellation failed as the order has been filled, canceled or does not exist.', now);
  try {
    const order = ctx.exchange.cancel(ref);
    return success(order, { ...b, clOrdId: order.client_order_id }, '');
  } catch (e) {
    return refused(e, b, 'cancel', now);
  }
}

function amendOne(b: Item, ctx: RestContext): Item {
  const now = ctx.exchange.now();
  const ref = target(b);
  if (!ref) return failure(b, '51003', 'Either client order ID or order ID is required.', now);
  const newSz = str(b.newSz);
  const newPx = str(b.newPx);
  if (!newSz && !newPx) return failure(b, '51500', 'You must enter a price, quantity, or TP/SL', now);
  const o = ctx.exchange.get(ref);
  if (o && o.symbol !== b.instId) return failure(b, '51503', 'Your order has already been filled or canceled.', now);
  const reqId = str(b.reqId) ?? '';
  ctx.amending.reqId = reqId;
  try {
    const order = ctx.exchange.amend(ref, { ...(newSz ? { qty: newSz } : {}), ...(newPx ? { price: newPx } : {}) });
    return success(order, { ...b, clOrdId: order.client_order_id }, '', { reqId });
  } catch (e) {
    return { ...refused(e, b, 'amend', now), reqId };
  } finally {
    ctx.amending.reqId = undefined;
  }
}

/** Newest first, paged by `after` (older than) / `before` (newer than) an id, at most `limit` (100). */
function page<T>(rows: T[], idOf: (r: T) => bigint, q: URLSearchParams): T[] {
  const after = q.get('after');
  const before = q.get('before');
  const limit = Math.min(Number(q.get('limit') ?? 100) || 100, 100);
  return rows
    .filter((r) => (after && /^\d+$/.test(after) ? idOf(r) < BigInt(after) : true) && (before && /^\d+$/.test(before) ? idOf(r) > BigInt(before) : true))
    .sort((a, b) => (idOf(b) > idOf(a) ? 1 : -1))
    .slice(0, limit);
}

function fills(q: URLSearchParams, ctx: RestContext): RestReply {
  const instId = q.get('instId') ?? undefined;
  const ordId = q.get('ordId');
  const begin = Number(q.get('begin') ?? 0) || 0;
  const end = Number(q.get('end') ?? 0) || Number.MAX_SAFE_INTEGER;
  const rows = ctx.exchange.trades(instId, 0).filter(({ order, trade }) => (!ordId || ordIdOf(order.seq) === ordId) && trade.ts_ms >= begin && trade.ts_ms <= end);
  return ok(page(rows, ({ trade }) => BigInt(billIdOf(trade)), q).map(({ order, trade }) => fillJson(order, trade)));
}

function parseBody(text: string): { item?: Item; items?: Item[]; error?: RestReply } {
  if (!text) return { error: okxError(400, '50000', 'Body for POST request cannot be empty.') };
  try {
    const v = JSON.parse(text) as unknown;
    if (Array.isArray(v)) return { items: v as Item[] };
    if (typeof v === 'object' && v !== null) return { item: v as Item };
  } catch {
    // falls through to OKX's JSON error
  }
  return { error: okxError(400, '50002', 'JSON syntax error') };
}

/** Public endpoints (no key). */
export function publicRoute(method: string, url: URL, ctx: RestContext): RestReply | undefined {
  const q = url.searchParams;
  if (method !== 'GET') return undefined;
  switch (url.pathname) {
    case '/api/v5/public/time':
      return ok([{ ts: String(ctx.exchange.now()) }]);
    case '/api/v5/public/instruments': {
      if (!q.get('instType')) return okxError(400, '50014', 'Parameter instType can not be empty.');
      if (q.get('instType') !== 'SPOT') return ok([]);
      const instId = q.get('instId');
      return ok(
        ctx.exchange
          .instruments()
          .filter((s) => !instId || s.symbol === instId)
          .map(instrumentJson),
      );
    }
    case '/api/v5/market/books': {
      const instId = q.get('instId') ?? '';
      const book = ctx.exchange.book(instId);
      if (!book) return okxError(200, '51001', "Instrument ID, Instrument ID code or Spread ID doesn't exist.");
      return ok([bookJson(book, Math.min(Number(q.get('sz') ?? 1) || 1, 400))]);
    }
    default:
      return undefined;
  }
}

/** Private endpoints, after the signature, key, passphrase and timestamp were checked. */
export function privateRoute(method: string, url: URL, bodyText: string, ctx: RestContext): RestReply | undefined {
  const q = url.searchParams;
  const route = `${method} ${url.pathname}`;
  const ex = ctx.exchange;
  if (method === 'POST') {
    const one: Record<string, (b: Item, c: RestContext) => Item> = {
      'POST /api/v5/trade/order': placeOne,
      'POST /api/v5/trade/cancel-order': cancelOne,
      'POST /api/v5/trade/amend-order': amendOne,
    };
    const batch: Record<string, (b: Item, c: RestContext) => Item> = {
      'POST /api/v5/trade/batch-orders': placeOne,
      'POST /api/v5/trade/cancel-batch-orders': cancelOne,
      'POST /api/v5/trade/amend-batch-orders': amendOne,
    };
    const handler = one[route] ?? batch[route];
    if (!handler) return undefined;
    const parsed = parseBody(bodyText);
    if (parsed.error) return parsed.error;
    const items = parsed.items ?? [parsed.item!];
    if (one[route] && parsed.items) return okxError(400, '50002', 'JSON syntax error');
    if (items.length === 0 || items.length > 20) return okxError(400, '51000', 'Parameter body error');
    return itemReply(items.map((b) => handler(b, ctx)));
  }
  switch (route) {
    case 'GET /api/v5/account/config':
      return ok([
        {
          uid: '44705892343619584',
          mainUid: '44705892343619584',
          acctLv: '1',
          posMode: 'net_mode',
          autoLoan: false,
          level: 'Lv1',
          label: 'emulator',
          ip: '',
          perm: ctx.perm,
          kycLv: '3',
          type: '0',
        },
      ]);
    case 'GET /api/v5/trade/order': {
      const ref = target({ ordId: q.get('ordId') ?? undefined, clOrdId: q.get('clOrdId') ?? undefined });
      if (!q.get('instId')) return okxError(400, '50014', 'Parameter instId can not be empty.');
      if (!ref) return okxError(200, '51003', 'Either client order ID or order ID is required.');
      const o = ex.get(ref);
      if (!o || o.symbol !== q.get('instId')) return { status: 200, body: { code: '51603', msg: 'Order does not exist.', data: [] } };
      return ok([orderJson(o, { rest: true })]);
    }
    case 'GET /api/v5/trade/orders-pending': {
      const instId = q.get('instId') ?? undefined;
      return ok(page(ex.open(instId), (o) => BigInt(ordIdOf(o.seq)), q).map((o) => orderJson(o, { rest: true })));
    }
    case 'GET /api/v5/account/balance': {
      // ccy: up to 20, comma separated; without it, every currency the account holds.
      const asked = q.get('ccy')?.split(',').filter(Boolean);
      if (asked && asked.length > 20) return okxError(400, '51000', 'Parameter ccy error');
      const held = [...ex.balances()].filter(([ccy, h]) => (asked ? asked.includes(ccy) : h.free.plus(h.locked).coef !== 0n)).sort(([a], [b]) => a.localeCompare(b));
      const now = ex.now();
      return ok([{ uTime: String(now), details: held.map(([ccy, h]) => balanceDetailJson(ccy, h, now)) }]);
    }
    case 'GET /api/v5/trade/fills':
    case 'GET /api/v5/trade/fills-history':
      if (route.endsWith('history') && !q.get('instType')) return okxError(400, '50014', 'Parameter instType can not be empty.');
      return fills(q, ctx);
    default:
      return undefined;
  }
}
