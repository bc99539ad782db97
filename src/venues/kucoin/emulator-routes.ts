// The emulator's KuCoin REST routes (after signature, rate-limit and fault checks): the spot HF
// subset the adapter and ccxt use, at KuCoin's paths with KuCoin's field names.
import { createHash } from 'node:crypto';
import { fmt } from '../../domain/decimal.js';
import type { EmulatedExchange, EmulatedTif, EmulatedType, PlaceRequest } from '../emulator/exchange.js';
import { Refusal } from '../emulator/exchange.js';
import type { KucoinLedger } from './emulator-venue.js';

export interface Reply {
  status: number;
  body: unknown;
}

interface Route {
  method: string;
  path: string;
  body: string;
  exchange: EmulatedExchange;
  ledger: KucoinLedger;
  now: () => number;
  permission: string;
  apiKey: string;
  wsUrl: string;
  issueToken: () => string;
}

const ok = (data: unknown): Reply => ({ status: 200, body: { code: '200000', data } });
const bad = (msg: string): Reply => ({ status: 400, body: { code: '400100', msg } });
const CLIENT_OID = /^[A-Za-z0-9_-]{1,40}$/;

export function routeRest(r: Route): Reply {
  const u = new URL(r.path, 'http://emulator');
  const p = u.pathname;
  const q = u.searchParams;
  const { exchange: ex, ledger } = r;
  const get = r.method === 'GET';
  const del = r.method === 'DELETE';
  const post = r.method === 'POST';
  let m: RegExpExecArray | null;

  if (get && p === '/api/v1/timestamp') return ok(r.now());
  if (get && p === '/api/v1/status') return ok({ status: 'open', msg: '' });
  if (get && p === '/api/v2/symbols') return ok(ex.instruments().map(symbolJson));
  if (get && (m = /^\/api\/v2\/symbols\/([^/]+)$/.exec(p))) {
    const s = ex.spec(decodeURIComponent(m[1]));
    return s ? ok(symbolJson(s)) : { status: 200, body: { code: '900001', msg: 'symbol not exists' } };
  }
  if (get && p === '/api/v3/currencies') {
    const assets = [...new Set(ex.instruments().flatMap((s) => [s.base, s.quote]))];
    return ok(
      assets.map((c) => ({ currency: c, name: c, fullName: c, precision: 8, confirms: null, contractAddress: null, isMarginEnabled: false, isDebitEnabled: false, chains: [] })),
    );
  }
  if (get && (m = /^\/api\/v1\/market\/orderbook\/level2_(20|100)$/.exec(p))) {
    const symbol = q.get('symbol') ?? '';
    const book = ex.book(symbol);
    if (!ex.spec(symbol) || !book) return { status: 200, body: { code: '900001', msg: 'symbol not exists' } };
    const n = Number(m[1]);
    const side = (levels: typeof book.bids) => levels.slice(0, n).map((l) => [fmt(l.price), fmt(l.qty)]);
    return ok({ time: r.now(), sequence: String(Math.floor(book.ts_us / 1000)), bids: side(book.bids), asks: side(book.asks) });
  }

  // Private (signed) from here.
  if (get && p === '/api/v1/user/api-key') {
    return ok({ remark: 'emulator', apiKey: r.apiKey, apiVersion: 2, permission: r.permission, ipWhitelist: '', createdAt: 1_700_000_000_000, uid: 165111215, isMaster: true });
  }
  if (get && p === '/api/v1/hf/accounts/opened') return ok(true);
  if (post && p === '/api/v1/bullet-private') {
    return ok({ token: r.issueToken(), instanceServers: [{ endpoint: r.wsUrl, encrypt: false, protocol: 'websocket', pingInterval: 18_000, pingTimeout: 10_000 }] });
  }
  if (post && (p === '/api/v1/hf/orders' || p === '/api/v1/hf/orders/test')) return place(r, p.endsWith('/test'));
  if (post && p === '/api/v1/hf/orders/alter') return alter(r);
  if (get && p === '/api/v1/hf/orders/active/symbols') return ok({ symbols: [...new Set(ex.open().map((o) => o.symbol))] });
  if (get && p === '/api/v1/hf/orders/active') {
    const symbol = q.get('symbol');
    if (!symbol) return bad('symbol is required');
    return ok(
      ex
        .open(symbol)
        .sort((a, b) => b.updated_ms - a.updated_ms)
        .map((o) => ledger.orderJson(o)),
    );
  }
  if (get && p === '/api/v1/hf/fills') return fills(r, q);
  if (get && p === '/api/v1/accounts') return accounts(r, q);
  if ((m = /^\/api\/v1\/hf\/orders\/client-order\/([^/]+)$/.exec(p))) {
    if (!q.get('symbol')) return bad('symbol is required');
    const o = ex.get({ client_order_id: decodeURIComponent(m[1]) });
    if (get) return ok(o && o.symbol === q.get('symbol') ? ledger.orderJson(o) : null);
    if (del) {
      if (!o || o.symbol !== q.get('symbol')) throw new Refusal('UNKNOWN_ORDER', 'order does not exist');
      ex.cancel({ seq: o.seq });
      return ok({ clientOid: o.client_order_id });
    }
  }
  if ((m = /^\/api\/v1\/hf\/orders\/([0-9a-f]{24})$/.exec(p))) {
    if (!q.get('symbol')) return bad('symbol is required');
    const o = ledger.byId(m[1]);
    if (get) return ok(o && o.symbol === q.get('symbol') ? ledger.orderJson(o, m[1]) : null);
    if (del) {
      if (!o || o.symbol !== q.get('symbol') || ledger.currentId(o) !== m[1]) throw new Refusal('UNKNOWN_ORDER', 'order does not exist');
      ex.cancel({ seq: o.seq });
      return ok({ orderId: m[1] });
    }
  }
  return { status: 404, body: { code: '404000', msg: `Url Not Found: ${r.method} ${p}` } };
}

