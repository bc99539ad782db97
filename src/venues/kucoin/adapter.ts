// KuCoin spot (HF orders) behind the venue seam. Orders go by client order id (clientOid); every
// TRADE report is built from the /hf/fills item of its trade, so the place reply, the stream, a
// query and trades() all give the same report for one trade (orderChange pushes carry no fee: a
// match push is answered by reading that trade from /hf/fills).
import { setTimeout as sleep } from 'node:timers/promises';
import { type Dec, dec, fmt, isDecimalString, ZERO } from '../../domain/decimal.js';
import type { Order, VenueReport } from '../../domain/events.js';
import { BoundedMap, NoAnswer, type ReconnectingStream } from '../transport.js';
import type { AmendChange, OrderRef, OrderTestAnswer, VenueAdapter, VenueAnswer, VenueHealth, VenueMessage, VenueOrderSnapshot, VenueStartup } from '../types.js';
import type { KucoinConfig } from './config.js';
import { KucoinApiError, KucoinRest, VenueHalted } from './http.js';
import {
  explainError,
  fillToTrade,
  isDuplicateClientOid,
  isOrderNotFound,
  msToIso,
  orderChange,
  orderSnapshot,
  rejected,
  streamOrderChange,
  symbolRules,
  type KucoinAccount,
  type KucoinFill,
  type KucoinOrder,
  type KucoinOrderChange,
  type KucoinSymbol,
} from './parse.js';
import { startUserStream } from './ws.js';

export const KUCOIN = 'KUCOIN';
/** KuCoin's clientOid: letters, digits, _ and -, at most 40. */
export const CLIENT_OID = /^[A-Za-z0-9_-]{1,40}$/;
const FILLS_PAGE = 100;

interface Known {
  symbol: string;
  /** Time in force of a limit order (pushes do not carry it). */
  tif?: string;
  /** Every order id the order had (an amend gives a new one), oldest first. */
  orderIds: string[];
}

const enc = encodeURIComponent;

export function createKucoinAdapter(config: KucoinConfig): VenueAdapter {
  return new KucoinAdapter(config);
}

class KucoinAdapter implements VenueAdapter {
  readonly venues = [KUCOIN] as const;
  readonly env: 'staging' | 'prod';
  private readonly rest: KucoinRest;
  private readonly known = new BoundedMap<string, Known>();
  private readonly clientOidOf = new BoundedMap<string, string>();
  private stream: ReconnectingStream | undefined;
  /** Pushes are handled one at a time, in arrival order (a match waits for its fill). */
  private pushes: Promise<void> = Promise.resolve();

  constructor(private readonly cfg: KucoinConfig) {
    this.env = cfg.env;
    this.rest = new KucoinRest(cfg);
  }

  private stamp(): string {
    return msToIso(this.rest.now());
  }

  private remember(coid: string, symbol: string, orderId?: string, tif?: string): void {
    const k = this.known.get(coid) ?? { symbol, orderIds: [] };
    if (tif !== undefined) k.tif = tif;
    if (orderId && !k.orderIds.includes(orderId)) k.orderIds.push(orderId);
    this.known.set(coid, k);
    if (orderId) this.clientOidOf.set(orderId, coid);
  }

  async start(): Promise<VenueStartup> {
    await this.rest.syncClock();
    const key = await this.rest.call<{ permission?: string }>('GET', '/api/v1/user/api-key');
    if (!key.ok) throw new Error(`KuCoin refused the API key: ${explainError(key.code, key.msg)} (HTTP ${key.status})`);
    const perms = (key.data.permission ?? '').split(',').map((p) => p.trim());
    const symbols = await this.rest.must<KucoinSymbol[]>('GET', '/api/v2/symbols', undefined, { signed: false });
    return {
      can_trade: perms.includes('Spot'),
      can_withdraw: perms.includes('Transfer') || perms.includes('Withdrawal'),
      clock_offset_ms: this.rest.offsetMs,
      instruments: symbols.filter((s) => s.enableTrading !== false).map(symbolRules),
      // What the trade account holds: the router leaves out a venue short of what an order spends.
      balances: await this.held(),
    };
  }

  /** Every asset with a free balance in the trade account (an asset not listed holds nothing). */
  private async held(): Promise<Record<string, string>> {
    const free = await this.available();
    return Object.fromEntries([...free].filter(([, v]) => v.gt(0)).map(([k, v]) => [k, fmt(v)]));
  }

