// The emulator's REST endpoints: Binance's paths, parameters, weights and error codes over the
// shared emulated exchange. Authentication and faults are applied before these run (emulator.ts).
import { dec, fmt } from '../../domain/decimal.js';
import type { Side } from '../../domain/intent.js';
import type { FaultSwitches } from '../emulator/admin.js';
import { type EmulatedExchange, type EmulatedOrder, type EmulatedTif, type EmulatedType, isClosed, type PlaceRequest, Refusal } from '../emulator/exchange.js';
import { cancelJson, d8, filterFailure, myTradeJson, orderJson, placeJson, symbolJson } from './emulator-wire.js';
import { CLIENT_ORDER_ID_RE } from './parse.js';

export interface Answer {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
  /** A new order was taken: the X-MBX-ORDER-COUNT headers go up. */
  orderCounted?: boolean;
  /** Accepted, and the reply never comes (timeout_after_accept). */
  hang?: boolean;
}

export interface RestRoute {
  signed: boolean;
  placesOrder?: boolean;
  weight(p: URLSearchParams): number;
  handle(p: URLSearchParams): Answer;
}

export interface RestContext {
  exchange: EmulatedExchange;
  faults: FaultSwitches;
  now(): number;
  permissions: { can_trade?: boolean; can_withdraw?: boolean };
  /** The rate limits exchangeInfo announces (an account tier's). */
  rateLimits: { rateLimitType: string; interval: string; intervalNum: number; limit: number }[];
  /** Run a cancel whose push carries this client id (the cancel's own newClientOrderId). */
  withCancelId<T>(id: string | undefined, f: () => T): T;
  newId(): string;
}

export const err = (status: number, code: number, msg: string): Answer => ({ status, body: { code, msg } });
export const mandatory = (name: string): Answer => err(400, -1102, `Mandatory parameter '${name}' was not sent, was empty/null, or malformed.`);
const ok = (body: unknown, orderCounted = false): Answer => ({ status: 200, body, orderCounted });
const unknownOrder = (): Answer => err(400, -2011, 'Unknown order sent.');
const noSuchOrder = (): Answer => err(400, -2013, 'Order does not exist.');
const badSymbol = (): Answer => err(400, -1121, 'Invalid symbol.');

/** The venue's answer to a refusal of the shared exchange, with Binance's code and message. */
export function refusalAnswer(r: Refusal): Answer {
  switch (r.code) {
    case 'DUPLICATE_CLIENT_ID':
      return err(400, -2010, 'Duplicate order sent.');
    case 'LOT_SIZE':
      return err(400, -1013, 'Filter failure: LOT_SIZE');
    case 'PRICE_FILTER':
      return err(400, -1013, 'Filter failure: PRICE_FILTER');
    case 'MIN_NOTIONAL':
      return err(400, -1013, 'Filter failure: NOTIONAL');
    case 'BAD_QTY':
      return err(400, -1013, r.message.includes('price') ? 'Invalid price.' : 'Invalid quantity.');
    case 'UNKNOWN_SYMBOL':
      return badSymbol();
    case 'WOULD_TAKE':
      return err(400, -2010, 'Order would immediately match and take.');
    case 'NO_MARKET_DATA':
      return err(400, -2010, 'Market is closed.');
    case 'INSUFFICIENT_BALANCE':
      return err(400, -2010, 'Account has insufficient balance for requested action.');
    case 'UNKNOWN_ORDER':
    case 'ORDER_CLOSED':
      return unknownOrder();
  }
}

interface NewOrder {
  symbol: string;
  side: Side;
  type: EmulatedType;
  tif: EmulatedTif;
  qty?: string;
  price?: string;
  funds?: string;
  clientId?: string;
  respType: string;
}