function symbolJson(s: ReturnType<EmulatedExchange['instruments']>[number]) {
  return {
    symbol: s.symbol,
    name: s.symbol,
    baseCurrency: s.base,
    quoteCurrency: s.quote,
    feeCurrency: s.quote,
    market: 'USDS',
    baseMinSize: s.min_qty,
    quoteMinSize: s.min_notional,
    baseMaxSize: s.max_qty,
    quoteMaxSize: '99999999',
    baseIncrement: s.lot_size,
    quoteIncrement: '0.000001',
    priceIncrement: s.tick_size,
    priceLimitRate: '0.1',
    minFunds: s.min_notional,
    isMarginEnabled: false,
    enableTrading: true,
    feeCategory: 1,
    makerFeeCoefficient: '1.00',
    takerFeeCoefficient: '1.00',
    st: false,
  };
}

function parseBody(text: string): Record<string, unknown> {
  const v: unknown = JSON.parse(text || '{}');
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('body must be a JSON object');
  return v as Record<string, unknown>;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined);

function place(r: Route, test: boolean): Reply {
  const b = parseBody(r.body);
  const clientOid = str(b.clientOid) ?? `emu${Date.now().toString(16)}${Math.random().toString(16).slice(2, 10)}`;
  if (!CLIENT_OID.test(clientOid)) return bad('clientOid invalid: only letters, digits, _ and -, at most 40');
  const side = b.side === 'buy' ? 'BUY' : b.side === 'sell' ? 'SELL' : undefined;
  if (!side) return bad('side must be buy or sell');
  if (b.type !== 'limit' && b.type !== 'market') return bad('type must be limit or market');
  const tifIn = str(b.timeInForce) ?? 'GTC';
  if (!['GTC', 'GTT', 'IOC', 'FOK'].includes(tifIn)) return bad('timeInForce not in the given range!');
  const postOnly = b.postOnly === true;
  let type: EmulatedType = b.type === 'market' ? 'MARKET' : 'LIMIT';
  if (type === 'LIMIT' && postOnly) {
    if (tifIn === 'IOC' || tifIn === 'FOK') return bad('postOnly is not allowed with IOC or FOK');
    type = 'LIMIT_MAKER';
  }
  // GTT without cancelAfter rests like GTC here.
  const tif: EmulatedTif = tifIn === 'IOC' || tifIn === 'FOK' ? tifIn : 'GTC';
  if (type !== 'MARKET' && str(b.price) === undefined) return bad('price is required for a limit order');
  if (type === 'MARKET' && (str(b.size) === undefined) === (str(b.funds) === undefined)) return bad('a market order needs one of size or funds');
  const req: PlaceRequest = { client_order_id: clientOid, symbol: str(b.symbol) ?? '', side, type, tif, qty: str(b.size), price: str(b.price), funds: str(b.funds) };
  if (test) {
    // Checked as a placement (rules, book, balance); nothing placed, so no order id is issued.
    r.exchange.test(req);
    return ok({ orderId: '000000000000000000000000', clientOid });
  }
  const o = r.exchange.place(req);
  return ok({ orderId: r.ledger.currentId(o), clientOid });
}

