// The OKX v5 spot venue behind fillstream's venue seam. Requests go through OkxRest (signed,
// clock, limits, 429/418); replies and pushes become reports through parse.ts.
import { createHash } from 'node:crypto';
import { dec, fmt, isDecimalString, ZERO, type Dec } from '../../domain/decimal.js';
import type { Order, VenueReport } from '../../domain/events.js';
import { PermanentFault, serverName } from '../../domain/faults.js';
import { microsToIso, nowMicros } from '../../domain/time.js';
import { NoAnswer, type ReconnectingStream } from '../transport.js';
import type { AmendChange, OrderRef, VenueAdapter, VenueAnswer, VenueHealth, VenueMessage, VenueOrderSnapshot, VenueStartup } from '../types.js';
import { sealCredentials, type OkxConfig } from './config.js';
import { OkxHalted, OkxRest, type OkxRequest } from './http.js';
import {
  OkxProtocolError,
  okxReason,
  okxTime,
  permissionsOf,
  placeReports,
  replyError,
  rulesOf,
  snapshotOf,
  tradeOfFill,
  type OkxBalance,
  type OkxFill,
  type OkxInstrument,
  type OkxOrder,
  type OkxOrderAck,
  type OkxReply,
} from './parse.js';
import { openOkxUserStream } from './ws.js';

export const OKX = 'OKX';
/** OKX's clOrdId: case-sensitive alphanumerics, up to 32. */
export const CLIENT_ORDER_ID = /^[A-Za-z0-9]{1,32}$/;
/** GET /trade/fills covers three days; older trades are in /trade/fills-history. */
const FILLS_DAYS_MS = 3 * 86_400_000;
const PAGE = 100;

/** OKX refused a request that is not a placement (a query, the key probe): its code and text. */
export class OkxRefused extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'OkxRefused';
  }
}

/** The OKX request for an order: cash (spot) trading, base-currency size for market orders too. */
export function orderBody(o: Order): Record<string, string> {
  const body = { instId: o.symbol, tdMode: 'cash', clOrdId: o.client_order_id, side: o.side === 'BUY' ? 'buy' : 'sell', sz: fmt(dec(o.qty)) };
  // OKX sizes a spot market buy in quote by default; base_ccy makes sz the base quantity, as Order means it.
  if (o.order_type === 'MARKET') return { ...body, ordType: 'market', tgtCcy: 'base_ccy' };
  return { ...body, ordType: o.tif === 'IOC' ? 'ioc' : o.tif === 'FOK' ? 'fok' : 'limit', px: fmt(dec(o.limit_price!)) };
}

const isImmediate = (o: Order) => o.order_type === 'MARKET' || o.tif !== 'GTC';
const nowIso = () => microsToIso(nowMicros());
const localReject = (code: string, reason: string): VenueAnswer => ({ kind: 'answered', reports: [{ kind: 'REJECTED', code, reason, ts: nowIso() }] });

/** Orders by OKX's id when we know it (OKX uses ordId when both are given), else by ours. */
const orderKey = (ref: OrderRef) => (ref.venue_order_id ? { ordId: ref.venue_order_id } : { clOrdId: ref.client_order_id });

class OkxAdapter implements VenueAdapter {
  readonly venues = [OKX] as const;
  readonly env: 'staging' | 'prod';
  private readonly rest: OkxRest;
  private readonly server: string;
  private stream: ReconnectingStream | undefined;

  constructor(
    private readonly c: Pick<OkxConfig, 'env' | 'rest_url' | 'ws_url'>,
    rest: OkxRest,
  ) {
    this.env = c.env;
    this.rest = rest;
    this.server = serverName(OKX, c.rest_url);
  }

  private async call<T>(r: OkxRequest): Promise<OkxReply<T>> {
    const { reply } = await this.rest.request<T>(r);
    const err = replyError(reply);
    if (err) throw new OkxRefused(err.code, `${r.method} ${r.path} refused: ${okxReason(err.code, err.msg)}`);
    return reply;
  }