/** A new order's parameters, checked as Binance checks them before matching; an error answer if not. */
function newOrder(p: URLSearchParams, ctx: RestContext): NewOrder | Answer {
  const symbol = p.get('symbol');
  if (!symbol) return mandatory('symbol');
  if (!ctx.exchange.spec(symbol)) return badSymbol();
  const side = p.get('side');
  if (!side) return mandatory('side');
  if (side !== 'BUY' && side !== 'SELL') return err(400, -1117, 'Invalid side.');
  const type = p.get('type');
  if (!type) return mandatory('type');
  if (type !== 'MARKET' && type !== 'LIMIT' && type !== 'LIMIT_MAKER') return err(400, -1116, 'Invalid orderType.');
  const tif = p.get('timeInForce') ?? undefined;
  if (type === 'LIMIT' && !tif) return mandatory('timeInForce');
  if (tif !== undefined && tif !== 'GTC' && tif !== 'IOC' && tif !== 'FOK') return err(400, -1115, 'Invalid timeInForce.');
  const qty = p.get('quantity') ?? undefined;
  const funds = p.get('quoteOrderQty') ?? undefined;
  const price = p.get('price') ?? undefined;
  if (type === 'MARKET' && qty === undefined && funds === undefined) return err(400, -1102, "Param 'quantity' or 'quoteOrderQty' must be sent, but both were empty/null!");
  if (type !== 'MARKET' && qty === undefined) return mandatory('quantity');
  if (type !== 'MARKET' && price === undefined) return mandatory('price');
  const clientId = p.get('newClientOrderId') ?? undefined;
  if (clientId !== undefined && !CLIENT_ORDER_ID_RE.test(clientId)) {
    return err(400, -1100, "Illegal characters found in parameter 'newClientOrderId'; legal range is '^[a-zA-Z0-9-_]{1,36}$'.");
  }
  const respType = p.get('newOrderRespType') ?? (type === 'LIMIT_MAKER' ? 'ACK' : 'FULL');
  return { symbol, side, type, tif: tif ?? 'GTC', qty, price, funds, clientId, respType };
}

const isAnswer = (x: NewOrder | Answer): x is Answer => 'status' in x;

function request(n: NewOrder, ctx: RestContext): PlaceRequest {
  return {
    client_order_id: n.clientId ?? ctx.newId(),
    symbol: n.symbol,
    side: n.side,
    type: n.type,
    tif: n.tif,
    qty: n.funds !== undefined && n.type === 'MARKET' ? undefined : n.qty,
    price: n.type === 'MARKET' ? undefined : n.price,
    funds: n.type === 'MARKET' ? n.funds : undefined,
  };
}

const place = (n: NewOrder, ctx: RestContext): EmulatedOrder => ctx.exchange.place(request(n, ctx));

/** POST /api/v3/order/test: every check of a placement (parameters, filters, balance), nothing placed; {} when it would be taken. */
function testOrder(p: URLSearchParams, ctx: RestContext): Answer {
  const n = newOrder(p, ctx);
  if (isAnswer(n)) return n;
  try {
    ctx.exchange.test(request(n, ctx));
    return ok({});
  } catch (e) {
    if (e instanceof Refusal) return refusalAnswer(e);
    throw e;
  }
}

/** The order a request names by orderId or by client order id (both: they must agree). */
function target(p: URLSearchParams, ctx: RestContext, idName: string, clientName: string): EmulatedOrder | Answer | undefined {
  const symbol = p.get('symbol');
  if (!symbol) return mandatory('symbol');
  if (!ctx.exchange.spec(symbol)) return badSymbol();
  const id = p.get(idName);
  const clientId = p.get(clientName);
  if (!id && !clientId) return err(400, -1102, `Param '${clientName}' or '${idName}' must be sent, but both were empty/null!`);
  const o = id ? ctx.exchange.get({ seq: Number(id) }) : ctx.exchange.get({ client_order_id: clientId! });
  if (!o || o.symbol !== symbol || (id && clientId && o.client_order_id !== clientId)) return undefined;
  return o;
}

function placeOrder(p: URLSearchParams, ctx: RestContext): Answer {
  const n = newOrder(p, ctx);
  if (isAnswer(n)) return n;
  try {
    const o = place(n, ctx);
    if (ctx.faults.timeout_after_accept > 0) {
      ctx.faults.timeout_after_accept--;
      return { status: 200, body: null, hang: true };
    }
    return ok(placeJson(o, n.respType), true);
  } catch (e) {
    if (e instanceof Refusal) return refusalAnswer(e);
    throw e;
  }
}

function cancelOrder(p: URLSearchParams, ctx: RestContext): Answer {
  const o = target(p, ctx, 'orderId', 'origClientOrderId');
  if (o === undefined) return unknownOrder();
  if ('status' in o && typeof o.status === 'number') return o;
  const order = o;
  if (isClosed(order)) return unknownOrder();
  const cancelId = p.get('newClientOrderId') ?? ctx.newId();
  ctx.withCancelId(cancelId, () => ctx.exchange.cancel({ seq: order.seq }));
  return ok(cancelJson(order, cancelId));
}