  /** Available (free) balance by currency in the trade account (HF orders trade from it), of one currency or all. */
  private async available(currency?: string): Promise<Map<string, Dec>> {
    const q = new URLSearchParams({ type: 'trade' });
    if (currency !== undefined) q.set('currency', currency);
    const rows = await this.rest.must<KucoinAccount[]>('GET', `/api/v1/accounts?${q.toString()}`);
    const free = new Map<string, Dec>();
    for (const a of rows ?? []) if (a.type === 'trade' && isDecimalString(a.available)) free.set(a.currency, (free.get(a.currency) ?? ZERO).plus(dec(a.available)));
    return free;
  }

  private async answer(f: () => Promise<VenueAnswer>): Promise<VenueAnswer> {
    try {
      return await f();
    } catch (e) {
      if (e instanceof VenueHalted) return { kind: 'halted', reason: e.message, ...(e.retryAfterMs === undefined ? {} : { retry_after_ms: e.retryAfterMs }) };
      if (e instanceof NoAnswer) return { kind: 'unknown', reason: e.message };
      throw e;
    }
  }

  /** POST /api/v1/hf/orders' body for an order (a placement and an order test send the same), or why it is not sent. */
  private orderBody(order: Order): { body: Record<string, unknown> } | { code: string; reason: string } {
    const coid = order.client_order_id;
    if (!CLIENT_OID.test(coid)) return { code: 'CLIENT_OID', reason: `client order id ${JSON.stringify(coid)} is not 1-40 of [A-Za-z0-9_-]; not sent` };
    if (order.env !== this.env) return { code: 'ENV', reason: `a ${order.env} order on ${this.env} credentials; not sent` };
    const body: Record<string, unknown> = { clientOid: coid, symbol: order.symbol, side: order.side === 'BUY' ? 'buy' : 'sell', size: fmt(dec(order.qty)) };
    if (order.order_type === 'MARKET') body.type = 'market';
    else {
      if (order.limit_price === undefined) return { code: 'LIMIT_PRICE', reason: 'a LIMIT order without a limit price; not sent' };
      Object.assign(body, { type: 'limit', price: fmt(dec(order.limit_price)), timeInForce: order.tif });
    }
    return { body };
  }

  place(order: Order, _ts: string): Promise<VenueAnswer> {
    const coid = order.client_order_id;
    const built = this.orderBody(order);
    if (!('body' in built)) return Promise.resolve({ kind: 'answered', reports: [rejected(built.code, built.reason, this.stamp())] });
    const { body } = built;
    this.remember(coid, order.symbol, undefined, order.order_type === 'MARKET' ? undefined : order.tif);
    return this.answer(async () => {
      const r = await this.rest.call<{ orderId: string; clientOid: string }>('POST', '/api/v1/hf/orders', body);
      if (r.ok) {
        this.remember(coid, order.symbol, r.data.orderId);
        return { kind: 'answered', reports: [{ kind: 'ACK', venue_order_id: r.data.orderId, ts: this.stamp() }] };
      }
      if (isDuplicateClientOid(r.code, r.msg)) {
        // KuCoin never takes a clientOid twice: the order it names is this one, placed before.
        const found = await this.query({ client_order_id: coid, symbol: order.symbol, instrument_id: order.instrument_id });
        if (found) return { kind: 'answered', reports: found.reports, recovered: true };
      }
      return { kind: 'answered', reports: [rejected(r.code, r.msg, this.stamp())] };
    });
  }

  /** POST /api/v1/hf/orders/test: the placement's own body, checked by KuCoin and dropped. */
  async testOrder(order: Order, _ts: string): Promise<OrderTestAnswer> {
    const built = this.orderBody(order);
    if (!('body' in built)) return { kind: 'rejected', code: built.code, reason: built.reason };
    try {
      const r = await this.rest.call<{ orderId: string; clientOid: string }>('POST', '/api/v1/hf/orders/test', built.body);
      if (r.ok) return { kind: 'accepted' };
      // Still rate limited after the waits: no verdict on the order.
      if (r.code === '429000') return { kind: 'unknown', reason: explainError(r.code, r.msg) };
      // Refused as a placement would be: the same code and reason as its REJECTED.
      return { kind: 'rejected', code: r.code, reason: explainError(r.code, r.msg) };
    } catch (e) {
      if (e instanceof VenueHalted || e instanceof NoAnswer) return { kind: 'unknown', reason: e.message };
      throw e;
    }
  }