  async start(): Promise<VenueStartup> {
    const clock_offset_ms = await this.rest.syncClock();
    let perm: string | undefined;
    try {
      perm = (await this.call<{ perm?: string }>({ method: 'GET', path: '/api/v5/account/config', signed: true })).data[0]?.perm;
    } catch (e) {
      if (!(e instanceof OkxRefused)) throw e;
      throw new PermanentFault(this.server, e.message, 'check the API key, secret and passphrase, and that demo keys run with env staging and live keys with prod', { cause: e });
    }
    const instruments = (await this.call<OkxInstrument>({ method: 'GET', path: '/api/v5/public/instruments', query: { instType: 'SPOT' }, signed: false })).data.map(rulesOf);
    // What the account holds (OKX lists the currencies with a balance): the router leaves out a venue short of what an order spends.
    const held = await this.available();
    const balances = Object.fromEntries([...held].filter(([, v]) => v.gt(0)).map(([k, v]) => [k, fmt(v)]));
    return { ...permissionsOf(perm), clock_offset_ms, instruments, balances };
  }

  /** Runs a placement, cancel or amend: no reply -> unknown, a ban -> halted. */
  private async command(r: OkxRequest, answer: (reply: OkxReply<OkxOrderAck>) => Promise<VenueAnswer> | VenueAnswer): Promise<VenueAnswer> {
    let reply: OkxReply<OkxOrderAck>;
    try {
      reply = (await this.rest.request<OkxOrderAck>(r)).reply;
    } catch (e) {
      if (e instanceof OkxHalted) return { kind: 'halted', reason: e.message, ...(e.retryAfterMs ? { retry_after_ms: e.retryAfterMs } : {}) };
      if (e instanceof NoAnswer || e instanceof OkxProtocolError) return { kind: 'unknown', reason: e.message };
      throw e;
    }
    return answer(reply);
  }

  async place(order: Order, _ts: string): Promise<VenueAnswer> {
    if (order.env !== this.env) return localReject('ENV_MISMATCH', `order for env ${order.env} refused by the OKX ${this.env} adapter`);
    if (!CLIENT_ORDER_ID.test(order.client_order_id))
      return localReject('CLIENT_ORDER_ID', `client order id ${JSON.stringify(order.client_order_id)} is not 1-32 alphanumerics, as OKX requires`);
    if (order.order_type === 'LIMIT' && order.limit_price === undefined) return localReject('LIMIT_PRICE', 'a LIMIT order needs a limit price');
    const ref: OrderRef = { client_order_id: order.client_order_id, instrument_id: order.instrument_id, symbol: order.symbol };
    return this.command({ method: 'POST', path: '/api/v5/trade/order', body: orderBody(order), signed: true, instId: order.symbol }, async (reply) => {
      const reports = placeReports(reply, this.rest.venueNow());
      const first = reports[0];
      if (first.kind === 'REJECTED' && first.code === '51016') {
        // OKX already holds a pending order with this id (a re-send after no answer): it is ours.
        const held = await this.query(ref).catch(() => undefined);
        return held ? { kind: 'answered', reports: held.reports, recovered: true } : { kind: 'answered', reports };
      }
      if (first.kind === 'ACK' && isImmediate(order)) {
        // OKX's reply carries no fills: for an order that ends at once, its fills and end come with the answer.
        const done = await this.query({ ...ref, venue_order_id: first.venue_order_id }).catch(() => undefined);
        if (done) return { kind: 'answered', reports: done.reports };
      }
      return { kind: 'answered', reports };
    });
  }

  async cancel(ref: OrderRef, _ts: string): Promise<VenueAnswer> {
    return this.command({ method: 'POST', path: '/api/v5/trade/cancel-order', body: { instId: ref.symbol, ...orderKey(ref) }, signed: true, instId: ref.symbol }, (reply) => {
      const err = replyError(reply);
      const ts = okxTime(reply.data[0]?.ts, this.rest.venueNow());
      const report: VenueReport = err ? { kind: 'REJECTED', code: err.code, reason: okxReason(err.code, err.msg), ts } : { kind: 'CANCELED', reason: 'canceled by user', ts };
      return { kind: 'answered', reports: [report] };
    });
  }

