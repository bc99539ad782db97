// The Binance spot gateway behind the venue seam. Placement by client order id (the idempotency
// key), amend by cancel/replace (the replacement is <root>r<n>), queries that rebuild an order's
// whole history from the venue (its chain of replacements and their trades), and the user-data
// stream over the WebSocket API.
import { dec, fmt, isDecimalString, ZERO } from '../../domain/decimal.js';
import type { Order, VenueReport } from '../../domain/events.js';
import { BoundedMap, NoAnswer } from '../transport.js';
import type { AmendChange, OrderRef, OrderTestAnswer, VenueAdapter, VenueAnswer, VenueHealth, VenueMessage, VenueOrderSnapshot, VenueStartup } from '../types.js';
import { binanceConfig, type BinanceConfig } from './config.js';
import { BinanceRest, VenueHalted } from './http.js';
import {
  cancelLegId,
  cancelReplyReports,
  CLIENT_ORDER_ID_RE,
  instrumentRules,
  isOpenStatus,
  isRawError,
  orderSnapshot,
  placeReplyReports,
  rateLimits,
  rejectedReport,
  rejectReason,
  replacementId,
  splitClientId,
  tradeReport,
  type RawCancelReplace,
  type RawError,
  type RawExchangeInfo,
  type RawMyTrade,
  type RawOrder,
} from './parse.js';
import { hmacSha256Hex, wsSignaturePayload } from './signing.js';
import { BinanceUserStream } from './ws.js';

export const BINANCE = 'BINANCE';
const MAX_AMENDMENTS = 999; // 32-char root + 'r' + 3 digits fits newClientOrderId's 36

interface RawAccount {
  canTrade: boolean;
  canWithdraw: boolean;
  canDeposit: boolean;
  balances?: { asset: string; free: string; locked: string }[];
}

const failure = (what: string, e: RawError): Error => new Error(`Binance ${what} refused: ${e.code} ${e.msg}`);
const local = (code: string, reason: string, ts: string): VenueAnswer => ({ kind: 'answered', reports: [{ kind: 'REJECTED', code, reason, ts }] });

/** Why an order is not sent at all (Binance could not take it), or undefined. */
function localRefusal(order: Order): { code: string; reason: string } | undefined {
  if (!CLIENT_ORDER_ID_RE.test(order.client_order_id) || splitClientId(order.client_order_id).leg) {
    return { code: 'CLIENT_ORDER_ID', reason: `client order id ${JSON.stringify(order.client_order_id)} does not fit Binance's ^[a-zA-Z0-9-_]{1,36}$ (or ends like an amend leg)` };
  }
  if (order.order_type === 'LIMIT' && order.limit_price === undefined) return { code: 'LIMIT_PRICE', reason: 'a LIMIT order needs a limit price' };
  return undefined;
}

/** POST /api/v3/order's parameters for an order: a placement and an order test send the same. */
function placementParams(order: Order): Record<string, string | undefined> {
  return {
    symbol: order.symbol,
    side: order.side,
    type: order.order_type,
    timeInForce: order.order_type === 'LIMIT' ? order.tif : undefined,
    quantity: order.qty,
    price: order.order_type === 'LIMIT' ? order.limit_price : undefined,
    newClientOrderId: order.client_order_id,
    newOrderRespType: 'FULL',
  };
}