  /** Free balances: available, not what orders hold. */
  async balances(assets: readonly string[]): Promise<Record<string, string>> {
    const free = await this.available(assets.length === 1 ? assets[0] : undefined);
    return Object.fromEntries(assets.map((a) => [a, fmt(free.get(a) ?? ZERO)]));
  }

  cancel(ref: OrderRef, _ts: string): Promise<VenueAnswer> {
    return this.answer(async () => {
      const r = await this.rest.call<{ clientOid: string }>('DELETE', `/api/v1/hf/orders/client-order/${enc(ref.client_order_id)}?symbol=${enc(ref.symbol)}`);
      if (r.ok) return { kind: 'answered', reports: [{ kind: 'CANCELED', reason: 'canceled on request', ts: this.stamp() }] };
      return { kind: 'answered', reports: [rejected(r.code, r.msg, this.stamp())] };
    });
  }

  amend(ref: OrderRef & { filled_qty: string; order: Order }, change: AmendChange, _ts: string): Promise<VenueAnswer> {
    const body: Record<string, unknown> = { symbol: ref.symbol, clientOid: ref.client_order_id };
    if (change.qty !== undefined) body.newSize = fmt(dec(change.qty));
    if (change.limit_price !== undefined) body.newPrice = fmt(dec(change.limit_price));
    return this.answer(async () => {
      const r = await this.rest.call<{ newOrderId?: string; clientOid: string }>('POST', '/api/v1/hf/orders/alter', body);
      if (!r.ok) return { kind: 'answered', reports: [rejected(r.code, r.msg, this.stamp())] };
      const ts = this.stamp();
      if (!r.data.newOrderId) return { kind: 'answered', reports: [{ kind: 'CANCELED', reason: 'amended to no more than the filled quantity: KuCoin canceled the order', ts }] };
      this.remember(ref.client_order_id, ref.symbol, r.data.newOrderId);
      // Alter is cancel + new on KuCoin: read back what the order now is (its size includes the filled part).
      let qty = change.qty ?? ref.order.qty;
      let price = change.limit_price ?? ref.order.limit_price;
      try {
        const now = await this.getOrder(ref.client_order_id, ref.symbol);
        if (now && now.id === r.data.newOrderId) {
          qty = now.size;
          price = now.price ?? price;
        }
      } catch (e) {
        if (!(e instanceof NoAnswer)) throw e;
      }
      const report: VenueReport = { kind: 'AMENDED', venue_order_id: r.data.newOrderId, qty: fmt(dec(qty)), ts };
      if (price !== undefined) report.limit_price = fmt(dec(price));
      return { kind: 'answered', reports: [report] };
    });
  }

  private async getOrder(coid: string, symbol: string): Promise<KucoinOrder | undefined> {
    const r = await this.rest.call<KucoinOrder | null>('GET', `/api/v1/hf/orders/client-order/${enc(coid)}?symbol=${enc(symbol)}`);
    if (!r.ok) {
      if (isOrderNotFound(r.code, r.msg)) return undefined;
      throw new KucoinApiError(r.status, r.code, r.msg);
    }
    return r.data ?? undefined;
  }

  /** Every fill of one order id (KuCoin ignores paging when orderId is given, but a long list is paged anyway). */
  private async fillsOf(symbol: string, orderId: string): Promise<KucoinFill[]> {
    return this.fillPages(new URLSearchParams({ symbol, orderId, limit: String(FILLS_PAGE) }));
  }

  private async fillPages(q: URLSearchParams): Promise<KucoinFill[]> {
    const out: KucoinFill[] = [];
    const seen = new Set<string>();
    for (;;) {
      const d = await this.rest.must<{ items: KucoinFill[]; lastId?: number | string }>('GET', `/api/v1/hf/fills?${q.toString()}`);
      const fresh = d.items.filter((f) => !seen.has(String(f.id)));
      for (const f of fresh) seen.add(String(f.id));
      out.push(...fresh);
      if (d.items.length < FILLS_PAGE || fresh.length === 0 || d.lastId === undefined) return out;
      q.set('lastId', String(d.lastId));
    }
  }