  async amend(ref: OrderRef & { filled_qty: string; order: Order }, change: AmendChange, _ts: string): Promise<VenueAnswer> {
    const newSz = change.qty === undefined ? undefined : fmt(dec(change.qty));
    const newPx = change.limit_price === undefined ? undefined : fmt(dec(change.limit_price));
    // reqId names this amend, so its push can be told from another's.
    const reqId =
      'a' +
      createHash('sha256')
        .update(`${ref.client_order_id}/${newSz ?? ''}/${newPx ?? ''}`)
        .digest('hex')
        .slice(0, 31);
    const body = { instId: ref.symbol, ...orderKey(ref), reqId, ...(newSz ? { newSz } : {}), ...(newPx ? { newPx } : {}) };
    return this.command({ method: 'POST', path: '/api/v5/trade/amend-order', body, signed: true, instId: ref.symbol }, (reply) => {
      const err = replyError(reply);
      const ts = okxTime(reply.data[0]?.ts, this.rest.venueNow());
      if (err) return { kind: 'answered', reports: [{ kind: 'REJECTED', code: err.code, reason: okxReason(err.code, err.msg), ts }] };
      const limit_price = newPx ?? ref.order.limit_price;
      const amended: VenueReport = { kind: 'AMENDED', venue_order_id: reply.data[0].ordId, qty: newSz ?? fmt(dec(ref.order.qty)), ...(limit_price ? { limit_price } : {}), ts };
      return { kind: 'answered', reports: [amended] };
    });
  }

  /** Free balances (availBal: cash not frozen by open orders), 20 currencies a request as OKX allows. */
  async balances(assets: readonly string[]): Promise<Record<string, string>> {
    const free = new Map<string, Dec>();
    for (let i = 0; i < assets.length; i += 20) for (const [k, v] of await this.available(assets.slice(i, i + 20).join(','))) free.set(k, v);
    return Object.fromEntries(assets.map((a) => [a, fmt(free.get(a) ?? ZERO)]));
  }

  /** availBal by currency, of the currencies asked (up to 20, comma separated) or of every one the account holds. */
  private async available(ccy?: string): Promise<Map<string, Dec>> {
    const data = (await this.call<OkxBalance>({ method: 'GET', path: '/api/v5/account/balance', ...(ccy !== undefined ? { query: { ccy } } : {}), signed: true })).data;
    const free = new Map<string, Dec>();
    for (const d of data[0]?.details ?? []) if (isDecimalString(d.availBal)) free.set(d.ccy, dec(d.availBal));
    return free;
  }

  /** Our trades on one instrument (optionally one order) since `sinceMs`, oldest first, every page. */
  private async fills(instId: string, q: { ordId?: string; sinceMs?: number }): Promise<OkxFill[]> {
    const history = q.sinceMs !== undefined && q.sinceMs < this.rest.venueNow() - FILLS_DAYS_MS;
    const path = history ? '/api/v5/trade/fills-history' : '/api/v5/trade/fills';
    const out: OkxFill[] = [];
    let after: string | undefined;
    for (;;) {
      const query = { instType: 'SPOT', instId, ordId: q.ordId, begin: q.sinceMs === undefined ? undefined : String(q.sinceMs - 1), after, limit: String(PAGE) };
      const page = (await this.call<OkxFill>({ method: 'GET', path, query, signed: true })).data;
      out.push(...page);
      // Newest first; `after` a bill id pages to older records.
      if (page.length < PAGE) break;
      after = page[page.length - 1].billId;
    }
    const since = q.sinceMs ?? 0;
    return out.filter((f) => Number(f.fillTime) >= since).sort((a, b) => Number(a.fillTime) - Number(b.fillTime) || Number(BigInt(a.tradeId) - BigInt(b.tradeId)));
  }

