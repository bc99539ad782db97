// The exchange behind every venue emulator: orders by client and venue id, matching against the
// market's book at the current time, resting orders that a counterparty fills on request, one
// account's balances (free and locked by resting orders, moved by every trade and its fee), and a
// count of every placement request received. Venue fronts (binance/okx/kucoin emulators) put their
// own wire protocol, ids, error codes and duplicate-id rule on top of it.
import type { Side } from '../../domain/intent.js';
import { type Dec, dec, floorTo, fmt, isDecimalString, isMultipleOf, ZERO } from '../../domain/decimal.js';
import type { Book, InstrumentSpec, MarketData } from '../../market/types.js';

export type EmulatedStatus = 'NEW' | 'PARTIALLY_FILLED' | 'FILLED' | 'CANCELED' | 'EXPIRED';
export type EmulatedType = 'MARKET' | 'LIMIT' | 'LIMIT_MAKER';
export type EmulatedTif = 'GTC' | 'IOC' | 'FOK';

export interface EmulatedTrade {
  trade_id: number;
  qty: Dec;
  price: Dec;
  fee: Dec;
  fee_ccy: string;
  maker: boolean;
  ts_ms: number;
}

export interface EmulatedOrder {
  /** Exchange-wide sequence: the venue front formats its own order id from it. */
  seq: number;
  client_order_id: string;
  symbol: string;
  spec: InstrumentSpec;
  side: Side;
  type: EmulatedType;
  tif: EmulatedTif;
  /** Base quantity asked (for a market buy by funds: what the funds bought). */
  qty: Dec;
  price?: Dec;
  /** Market buy sized in quote (Binance quoteOrderQty, KuCoin funds). */
  funds?: Dec;
  filled: Dec;
  /** Σ qty × price of the trades. */
  filled_quote: Dec;
  status: EmulatedStatus;
  /** Why a terminal status was reached (IOC remainder, FOK, no liquidity, canceled by user). */
  reason?: string;
  created_ms: number;
  updated_ms: number;
  trades: EmulatedTrade[];
  /** Times the order was amended (OKX/KuCoin native amend). */
  amendments: number;
  /** What the order holds locked while it rests: quote for a buy, base for a sell (zero once closed). */
  locked: Dec;
}

/** One asset of the account: free to spend, and locked by resting orders. */
export interface Holding {
  free: Dec;
  locked: Dec;
}

/** What happened to an order, for the venue's user-data stream. */
export interface ExchangeEvent {
  kind: 'NEW' | 'TRADE' | 'CANCELED' | 'EXPIRED' | 'AMENDED';
  order: EmulatedOrder;
  trade?: EmulatedTrade;
}

export interface PlaceRequest {
  client_order_id: string;
  symbol: string;
  side: Side;
  type: EmulatedType;
  tif: EmulatedTif;
  /** Decimal strings as received: validated here. */
  qty?: string;
  price?: string;
  funds?: string;
}

/** Why a request was refused, in the exchange's own terms; fronts map these to venue codes. */
export type RefusalCode =
  | 'UNKNOWN_SYMBOL'
  | 'BAD_QTY'
  | 'LOT_SIZE'
  | 'PRICE_FILTER'
  | 'MIN_NOTIONAL'
  | 'DUPLICATE_CLIENT_ID'
  | 'UNKNOWN_ORDER'
  | 'ORDER_CLOSED'
  | 'WOULD_TAKE'
  | 'NO_MARKET_DATA'
  | 'INSUFFICIENT_BALANCE';

export class Refusal extends Error {
  constructor(
    readonly code: RefusalCode,
    message: string,
    /** The asset the account is short of (INSUFFICIENT_BALANCE): OKX names it in its message. */
    readonly asset?: string,
  ) {
    super(message);
    this.name = 'Refusal';
  }
}

/**
 * When a client order id may be used again:
 * - 'while-open': refused while an order with it is open, accepted once that order is closed (Binance);
 * - 'never': refused whenever any order ever had it (KuCoin's clientOid, OKX's clOrdId as the emulators apply them).
 */