  private async snapshot(o: KucoinOrder): Promise<VenueOrderSnapshot> {
    this.remember(o.clientOid, o.symbol, o.id, o.type === 'limit' ? o.timeInForce : undefined);
    const ids = this.known.get(o.clientOid)?.orderIds ?? [o.id];
    const fills: KucoinFill[] = [];
    for (const id of ids) fills.push(...(await this.fillsOf(o.symbol, id)));
    return orderSnapshot(o, fills);
  }

  async query(ref: OrderRef): Promise<VenueOrderSnapshot | undefined> {
    const o = await this.getOrder(ref.client_order_id, ref.symbol);
    return o ? this.snapshot(o) : undefined;
  }

  async openOrders(): Promise<VenueOrderSnapshot[]> {
    const { symbols } = await this.rest.must<{ symbols: string[] }>('GET', '/api/v1/hf/orders/active/symbols');
    const out: VenueOrderSnapshot[] = [];
    for (const symbol of symbols) {
      const orders = await this.rest.must<KucoinOrder[] | null>('GET', `/api/v1/hf/orders/active?symbol=${enc(symbol)}`);
      for (const o of orders ?? []) out.push(await this.snapshot(o));
    }
    return out;
  }

  async trades(symbols: readonly string[], sinceMs: number): Promise<VenueMessage[]> {
    const out: { tradeId: bigint; m: VenueMessage }[] = [];
    for (const symbol of symbols) {
      const fills = await this.fillPages(new URLSearchParams({ symbol, startAt: String(Math.trunc(sinceMs)), limit: String(FILLS_PAGE) }));
      for (const f of fills) {
        let coid = this.clientOidOf.get(f.orderId);
        if (coid === undefined) {
          // Fills name the order, not its clientOid: look the order up once.
          const o = await this.rest.must<KucoinOrder | null>('GET', `/api/v1/hf/orders/${enc(f.orderId)}?symbol=${enc(symbol)}`);
          if (!o) continue;
          coid = o.clientOid;
          this.remember(coid, symbol, f.orderId);
        }
        out.push({ tradeId: BigInt(f.tradeId), m: { client_order_id: coid, report: fillToTrade(f) } });
      }
    }
    return out.sort((a, b) => (a.tradeId < b.tradeId ? -1 : a.tradeId > b.tradeId ? 1 : 0)).map((x) => x.m);
  }

  subscribe(onReports: (m: VenueMessage[]) => void, onStatus?: (connected: boolean, reason?: string) => void): void {
    this.stream?.close();
    this.stream = startUserStream({
      rest: this.rest,
      wsUrl: this.cfg.ws_url,
      onStatus,
      onFrame: (text) => {
        const d = streamOrderChange(text);
        if (!d) return;
        this.pushes = this.pushes.then(() => this.onOrderChange(d, onReports)).catch(() => undefined);
      },
    });
  }

  private async onOrderChange(d: KucoinOrderChange, onReports: (m: VenueMessage[]) => void): Promise<void> {
    this.remember(d.clientOid, d.symbol, d.orderId);
    const meaning = orderChange(d, this.known.get(d.clientOid)?.tif);
    if (meaning.kind === 'report') onReports([meaning.message]);
    if (meaning.kind !== 'trade') return;
    // The fill may reach /hf/fills a moment after the push; if it never does, trades() finds it later.
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const fill = (await this.fillsOf(meaning.symbol, meaning.order_id)).find((f) => String(f.tradeId) === meaning.trade_id);
        if (fill) {
          onReports([{ client_order_id: meaning.client_order_id, report: fillToTrade(fill) }]);
          return;
        }
      } catch (e) {
        if (e instanceof VenueHalted) return;
      }
      await sleep(100 * 3 ** attempt);
    }
  }

  health(): VenueHealth {
    const h: VenueHealth = { connected: this.stream?.connected ?? false, rate_headroom: this.rest.headroom() };
    if (this.rest.halted) h.halted = this.rest.halted;
    if (this.rest.backoffUntil > Date.now()) h.backoff_until_ms = this.rest.backoffUntil;
    return h;
  }

  resume(): void {
    this.rest.resume();
  }

  async close(): Promise<void> {
    this.stream?.close();
    this.stream = undefined;
    await this.pushes;
    await this.rest.close();
  }
}