  async query(ref: OrderRef): Promise<VenueOrderSnapshot | undefined> {
    let order: OkxOrder | undefined;
    try {
      order = (await this.call<OkxOrder>({ method: 'GET', path: '/api/v5/trade/order', query: { instId: ref.symbol, ...orderKey(ref) }, signed: true, instId: ref.symbol }))
        .data[0];
    } catch (e) {
      if (e instanceof OkxRefused && e.code === '51603') return undefined; // "Order does not exist"
      throw e;
    }
    if (!order) return undefined;
    const sinceMs = Number(order.cTime);
    const fills = dec(order.accFillSz || '0').gt(0) ? await this.fills(order.instId, { ordId: order.ordId, sinceMs }) : [];
    return snapshotOf(order, fills);
  }

  async openOrders(): Promise<VenueOrderSnapshot[]> {
    const orders: OkxOrder[] = [];
    let after: string | undefined;
    for (;;) {
      const page = (await this.call<OkxOrder>({ method: 'GET', path: '/api/v5/trade/orders-pending', query: { instType: 'SPOT', after, limit: String(PAGE) }, signed: true })).data;
      orders.push(...page);
      if (page.length < PAGE) break;
      after = page[page.length - 1].ordId;
    }
    const out: VenueOrderSnapshot[] = [];
    for (const o of orders) {
      const fills = dec(o.accFillSz || '0').gt(0) ? await this.fills(o.instId, { ordId: o.ordId, sinceMs: Number(o.cTime) }) : [];
      out.push(snapshotOf(o, fills));
    }
    return out;
  }

  async trades(symbols: readonly string[], sinceMs: number): Promise<VenueMessage[]> {
    const out: VenueMessage[] = [];
    for (const instId of symbols) {
      for (const f of await this.fills(instId, { sinceMs })) if (f.clOrdId) out.push({ client_order_id: f.clOrdId, report: tradeOfFill(f) });
    }
    return out;
  }

  subscribe(onReports: (m: VenueMessage[]) => void, onStatus?: (connected: boolean, reason?: string) => void): void {
    this.stream?.close();
    this.stream = openOkxUserStream({
      url: this.c.ws_url,
      credentials: this.rest.credentials,
      venueNow: () => this.rest.venueNow(),
      resyncClock: () => this.rest.syncClock(),
      onReports,
      onStatus,
    });
  }

  health(): VenueHealth {
    const backoff = this.rest.backoffUntilMs > Date.now() ? { backoff_until_ms: this.rest.backoffUntilMs } : {};
    return { connected: this.stream?.connected ?? false, ...(this.rest.halted ? { halted: this.rest.halted } : {}), rate_headroom: this.rest.limiter.headroom(), ...backoff };
  }

  resume(): void {
    this.rest.resume();
  }

  async close(): Promise<void> {
    this.stream?.close();
    this.stream = undefined;
    await this.rest.close();
  }

  toJSON(): Record<string, unknown> {
    return { venue: OKX, env: this.env, rest_url: this.c.rest_url, ws_url: this.c.ws_url };
  }
}

/** An OKX spot adapter for these keys; nothing is sent until start(). */
export function createOkxAdapter(config: OkxConfig): VenueAdapter {
  if (config.env !== 'staging' && config.env !== 'prod') throw new Error(`OKX adapter: env must be staging (demo trading) or prod, got ${JSON.stringify(config.env)}`);
  if (!config.api_key || !config.api_secret || !config.passphrase) throw new Error('OKX adapter: api_key, api_secret and passphrase are all required');
  const credentials = sealCredentials(config.api_key, config.api_secret, config.passphrase);
  const rest = new OkxRest({ url: config.rest_url, credentials, demo: config.env === 'staging', timeoutMs: config.timeout_ms, limitMultiplier: config.rate_limit_multiplier });
  return new OkxAdapter({ env: config.env, rest_url: config.rest_url, ws_url: config.ws_url }, rest);
}