export type ClientIdRule = 'while-open' | 'never';

export interface ExchangeOptions {
  venue: string;
  market: MarketData;
  clientIdRule: ClientIdRule;
  /** The venue's clock (epoch ms); the emulator's skew switch moves it. */
  now?: () => number;
  /** The account's free balances at start, by asset (decimal strings); default: startingBalances(). */
  balances?: Record<string, string>;
  /** Where fees are charged: in what the order receives (default), or always in the quote currency (KuCoin). */
  feeIn?: 'received' | 'quote';
  /** Fees rounded (half-even) to this many decimals, as the venue books them (Binance: 8); default exact. */
  feeDecimals?: number;
  /** How long a trade's balance changes stay out of balances(), ms (the balance_lag_ms switch); default none. */
  balanceLagMs?: () => number;
}

/** Funding of an account nobody configured: generous, so only a test that means to runs short. */
export const DEFAULT_QUOTE_FUNDING = '10000000';
export const DEFAULT_BASE_FUNDING = '100000';

/** Each quote asset of the instruments 10,000,000, each base 100,000 (an asset that is both: the larger). */
export function startingBalances(instruments: readonly InstrumentSpec[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const s of instruments) out[s.base] ??= DEFAULT_BASE_FUNDING;
  for (const s of instruments) out[s.quote] = DEFAULT_QUOTE_FUNDING;
  return out;
}

/** What an order needs to be free on the account at placement. */
interface Need {
  asset: string;
  amount: Dec;
}

/** A placement request checked against the rules and the book: what it would do, nothing done yet. */
interface Checked {
  spec: InstrumentSpec;
  levels: Book['asks'];
  price?: Dec;
  qty?: Dec;
  funds?: Dec;
}

/** Balance changes of one trade, kept out of the balance view until `visible_ms` (balance_lag_ms). */
interface LaggedChange {
  visible_ms: number;
  changes: Map<string, Holding>;
}

const TERMINAL: ReadonlySet<EmulatedStatus> = new Set(['FILLED', 'CANCELED', 'EXPIRED']);
export const isClosed = (o: EmulatedOrder): boolean => TERMINAL.has(o.status);

function positive(s: string | undefined, what: string): Dec {
  if (typeof s !== 'string' || !isDecimalString(s)) throw new Refusal('BAD_QTY', `${what} must be a positive decimal, got ${JSON.stringify(s)}`);
  const d = dec(s);
  if (d.coef <= 0n) throw new Refusal('BAD_QTY', `${what} must be positive, got ${s}`);
  return d;
}

export class EmulatedExchange {
  readonly venue: string;
  private readonly market: MarketData;
  private readonly rule: ClientIdRule;
  private readonly clock: () => number;
  private seq = 0;
  private tradeSeq = 0;
  private readonly bySeq = new Map<number, EmulatedOrder>();
  /** The newest order per client order id (an id reused after close points at the newer one). */
  private readonly byClientId = new Map<string, EmulatedOrder>();
  private readonly listeners: ((e: ExchangeEvent) => void)[] = [];
  /** Every placement request received, per client order id, accepted or not: tests count re-sends with it. */
  readonly placementRequests = new Map<string, number>();
  /** Orders actually created per client order id. */
  readonly placements = new Map<string, number>();
  /** Order tests (validated like a placement, never placed) per client order id. */
  readonly orderTests = new Map<string, number>();
  private readonly holdings = new Map<string, Holding>();
  private readonly feeIn: 'received' | 'quote';
  private readonly feeDecimals: number | undefined;
  private readonly lagMs: () => number;
  private lagged: LaggedChange[] = [];

  constructor(o: ExchangeOptions) {
    this.venue = o.venue;
    this.market = o.market;
    this.rule = o.clientIdRule;
    this.clock = o.now ?? Date.now;
    this.feeIn = o.feeIn ?? 'received';
    this.feeDecimals = o.feeDecimals;
    this.lagMs = o.balanceLagMs ?? (() => 0);
    for (const [asset, amount] of Object.entries(o.balances ?? startingBalances(this.instruments()))) this.setBalance(asset, amount);
  }