export function createBinanceAdapter(input: BinanceConfig): VenueAdapter {
  const config = binanceConfig(input);
  // The secret lives only in this closure.
  const secret = input.api_secret;
  const sign = (payload: string) => hmacSha256Hex(secret, payload);
  const rest = new BinanceRest({ url: config.rest_url, apiKey: input.api_key, sign, timeoutMs: config.timeout_ms, recvWindowMs: config.recv_window_ms });
  /** Venue order id -> the logical order's client id (trades carry only the order id). */
  const rootByOrderId = new BoundedMap<string, string>();
  let stream: BinanceUserStream | undefined;

  const remember = (o: Pick<RawOrder, 'orderId' | 'clientOrderId'>) => rootByOrderId.set(String(o.orderId), splitClientId(o.clientOrderId).root);

  /** Answers for a failure to get an answer: unknown (maybe acted on) or halted (not acted on). */
  function noAnswer(e: unknown): VenueAnswer {
    if (e instanceof VenueHalted) return { kind: 'halted', reason: e.message, retry_after_ms: e.retryAfterMs };
    if (e instanceof NoAnswer) return { kind: 'unknown', reason: e.message };
    throw e;
  }

  async function getOrder(symbol: string, by: { origClientOrderId?: string; orderId?: string }): Promise<RawOrder | undefined> {
    const r = await rest.call<RawOrder>('GET', '/api/v3/order', { symbol, ...by }, { signed: true, weight: 4 });
    if (r.ok) {
      remember(r.body);
      return r.body;
    }
    if (r.error.code === -2013) return undefined;
    throw failure('order query', r.error);
  }

  /** The venue orders that carried one logical order: the root, then each replacement, oldest first. */
  async function chain(symbol: string, root: string): Promise<RawOrder[] | undefined> {
    const first = await getOrder(symbol, { origClientOrderId: root });
    if (!first) return undefined;
    const out = [first];
    // Only a canceled order can have been replaced (the replace cancels it).
    for (let n = 1; n <= MAX_AMENDMENTS && out[out.length - 1].status === 'CANCELED'; n++) {
      const next = await getOrder(symbol, { origClientOrderId: replacementId(root, n) });
      if (!next) break;
      out.push(next);
    }
    return out;
  }

  async function orderTrades(symbol: string, orderId: number): Promise<RawMyTrade[]> {
    const r = await rest.call<RawMyTrade[]>('GET', '/api/v3/myTrades', { symbol, orderId }, { signed: true, weight: 5 });
    if (!r.ok) throw failure('trade list', r.error);
    return r.body;
  }

  async function query(ref: OrderRef): Promise<VenueOrderSnapshot | undefined> {
    const root = splitClientId(ref.client_order_id).root;
    const orders = await chain(ref.symbol, root);
    if (!orders) return undefined;
    const trades: RawMyTrade[] = [];
    for (const o of orders) if (dec(o.executedQty).gt(ZERO)) trades.push(...(await orderTrades(ref.symbol, o.orderId)));
    return orderSnapshot(orders, trades);
  }

  async function place(order: Order, ts: string): Promise<VenueAnswer> {
    const refused = localRefusal(order);
    if (refused) return local(refused.code, refused.reason, ts);
    const params = placementParams(order);
    let r;
    try {
      r = await rest.call<RawOrder>('POST', '/api/v3/order', params, { signed: true, weight: 1, order: true });
    } catch (e) {
      return noAnswer(e);
    }
    if (r.ok) {
      remember(r.body);
      return { kind: 'answered', reports: placeReplyReports(r.body) };
    }
    if (r.error.code === -2010 && r.error.msg === 'Duplicate order sent.') {
      // The id is held by an open order: ours, placed by an earlier attempt whose answer was lost.
      try {
        const snap = await query({ client_order_id: order.client_order_id, instrument_id: order.instrument_id, symbol: order.symbol });
        if (snap) return { kind: 'answered', reports: snap.reports, recovered: true };
      } catch (e) {
        return noAnswer(e);
      }
    }
    return { kind: 'answered', reports: [rejectedReport(r.error, ts)] };
  }

  /** POST /api/v3/order/test: the placement's own parameters, checked by Binance and dropped. */
  async function testOrder(order: Order): Promise<OrderTestAnswer> {
    const refused = localRefusal(order);
    if (refused) return { kind: 'rejected', ...refused };
    let r;
    try {
      r = await rest.call<Record<string, never>>('POST', '/api/v3/order/test', placementParams(order), { signed: true, weight: 1 });
    } catch (e) {
      if (e instanceof VenueHalted || e instanceof NoAnswer) return { kind: 'unknown', reason: e.message };
      throw e;
    }
    if (r.ok) return { kind: 'accepted' };
    // Still rate limited after the waits: no verdict on the order.
    if (r.status === 429) return { kind: 'unknown', reason: rejectReason(r.error) };
    // Refused as a placement would be: the same code and reason as its REJECTED.
    return { kind: 'rejected', code: String(r.error.code), reason: rejectReason(r.error) };
  }

  async function balances(assets: readonly string[]): Promise<Record<string, string>> {
    const r = await rest.call<RawAccount>('GET', '/api/v3/account', { omitZeroBalances: true }, { signed: true, weight: 20 });
    if (!r.ok) throw failure('account balances', r.error);
    const free = freeBalances(r.body.balances);
    if (!free) throw new Error('Binance account balances: the reply has no balances list');
    return Object.fromEntries(assets.map((a) => [a, free[a] ?? '0']));
  }

  async function cancel(ref: OrderRef, ts: string): Promise<VenueAnswer> {
    const root = splitClientId(ref.client_order_id).root;
    const send = (origClientOrderId: string) => rest.call<RawOrder>('DELETE', '/api/v3/order', { symbol: ref.symbol, origClientOrderId }, { signed: true, weight: 1 });
    try {
      let r = await send(root);
      if (!r.ok && r.error.code === -2011) {
        // After an amend the live order is a replacement: find it and cancel that one.
        const orders = await chain(ref.symbol, root);
        const live = orders?.[orders.length - 1];
        if (live && live.clientOrderId !== root && isOpenStatus(live.status)) r = await send(live.clientOrderId);
      }
      if (r.ok) return { kind: 'answered', reports: cancelReplyReports(r.body) };
      return { kind: 'answered', reports: [rejectedReport(r.error, ts)] };
    } catch (e) {
      return noAnswer(e);
    }
  }

  async function amend(ref: OrderRef & { filled_qty: string; order: Order }, change: AmendChange, ts: string): Promise<VenueAnswer> {
    const root = splitClientId(ref.client_order_id).root;
    let orders: RawOrder[] | undefined;
    try {
      orders = await chain(ref.symbol, root);
    } catch (e) {
      return noAnswer(e);
    }
    if (!orders) return { kind: 'answered', reports: [rejectedReport({ code: -2013, msg: 'Order does not exist.' }, ts)] };
    const live = orders[orders.length - 1];
    const n = splitClientId(live.clientOrderId).n + 1;
    if (n > MAX_AMENDMENTS) return local('AMEND_LIMIT', `order ${root} was amended ${MAX_AMENDMENTS} times: no replacement id is left`, ts);
    const filledBefore = orders.slice(0, -1).reduce((a, o) => a.plus(dec(o.executedQty)), ZERO);
    const total = change.qty !== undefined ? dec(change.qty) : filledBefore.plus(dec(live.origQty));
    const quantity = total.minus(filledBefore).minus(dec(live.executedQty));
    if (quantity.lte(ZERO)) return local('AMEND_QTY', `new total ${fmt(total)} is not above the ${fmt(filledBefore.plus(dec(live.executedQty)))} already filled`, ts);
    const params = {
      symbol: ref.symbol,
      side: live.side,
      type: live.type,
      timeInForce: live.type === 'LIMIT' ? live.timeInForce : undefined,
      quantity: fmt(quantity),
      price: change.limit_price ?? fmt(dec(live.price)),
      cancelReplaceMode: 'STOP_ON_FAILURE',
      cancelOrigClientOrderId: live.clientOrderId,
      cancelNewClientOrderId: cancelLegId(root, n),
      newClientOrderId: replacementId(root, n),
      newOrderRespType: 'FULL',
    };
    let r;
    try {
      r = await rest.call<RawCancelReplace>('POST', '/api/v3/order/cancelReplace', params, { signed: true, weight: 1, order: true });
    } catch (e) {
      return noAnswer(e);
    }
    const body = r.ok ? r.body : r.error.data;
    if (body && body.cancelResult === 'SUCCESS' && !isRawError(body.cancelResponse)) {
      const canceled = body.cancelResponse;
      const filled = filledBefore.plus(dec(canceled.executedQty));
      const fresh = body.newOrderResponse;
      if (body.newOrderResult === 'SUCCESS' && fresh && !isRawError(fresh)) {
        remember(fresh);
        // The replacement's ACK becomes the AMENDED (same time); its fills and end follow.
        const [ack, ...more] = placeReplyReports(fresh);
        const amended: VenueReport = {
          kind: 'AMENDED',
          venue_order_id: String(fresh.orderId),
          qty: fmt(filled.plus(dec(fresh.origQty))),
          limit_price: fmt(dec(fresh.price)),
          ts: ack.ts,
        };
        return { kind: 'answered', reports: [amended, ...more] };
      }
      // The old order is canceled and the new one refused (-2021): the order is over.
      const why = isRawError(fresh) ? rejectReason(fresh) : 'new order not placed';
      return { kind: 'answered', reports: [{ kind: 'CANCELED', reason: `amend failed after its cancel: ${why}`, ts: cancelReplyReports(canceled)[0].ts }] };
    }
    if (r.ok) return local('AMEND', 'cancelReplace answered without a cancel result', ts);
    const cancelErr = body && isRawError(body.cancelResponse) ? body.cancelResponse : undefined;
    const reason = cancelErr ? `${rejectReason(r.error)}; cancel leg: ${rejectReason(cancelErr)}` : rejectReason(r.error);
    return { kind: 'answered', reports: [{ kind: 'REJECTED', code: String(cancelErr?.code ?? r.error.code), reason, ts }] };
  }

  async function openOrders(): Promise<VenueOrderSnapshot[]> {
    const r = await rest.call<RawOrder[]>('GET', '/api/v3/openOrders', {}, { signed: true, weight: 80 });
    if (!r.ok) throw failure('open orders', r.error);
    const out: VenueOrderSnapshot[] = [];
    for (const o of r.body) {
      const snap = await query({ client_order_id: o.clientOrderId, instrument_id: `${BINANCE}:${o.symbol}`, symbol: o.symbol });
      if (snap) out.push(snap);
    }
    return out;
  }

  async function trades(symbols: readonly string[], sinceMs: number): Promise<VenueMessage[]> {
    const out: VenueMessage[] = [];
    for (const symbol of symbols) {
      let page: Record<string, number | string> = { symbol, startTime: sinceMs, limit: 1000 };
      for (;;) {
        const r = await rest.call<RawMyTrade[]>('GET', '/api/v3/myTrades', page, { signed: true, weight: 20 });
        if (!r.ok) throw failure('trade list', r.error);
        for (const t of r.body) {
          let root = rootByOrderId.get(String(t.orderId));
          if (root === undefined) {
            const o = await getOrder(symbol, { orderId: String(t.orderId) });
            root = o ? splitClientId(o.clientOrderId).root : String(t.orderId);
          }
          out.push({ client_order_id: root, report: tradeReport(t) });
        }
        if (r.body.length < 1000) break;
        page = { symbol, fromId: r.body[r.body.length - 1].id + 1, limit: 1000 };
      }
    }
    return out;
  }

  return {
    venues: [BINANCE],
    env: config.env,

    async start(): Promise<VenueStartup> {
      await rest.syncClock();
      const info = await rest.call<RawExchangeInfo>('GET', '/api/v3/exchangeInfo', {}, { weight: 20 });
      if (!info.ok) throw failure('exchange info', info.error);
      rest.setLimits(rateLimits(info.body));
      const account = await rest.call<RawAccount>('GET', '/api/v3/account', { omitZeroBalances: true }, { signed: true, weight: 20 });
      if (!account.ok) throw failure('account (check the API key and secret)', account.error);
      // Withdrawal permission is the key's (sapi); the testnet has no sapi: then it stays unknown.
      const restrictions = await rest.call<{ enableWithdrawals?: boolean }>('GET', '/sapi/v1/account/apiRestrictions', {}, { signed: true, weight: 1 });
      if (!restrictions.ok && (restrictions.error.code === -2015 || restrictions.error.code === -1022 || restrictions.error.code === -2014)) {
        throw failure('API key permissions', restrictions.error);
      }
      return {
        can_trade: account.body.canTrade,
        can_withdraw: restrictions.ok ? restrictions.body.enableWithdrawals : undefined,
        clock_offset_ms: rest.clockOffsetMs,
        instruments: instrumentRules(info.body),
        balances: freeBalances(account.body.balances),
      };
    },

    place,
    testOrder,
    balances,
    cancel,
    amend,
    query,
    openOrders,
    trades,

    subscribe(onReports, onStatus): void {
      stream?.close();
      stream = new BinanceUserStream({
        url: config.ws_url,
        apiKey: input.api_key,
        signParams: (params) => sign(wsSignaturePayload(params)),
        venueNow: () => rest.venueNow(),
        resyncClock: () => rest.syncClock(),
        recvWindowMs: config.recv_window_ms,
        onReports: (messages) => {
          for (const m of messages) if (m.report.kind === 'ACK' || m.report.kind === 'TRADE') rootByOrderId.set(m.report.venue_order_id, m.client_order_id);
          onReports(messages);
        },
        onStatus,
      });
      stream.start();
    },

    health(): VenueHealth {
      return { connected: stream?.connected ?? false, halted: rest.halted, rate_headroom: rest.headroom(), backoff_until_ms: rest.backoffUntilMs };
    },

    resume(): void {
      rest.resume();
    },

    async close(): Promise<void> {
      stream?.close();
      await rest.close();
    },
  };
}

/** The account's free balances (what open orders lock is not free), as canonical decimals. */
function freeBalances(raw: RawAccount['balances']): Record<string, string> | undefined {
  if (!Array.isArray(raw)) return undefined;
  const out: Record<string, string> = {};
  for (const b of raw) if (typeof b?.asset === 'string' && typeof b.free === 'string' && isDecimalString(b.free)) out[b.asset] = fmt(dec(b.free));
  return out;
}