function cancelReplace(p: URLSearchParams, ctx: RestContext): Answer {
  const mode = p.get('cancelReplaceMode');
  if (!mode) return mandatory('cancelReplaceMode');
  if (mode !== 'STOP_ON_FAILURE' && mode !== 'ALLOW_FAILURE') return err(400, -1145, 'Invalid cancelReplaceMode');
  const n = newOrder(p, ctx);
  if (isAnswer(n)) return n;
  // Filters are checked before the cancel or the placement happens.
  const broken = filterFailure(ctx.exchange.spec(n.symbol)!, n.type, n.qty, n.price);
  if (broken) return err(400, -1013, `Filter failure: ${broken}`);
  const found = target(p, ctx, 'cancelOrderId', 'cancelOrigClientOrderId');
  if (found && 'status' in found && typeof found.status === 'number') return found;
  const old = found;
  let cancelResponse: unknown;
  let canceled = false;
  if (!old || isClosed(old)) cancelResponse = { code: -2011, msg: 'Unknown order sent.' };
  else {
    const cancelId = p.get('cancelNewClientOrderId') ?? ctx.newId();
    ctx.withCancelId(cancelId, () => ctx.exchange.cancel({ seq: old.seq }));
    cancelResponse = cancelJson(old, cancelId);
    canceled = true;
  }
  if (!canceled && mode === 'STOP_ON_FAILURE') {
    return {
      status: 400,
      body: { code: -2022, msg: 'Order cancel-replace failed.', data: { cancelResult: 'FAILURE', newOrderResult: 'NOT_ATTEMPTED', cancelResponse, newOrderResponse: null } },
    };
  }
  let newOrderResponse: unknown;
  let placed = false;
  try {
    newOrderResponse = placeJson(place(n, ctx), n.respType);
    placed = true;
  } catch (e) {
    if (!(e instanceof Refusal)) throw e;
    newOrderResponse = refusalAnswer(e).body;
  }
  const data = { cancelResult: canceled ? 'SUCCESS' : 'FAILURE', newOrderResult: placed ? 'SUCCESS' : 'FAILURE', cancelResponse, newOrderResponse };
  if (canceled && placed) return ok(data, true);
  if (canceled || placed) return { status: 409, body: { code: -2021, msg: 'Order cancel-replace partially failed.', data }, orderCounted: placed };
  return { status: 400, body: { code: -2022, msg: 'Order cancel-replace failed.', data } };
}

function myTrades(p: URLSearchParams, ctx: RestContext): Answer {
  const symbol = p.get('symbol');
  if (!symbol) return mandatory('symbol');
  if (!ctx.exchange.spec(symbol)) return badSymbol();
  const limit = Math.min(1000, Number(p.get('limit') ?? 500));
  const orderId = p.get('orderId');
  const fromId = p.get('fromId');
  const start = p.get('startTime');
  const end = p.get('endTime');
  if (start && end && Number(end) - Number(start) > 86_400_000) return err(400, -1127, 'More than 24 hours between startTime and endTime.');
  let list = ctx.exchange.trades(symbol);
  if (orderId) list = list.filter((x) => x.order.seq === Number(orderId));
  if (fromId) list = list.filter((x) => x.trade.trade_id >= Number(fromId));
  if (start) list = list.filter((x) => x.trade.ts_ms >= Number(start));
  if (end) list = list.filter((x) => x.trade.ts_ms <= Number(end));
  // Without a start (time or id) the most recent come back; with one, the oldest from it.
  list = fromId || start || orderId ? list.slice(0, limit) : list.slice(-limit);
  return ok(list.map((x) => myTradeJson(x.order, x.trade)));
}

function depth(p: URLSearchParams, ctx: RestContext): Answer {
  const symbol = p.get('symbol');
  if (!symbol) return mandatory('symbol');
  const book = ctx.exchange.book(symbol);
  if (!ctx.exchange.spec(symbol) || !book) return badSymbol();
  const limit = Math.min(5000, Number(p.get('limit') ?? 100));
  const side = (levels: typeof book.bids) => levels.slice(0, limit).map((l) => [d8(l.price), d8(l.qty)]);
  return ok({ lastUpdateId: Math.floor(book.ts_us / 1000), bids: side(book.bids), asks: side(book.asks) });
}

function exchangeInfo(p: URLSearchParams, ctx: RestContext): Answer {
  let specs = ctx.exchange.instruments();
  const one = p.get('symbol');
  const many = p.get('symbols');
  const wanted = one ? [one] : many ? (JSON.parse(many) as string[]) : undefined;
  if (wanted) {
    if (wanted.some((s) => !ctx.exchange.spec(s))) return badSymbol();
    specs = specs.filter((s) => wanted.includes(s.symbol));
  }
  return ok({ timezone: 'UTC', serverTime: ctx.now(), rateLimits: ctx.rateLimits, exchangeFilters: [], symbols: specs.map(symbolJson) });
}