  now(): number {
    return this.clock();
  }

  instruments(): InstrumentSpec[] {
    return this.market.instruments().filter((s) => s.venue === this.venue);
  }

  spec(symbol: string): InstrumentSpec | undefined {
    return this.market.instrument(`${this.venue}:${symbol}`);
  }

  book(symbol: string): Book | undefined {
    return this.market.bookAt(`${this.venue}:${symbol}`, this.clock() * 1000);
  }

  onEvent(listener: (e: ExchangeEvent) => void): () => void {
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  private emit(e: ExchangeEvent): void {
    for (const l of this.listeners.slice()) l(e);
  }

  /** By client order id (the newest with that id) or by sequence. */
  get(ref: { client_order_id?: string; seq?: number }): EmulatedOrder | undefined {
    if (ref.seq !== undefined) return this.bySeq.get(ref.seq);
    return ref.client_order_id === undefined ? undefined : this.byClientId.get(ref.client_order_id);
  }

  open(symbol?: string): EmulatedOrder[] {
    return [...this.bySeq.values()].filter((o) => !isClosed(o) && (symbol === undefined || o.symbol === symbol));
  }

  orders(): EmulatedOrder[] {
    return [...this.bySeq.values()];
  }

  /** Trades of this venue's orders on `symbol` (every symbol when undefined) from `sinceMs`. */
  trades(symbol: string | undefined, sinceMs = 0): { order: EmulatedOrder; trade: EmulatedTrade }[] {
    const out: { order: EmulatedOrder; trade: EmulatedTrade }[] = [];
    for (const o of this.bySeq.values()) {
      if (symbol !== undefined && o.symbol !== symbol) continue;
      for (const t of o.trades) if (t.ts_ms >= sinceMs) out.push({ order: o, trade: t });
    }
    return out.sort((a, b) => a.trade.trade_id - b.trade.trade_id);
  }

  /**
   * Place an order: validated against the symbol's rules and the account's free balance, matched as
   * taker against the book at now, the remainder resting (LIMIT GTC, LIMIT_MAKER) with what it may
   * spend locked, canceled (IOC) or expired (MARKET, FOK). Throws a Refusal for anything the venue
   * would refuse; nothing is created then.
   */
  place(req: PlaceRequest): EmulatedOrder {
    this.placementRequests.set(req.client_order_id, (this.placementRequests.get(req.client_order_id) ?? 0) + 1);
    const prior = this.byClientId.get(req.client_order_id);
    if (prior && (this.rule === 'never' || !isClosed(prior))) {
      throw new Refusal('DUPLICATE_CLIENT_ID', `client order id ${req.client_order_id} is ${isClosed(prior) ? 'already used' : 'already in use by an open order'}`);
    }
    const c = this.check(req);
    const now = this.clock();
    const order: EmulatedOrder = {
      seq: ++this.seq,
      client_order_id: req.client_order_id,
      symbol: req.symbol,
      spec: c.spec,
      side: req.side,
      type: req.type,
      tif: req.type === 'MARKET' ? (req.tif === 'FOK' ? 'FOK' : 'IOC') : req.type === 'LIMIT_MAKER' ? 'GTC' : req.tif,
      qty: c.qty ?? ZERO,
      price: c.price,
      funds: c.funds,
      filled: ZERO,
      filled_quote: ZERO,
      status: 'NEW',
      created_ms: now,
      updated_ms: now,
      trades: [],
      amendments: 0,
      locked: ZERO,
    };
    this.bySeq.set(order.seq, order);
    this.byClientId.set(order.client_order_id, order);
    this.placements.set(order.client_order_id, (this.placements.get(order.client_order_id) ?? 0) + 1);
    this.emit({ kind: 'NEW', order });
    if (req.type !== 'LIMIT_MAKER') this.take(order, c.levels, now);
    // What rests locks what it may still spend.
    this.relock(order);
    return order;
  }

  /**
   * An order test: checked exactly as a placement (rules, book, balance), nothing created, no
   * balance touched. The client order id is not checked against existing orders: only placing does.
   */
  test(req: PlaceRequest): void {
    this.orderTests.set(req.client_order_id, (this.orderTests.get(req.client_order_id) ?? 0) + 1);
    this.check(req);
  }

  /** A placement request against the symbol's rules, the book and the account's free balance; throws a Refusal. */
  private check(req: PlaceRequest): Checked {
    const spec = this.spec(req.symbol);
    if (!spec) throw new Refusal('UNKNOWN_SYMBOL', `unknown symbol ${req.symbol}`);
    const book = this.book(req.symbol);
    if (!book) throw new Refusal('NO_MARKET_DATA', `no book for ${req.symbol}`);
    const price = req.type === 'MARKET' ? undefined : positive(req.price, 'price');
    if (price && !isMultipleOf(price, dec(spec.tick_size))) throw new Refusal('PRICE_FILTER', `price ${req.price} is not a multiple of tick size ${spec.tick_size}`);
    let qty: Dec | undefined;
    let funds: Dec | undefined;
    if (req.funds !== undefined && req.type === 'MARKET') funds = positive(req.funds, 'funds');
    else {
      qty = positive(req.qty, 'quantity');
      if (qty.lt(dec(spec.min_qty))) throw new Refusal('LOT_SIZE', `quantity ${req.qty} is below the minimum ${spec.min_qty}`);
      if (qty.gt(dec(spec.max_qty))) throw new Refusal('LOT_SIZE', `quantity ${req.qty} is above the maximum ${spec.max_qty}`);
      if (!isMultipleOf(qty, dec(spec.lot_size))) throw new Refusal('LOT_SIZE', `quantity ${req.qty} is not a multiple of the step ${spec.lot_size}`);
    }
    const levels = req.side === 'BUY' ? book.asks : book.bids;
    const checkPrice = price ?? levels[0]?.price;
    const notional = funds ?? (qty && checkPrice ? qty.times(checkPrice) : undefined);
    if (notional && notional.lt(dec(spec.min_notional))) throw new Refusal('MIN_NOTIONAL', `notional ${fmt(notional)} is below the minimum ${spec.min_notional}`);
    if (req.type === 'LIMIT_MAKER' && price && levels[0] && (req.side === 'BUY' ? price.gte(levels[0].price) : price.lte(levels[0].price))) {
      throw new Refusal('WOULD_TAKE', `LIMIT_MAKER order would immediately match and take`);
    }
    const checked: Checked = { spec, levels, price, qty, funds };
    const need = this.need(req, checked);
    const free = this.holding(need.asset).free;
    if (need.amount.gt(free)) {
      throw new Refusal('INSUFFICIENT_BALANCE', `insufficient ${need.asset}: the order needs ${fmt(need.amount)}, ${fmt(free)} is free`, need.asset);
    }
    return checked;
  }

  /**
   * What an order may spend: a limit buy its quantity at its price, a market buy its funds or the
   * cost of walking the book, a sell its base quantity. Where fees are charged in quote (KuCoin), a
   * buy also needs the fee at the instrument's higher rate.
   */
  private need(req: PlaceRequest, c: Checked): Need {
    if (req.side === 'SELL') {
      const qty = c.qty ?? planTake({ side: 'SELL', funds: c.funds }, c.levels, dec(c.spec.lot_size)).fills.reduce((a, f) => a.plus(f.qty), ZERO);
      return { asset: c.spec.base, amount: qty };
    }
    let cost: Dec;
    if (c.price && c.qty) cost = c.qty.times(c.price);
    else if (c.funds) cost = c.funds;
    else cost = planTake({ side: 'BUY', qty: c.qty }, c.levels, dec(c.spec.lot_size)).fills.reduce((a, f) => a.plus(f.qty.times(f.price)), ZERO);
    return { asset: c.spec.quote, amount: cost.plus(cost.times(this.quoteFeeRate(c.spec))) };
  }

  /** The fee rate a buy must hold back in quote: none unless fees are charged in quote. */
  private quoteFeeRate(spec: InstrumentSpec): Dec {
    if (this.feeIn !== 'quote') return ZERO;
    const maker = dec(spec.maker_fee);
    const taker = dec(spec.taker_fee);
    return maker.gt(taker) ? maker : taker;
  }

  /** What an order should hold locked now: a resting buy its remainder at its price (and quote fee), a resting sell its remainder. */
  private lockFor(order: EmulatedOrder): Dec {
    if (isClosed(order) || order.type === 'MARKET' || !order.price) return ZERO;
    const left = order.qty.minus(order.filled);
    if (left.coef <= 0n) return ZERO;
    if (order.side === 'SELL') return left;
    const cost = left.times(order.price);
    return cost.plus(cost.times(this.quoteFeeRate(order.spec)));
  }

  private lockAsset(order: EmulatedOrder): string {
    return order.side === 'BUY' ? order.spec.quote : order.spec.base;
  }

  /** Move the order's lock to what it should hold now (free <-> locked), recording into `changes` when given. */
  private relock(order: EmulatedOrder, changes?: Map<string, Holding>): void {
    const want = this.lockFor(order);
    const delta = want.minus(order.locked);
    if (delta.coef === 0n) return;
    this.move(this.lockAsset(order), ZERO.minus(delta), delta, changes);
    order.locked = want;
  }

  private holding(asset: string): Holding {
    let h = this.holdings.get(asset);
    if (!h) this.holdings.set(asset, (h = { free: ZERO, locked: ZERO }));
    return h;
  }

  private move(asset: string, free: Dec, locked: Dec, changes?: Map<string, Holding>): void {
    const h = this.holding(asset);
    h.free = h.free.plus(free);
    h.locked = h.locked.plus(locked);
    if (!changes) return;
    const c = changes.get(asset) ?? { free: ZERO, locked: ZERO };
    changes.set(asset, { free: c.free.plus(free), locked: c.locked.plus(locked) });
  }

  /** Set an asset's free balance (a deposit or withdrawal by the account holder); locked is untouched. */
  setBalance(asset: string, amount: string): void {
    if (typeof amount !== 'string' || !isDecimalString(amount) || dec(amount).coef < 0n)
      throw new Error(`balance of ${asset} must be a non-negative decimal, got ${JSON.stringify(amount)}`);
    this.holding(asset).free = dec(amount);
  }

  /** The account as the matching engine knows it: every trade in, by asset. */
  holdingsNow(): Map<string, Holding> {
    return new Map([...this.holdings].map(([a, h]) => [a, { ...h }]));
  }

  /**
   * The account as the venue's balance endpoints show it: the matching engine's, less the changes
   * of trades made within the last balance_lag_ms (a venue whose balances lag its fill reports).
   */
  balances(): Map<string, Holding> {
    const out = this.holdingsNow();
    const now = Date.now();
    this.lagged = this.lagged.filter((l) => l.visible_ms > now);
    for (const l of this.lagged) {
      for (const [asset, c] of l.changes) {
        const h = out.get(asset) ?? { free: ZERO, locked: ZERO };
        out.set(asset, { free: h.free.minus(c.free), locked: h.locked.minus(c.locked) });
      }
    }
    return out;
  }

  /** Taker matching against the snapshot's levels, then the remainder per time in force. */
  private take(order: EmulatedOrder, levels: Book['asks'], now: number): void {
    const { fills, complete } = planTake(order, levels, dec(order.spec.lot_size));
    if (order.funds) order.qty = fills.reduce((a, f) => a.plus(f.qty), ZERO);
    if (order.tif === 'FOK' && !complete) {
      this.close(order, 'EXPIRED', 'FOK: not fully fillable', now);
      return;
    }
    for (const f of fills) this.trade(order, f.qty, f.price, false, now);
    if (isClosed(order)) return;
    if (order.type === 'MARKET') this.close(order, 'EXPIRED', fills.length === 0 ? 'no liquidity' : 'insufficient liquidity', now);
    else if (order.tif === 'IOC') this.close(order, 'EXPIRED', 'IOC: unfilled remainder expired', now);
  }

  /** Record a trade on an order; FILLED when it completes the quantity. */
  private trade(order: EmulatedOrder, qty: Dec, price: Dec, maker: boolean, now: number): EmulatedTrade {
    const rate = dec(maker ? order.spec.maker_fee : order.spec.taker_fee);
    const { base, quote } = order.spec;
    const cost = qty.times(price);
    // Fees are charged in what the order receives (base for a buy, quote for a sell), or in quote where the venue says so.
    const inQuote = this.feeIn === 'quote' || order.side === 'SELL';
    const exact = inQuote ? cost.times(rate) : qty.times(rate);
    const fee = this.feeDecimals === undefined ? exact : exact.round(this.feeDecimals);
    const trade: EmulatedTrade = {
      trade_id: ++this.tradeSeq,
      qty,
      price,
      fee,
      fee_ccy: inQuote ? quote : base,
      maker,
      ts_ms: now,
    };
    order.trades.push(trade);
    order.filled = order.filled.plus(qty);
    order.filled_quote = order.filled_quote.plus(cost);
    order.updated_ms = now;
    order.status = order.filled.gte(order.qty) && order.qty.coef > 0n ? 'FILLED' : 'PARTIALLY_FILLED';
    this.settle(order, trade);
    this.emit({ kind: 'TRADE', order, trade });
    return trade;
  }

  /** A trade's balance changes: the base and quote it moves, its fee, and the lock it frees on a resting order. */
  private settle(order: EmulatedOrder, t: EmulatedTrade): void {
    const lag = this.lagMs();
    const changes = lag > 0 ? new Map<string, Holding>() : undefined;
    const cost = t.qty.times(t.price);
    const buy = order.side === 'BUY';
    this.move(order.spec.base, buy ? t.qty : ZERO.minus(t.qty), ZERO, changes);
    this.move(order.spec.quote, buy ? ZERO.minus(cost) : cost, ZERO, changes);
    this.move(t.fee_ccy, ZERO.minus(t.fee), ZERO, changes);
    // An order still being matched at placement locks nothing yet (place() locks what rests after).
    if (order.locked.coef > 0n) this.relock(order, changes);
    if (!changes) return;
    const now = Date.now();
    this.lagged = this.lagged.filter((l) => l.visible_ms > now);
    this.lagged.push({ visible_ms: now + lag, changes });
  }

  private close(order: EmulatedOrder, status: 'CANCELED' | 'EXPIRED', reason: string, now: number): void {
    order.status = status;
    order.reason = reason;
    order.updated_ms = now;
    this.relock(order);
    this.emit({ kind: status, order });
  }

  /** Cancel an open order. */
  cancel(ref: { client_order_id?: string; seq?: number }): EmulatedOrder {
    const order = this.get(ref);
    if (!order) throw new Refusal('UNKNOWN_ORDER', 'order does not exist');
    if (isClosed(order)) throw new Refusal('ORDER_CLOSED', `order is already ${order.status}`);
    this.close(order, 'CANCELED', 'canceled by user', this.clock());
    return order;
  }

  /**
   * Amend an open limit order in place: a new total quantity (filled part included) and/or price.
   * A quantity not above what is already filled is refused, as the venues do.
   */
  amend(ref: { client_order_id?: string; seq?: number }, change: { qty?: string; price?: string }): EmulatedOrder {
    const order = this.get(ref);
    if (!order) throw new Refusal('UNKNOWN_ORDER', 'order does not exist');
    if (isClosed(order)) throw new Refusal('ORDER_CLOSED', `order is already ${order.status}`);
    const qty = change.qty === undefined ? order.qty : positive(change.qty, 'new quantity');
    const price = change.price === undefined ? order.price : positive(change.price, 'new price');
    if (qty.lte(order.filled)) throw new Refusal('LOT_SIZE', `new quantity ${fmt(qty)} is not above the filled ${fmt(order.filled)}`);
    if (!isMultipleOf(qty, dec(order.spec.lot_size))) throw new Refusal('LOT_SIZE', `quantity ${fmt(qty)} is not a multiple of the step ${order.spec.lot_size}`);
    if (price && !isMultipleOf(price, dec(order.spec.tick_size))) throw new Refusal('PRICE_FILTER', `price ${fmt(price)} is not a multiple of tick size ${order.spec.tick_size}`);
    const before = { qty: order.qty, price: order.price };
    Object.assign(order, { qty, price });
    // A larger or dearer order locks more: refused, unchanged, when the account cannot pay for it.
    const more = this.lockFor(order).minus(order.locked);
    const free = this.holding(this.lockAsset(order)).free;
    if (more.gt(free)) {
      Object.assign(order, before);
      const asset = this.lockAsset(order);
      throw new Refusal('INSUFFICIENT_BALANCE', `insufficient ${asset}: the amended order needs ${fmt(more)} more, ${fmt(free)} is free`, asset);
    }
    this.relock(order);
    order.amendments++;
    order.updated_ms = this.clock();
    this.emit({ kind: 'AMENDED', order });
    return order;
  }

  /**
   * A counterparty trades against a resting order (emulator admin): `qty` (default: all that is
   * left) at the order's limit price, as maker.
   */
  fillResting(ref: { client_order_id?: string; seq?: number }, qty?: string): EmulatedTrade {
    const order = this.get(ref);
    if (!order) throw new Refusal('UNKNOWN_ORDER', 'order does not exist');
    if (isClosed(order)) throw new Refusal('ORDER_CLOSED', `order is already ${order.status}`);
    if (!order.price) throw new Refusal('PRICE_FILTER', 'only a resting limit order can be filled by a counterparty');
    const left = order.qty.minus(order.filled);
    const q = qty === undefined ? left : positive(qty, 'fill quantity');
    if (q.gt(left)) throw new Refusal('LOT_SIZE', `fill ${fmt(q)} is more than the ${fmt(left)} left`);
    return this.trade(order, q, order.price, true, this.clock());
  }
}

/** Floor to the lot grid (quantities from a division may be off it). */
const floorGrid = (x: Dec, step: Dec): Dec => (isMultipleOf(x, step) ? x : floorTo(x, step));

/**
 * The fills a taker order would get from the levels (best first), on the lot grid: up to its limit
 * price, its quantity or (a market order by funds) as much as the funds pay for. Pure.
 */
function planTake(o: { side: Side; price?: Dec; qty?: Dec; funds?: Dec }, levels: Book['asks'], lot: Dec): { fills: { qty: Dec; price: Dec }[]; complete: boolean } {
  const fills: { qty: Dec; price: Dec }[] = [];
  let remaining = o.funds ? undefined : (o.qty ?? ZERO);
  let funds = o.funds;
  for (const level of levels) {
    if (o.price && (o.side === 'BUY' ? level.price.gt(o.price) : level.price.lt(o.price))) break;
    let q: Dec;
    if (funds) {
      // Buy by funds: as much of the level as the funds pay for, on the lot grid.
      const affordable = funds.div(level.price);
      q = affordable.lt(level.qty) ? floorGrid(affordable, lot) : level.qty;
    } else q = level.qty.lt(remaining!) ? level.qty : remaining!;
    q = floorGrid(q, lot);
    if (q.coef <= 0n) break;
    fills.push({ qty: q, price: level.price });
    if (funds) {
      funds = funds.minus(q.times(level.price));
      if (q.lt(level.qty)) break;
    } else {
      remaining = remaining!.minus(q);
      if (remaining.coef === 0n) break;
    }
  }
  return { fills, complete: o.funds ? fills.length > 0 : remaining!.coef === 0n };
}