const ACCOUNT_TYPES = new Set(['main', 'trade', 'trade_hf', 'margin']);

/** GET /api/v1/accounts: the one trade account's currencies (HF trading uses it too, so trade_hf shows the same). */
function accounts(r: Route, q: URLSearchParams): Reply {
  const type = q.get('type');
  if (type !== null && !ACCOUNT_TYPES.has(type)) return bad('type invalid');
  if (type === 'main' || type === 'margin') return ok([]);
  const currency = q.get('currency');
  const rows = [...r.exchange.balances()]
    .filter(([c]) => currency === null || c === currency)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([c, h]) => ({
      id: createHash('sha256').update(`trade/${c}`).digest('hex').slice(0, 24),
      currency: c,
      type: type ?? 'trade',
      balance: fmt(h.free.plus(h.locked)),
      available: fmt(h.free),
      holds: fmt(h.locked),
    }));
  return ok(rows);
}

/** Alter is cancel + new on KuCoin: the order gets a new id and keeps its clientOid; newSize counts the filled part. */
function alter(r: Route): Reply {
  const b = parseBody(r.body);
  const symbol = str(b.symbol);
  if (!symbol) return bad('symbol is required');
  const newSize = str(b.newSize);
  const newPrice = str(b.newPrice);
  if (newSize === undefined && newPrice === undefined) return bad('one of newPrice and newSize is required');
  const orderId = str(b.orderId);
  const clientOid = str(b.clientOid);
  const o = orderId ? r.ledger.byId(orderId) : clientOid ? r.exchange.get({ client_order_id: clientOid }) : undefined;
  if (!o || o.symbol !== symbol || (orderId !== undefined && r.ledger.currentId(o) !== orderId)) throw new Refusal('UNKNOWN_ORDER', 'order does not exist');
  if (o.status === 'FILLED' || o.status === 'CANCELED' || o.status === 'EXPIRED') throw new Refusal('ORDER_CLOSED', `order is ${o.status}`);
  if (newSize !== undefined && o.filled.gte(newSize)) {
    // Docs: a new size not above the filled quantity completes the order: canceled, nothing new placed.
    r.exchange.cancel({ seq: o.seq });
    return ok({ newOrderId: null, clientOid: o.client_order_id });
  }
  const newId = r.ledger.issueId(o);
  try {
    r.exchange.amend({ seq: o.seq }, { qty: newSize, price: newPrice });
  } catch (e) {
    r.ledger.dropNewestId(o);
    throw e;
  }
  return ok({ newOrderId: newId, clientOid: o.client_order_id });
}

function fills(r: Route, q: URLSearchParams): Reply {
  const symbol = q.get('symbol');
  if (!symbol) return bad('symbol is required');
  let items = r.ledger.fills(symbol);
  const orderId = q.get('orderId');
  // With orderId the other filters are ignored (KuCoin's rule).
  if (orderId) return ok({ items: items.filter((f) => f.orderId === orderId), lastId: items.at(-1)?.id ?? 0 });
  const side = q.get('side');
  if (side) items = items.filter((f) => f.side === side);
  const startAt = Number(q.get('startAt') ?? 0);
  const endAt = Number(q.get('endAt') ?? Number.MAX_SAFE_INTEGER);
  const lastId = q.get('lastId');
  items = items.filter((f) => f.createdAt >= startAt && f.createdAt <= endAt && (lastId === null || f.id < Number(lastId)));
  const limit = Math.min(100, Math.max(1, Number(q.get('limit') ?? 20)));
  const page = items.slice(0, limit);
  return ok({ items: page, lastId: page.at(-1)?.id ?? 0 });
}