function account(p: URLSearchParams, ctx: RestContext): Answer {
  const fee = (rate: string) => d8(rate);
  const omitZero = p.get('omitZeroBalances') === 'true';
  const balances = [...ctx.exchange.balances()]
    .filter(([, h]) => !omitZero || h.free.plus(h.locked).coef !== 0n)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([asset, h]) => ({ asset, free: d8(h.free), locked: d8(h.locked) }));
  const spec = ctx.exchange.instruments()[0];
  const bps = spec ? Number(fmt(dec(spec.taker_fee).times(10_000))) : 10;
  return ok({
    makerCommission: bps,
    takerCommission: bps,
    buyerCommission: 0,
    sellerCommission: 0,
    commissionRates: { maker: fee(spec?.maker_fee ?? '0.001'), taker: fee(spec?.taker_fee ?? '0.001'), buyer: d8('0'), seller: d8('0') },
    canTrade: ctx.permissions.can_trade ?? true,
    canWithdraw: ctx.permissions.can_withdraw ?? false,
    canDeposit: true,
    brokered: false,
    requireSelfTradePrevention: false,
    preventSor: false,
    updateTime: ctx.now(),
    accountType: 'SPOT',
    balances,
    permissions: ['SPOT'],
    uid: 1,
  });
}

function apiRestrictions(ctx: RestContext): Answer {
  return ok({
    ipRestrict: false,
    createTime: ctx.now(),
    enableReading: true,
    enableWithdrawals: ctx.permissions.can_withdraw ?? false,
    enableInternalTransfer: false,
    enableMargin: false,
    enableFutures: false,
    permitsUniversalTransfer: false,
    enableVanillaOptions: false,
    enableFixApiTrade: false,
    enableFixReadOnly: false,
    enableSpotAndMarginTrading: ctx.permissions.can_trade ?? true,
    enablePortfolioMarginTrading: false,
  });
}

export function restRoutes(ctx: RestContext): Map<string, RestRoute> {
  const w = (n: number) => () => n;
  const pub = (weight: (p: URLSearchParams) => number, handle: (p: URLSearchParams) => Answer): RestRoute => ({ signed: false, weight, handle });
  const signed = (weight: (p: URLSearchParams) => number, handle: (p: URLSearchParams) => Answer, placesOrder = false): RestRoute => ({
    signed: true,
    weight,
    handle,
    placesOrder,
  });
  return new Map<string, RestRoute>([
    ['GET /api/v3/ping', pub(w(1), () => ok({}))],
    ['GET /api/v3/time', pub(w(1), () => ok({ serverTime: ctx.now() }))],
    ['GET /api/v3/exchangeInfo', pub(w(20), (p) => exchangeInfo(p, ctx))],
    [
      'GET /api/v3/depth',
      pub(
        (p) => (Number(p.get('limit') ?? 100) <= 100 ? 5 : 25),
        (p) => depth(p, ctx),
      ),
    ],
    ['GET /api/v3/account', signed(w(20), (p) => account(p, ctx))],
    ['GET /sapi/v1/account/apiRestrictions', signed(w(1), () => apiRestrictions(ctx))],
    ['POST /api/v3/order', signed(w(1), (p) => placeOrder(p, ctx), true)],
    // A test counts toward no order limit (no orderCounted) and is not a placement for the fault switches.
    ['POST /api/v3/order/test', signed(w(1), (p) => testOrder(p, ctx))],
    ['DELETE /api/v3/order', signed(w(1), (p) => cancelOrder(p, ctx))],
    [
      'GET /api/v3/order',
      signed(w(4), (p) => {
        const o = target(p, ctx, 'orderId', 'origClientOrderId');
        if (o === undefined) return noSuchOrder();
        if ('status' in o && typeof o.status === 'number') return o;
        return ok(orderJson(o));
      }),
    ],
    [
      'GET /api/v3/openOrders',
      signed(
        (p) => (p.get('symbol') ? 6 : 80),
        (p) => {
          const symbol = p.get('symbol') ?? undefined;
          if (symbol && !ctx.exchange.spec(symbol)) return badSymbol();
          return ok(ctx.exchange.open(symbol).map(orderJson));
        },
      ),
    ],
    [
      'GET /api/v3/myTrades',
      signed(
        (p) => (p.get('orderId') ? 5 : 20),
        (p) => myTrades(p, ctx),
      ),
    ],
    ['POST /api/v3/order/cancelReplace', signed(w(1), (p) => cancelReplace(p, ctx), true)],
  ]);
}
