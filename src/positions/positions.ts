// Positions and PnL from fills, by average cost, in exact decimals. Pure folds over the log.
//
// Accounting: each position keeps its signed open quantity and the signed quote cost of that
// open quantity (cost_basis). avg_cost = cost_basis / qty. Closing part of a position removes
// the matching share of the cost basis and realizes the difference with the fill price, so
//   realized_pnl + unrealized(mark) = Σ −side × qty × price + qty × mark   (exactly, before fees).
// realized_pnl is gross; fees in the quote currency are kept apart in `fees`, and
// net_realized_pnl = realized_pnl − fees. Fees in any other currency (e.g. base, BNB) go to
// other_fees unconverted; base fees do not change qty (the venue balance, not the fill, owns that).
import { dec, fmt, ZERO, type Dec } from '../domain/decimal.js';
import type { InPlaceDecider } from '../domain/decider.js';
import type { Event, OrderStatusFact } from '../domain/events.js';
import type { Side } from '../domain/intent.js';
import { BUILTIN_INSTRUMENTS } from '../market/instruments.js';

export interface Position {
  account: string;
  instrument_id: string;
  base: string;
  quote: string;
  /** Signed base quantity: + long, − short. */
  qty: string;
  /** Quote per base of the open quantity; "0" when flat. */
  avg_cost: string;
  /** Signed quote cost of the open quantity (qty × avg_cost, kept exact). */
  cost_basis: string;
  /** Gross realized PnL in quote, before fees. */
  realized_pnl: string;
  /** Fees paid in the quote currency (negative values are rebates). */
  fees: string;
  /** realized_pnl − fees. */
  net_realized_pnl: string;
  /** Fees in other currencies, unconverted. */
  other_fees: Record<string, string>;
  buy_qty: string;
  sell_qty: string;
  /** Σ qty × price, in quote. */
  turnover: string;
  fills: number;
}

export interface FillInput {
  side: Side;
  qty: string | Dec;
  price: string | Dec;
  fee: string | Dec;
  fee_ccy: string;
}

export interface PositionMeta {
  account: string;
  instrument_id: string;
  base: string;
  quote: string;
}

function own<T>(rec: Record<string, T>, key: string): T | undefined {
  return Object.hasOwn(rec, key) ? rec[key] : undefined;
}

/**
 * A position as the fold keeps it: exact decimals, updated in place. Reading it (getPosition,
 * listPositions) turns it into a Position; the average cost is only divided out then.
 */
export interface PositionAcc {
  meta: PositionMeta;
  qty: Dec;
  cost: Dec;
  realized: Dec;
  fees: Dec;
  other: Record<string, Dec>;
  buy: Dec;
  sell: Dec;
  turnover: Dec;
  fills: number;
}

function emptyAcc(meta: PositionMeta): PositionAcc {
  return { meta, qty: ZERO, cost: ZERO, realized: ZERO, fees: ZERO, other: {}, buy: ZERO, sell: ZERO, turnover: ZERO, fills: 0 };
}

function toAcc(p: Position): PositionAcc {
  const other: Record<string, Dec> = {};
  for (const [ccy, amt] of Object.entries(p.other_fees)) put(other, ccy, dec(amt));
  return {
    meta: { account: p.account, instrument_id: p.instrument_id, base: p.base, quote: p.quote },
    qty: dec(p.qty),
    cost: dec(p.cost_basis),
    realized: dec(p.realized_pnl),
    fees: dec(p.fees),
    other,
    buy: dec(p.buy_qty),
    sell: dec(p.sell_qty),
    turnover: dec(p.turnover),
    fills: p.fills,
  };
}

function fromAcc(a: PositionAcc): Position {
  const other: Record<string, string> = {};
  for (const [ccy, amt] of Object.entries(a.other)) put(other, ccy, fmt(amt));
  return {
    ...a.meta,
    qty: fmt(a.qty),
    avg_cost: a.qty.eq(0) ? '0' : fmt(a.cost.div(a.qty)),
    cost_basis: fmt(a.cost),
    realized_pnl: fmt(a.realized),
    fees: fmt(a.fees),
    net_realized_pnl: fmt(a.realized.minus(a.fees)),
    other_fees: other,
    buy_qty: fmt(a.buy),
    sell_qty: fmt(a.sell),
    turnover: fmt(a.turnover),
    fills: a.fills,
  };
}

/**
 * Apply one fill by average cost to an accumulator, in place. Signs are applied by choosing plus
 * or minus, sign tests read the coefficient and the fill's notional is computed once: replay
 * spends a good part of its time here.
 */
function applyFillAcc(a: PositionAcc, side: Side, amount: Dec, price: Dec, fee: Dec, feeCcy: string): void {
  const buy = side === 'BUY';
  const notional = amount.times(price);
  let qty = a.qty;
  let cost = a.cost;
  let opening = amount;
  if (qty.coef !== 0n && qty.coef > 0n !== buy) {
    // Reducing: close up to the open quantity against its share of the cost basis.
    const open = qty.abs();
    const closed = amount.lt(open) ? amount : open;
    const removed = closed === open ? cost : cost.times(closed).div(open);
    const proceeds = closed === amount ? notional : closed.times(price);
    a.realized = (buy ? a.realized.minus(proceeds) : a.realized.plus(proceeds)).minus(removed);
    qty = buy ? qty.plus(closed) : qty.minus(closed);
    cost = cost.minus(removed);
    opening = amount.minus(closed);
  }
  if (opening.coef > 0n) {
    // Adding (or the remainder after crossing zero) opens at the fill price.
    const openCost = opening === amount ? notional : opening.times(price);
    qty = buy ? qty.plus(opening) : qty.minus(opening);
    cost = buy ? cost.plus(openCost) : cost.minus(openCost);
  }
  a.qty = qty;
  a.cost = qty.coef === 0n ? ZERO : cost;
  if (feeCcy === a.meta.quote) a.fees = a.fees.plus(fee);
  else put(a.other, feeCcy, (own(a.other, feeCcy) ?? ZERO).plus(fee));
  if (buy) a.buy = a.buy.plus(amount);
  else a.sell = a.sell.plus(amount);
  a.turnover = a.turnover.plus(notional);
  a.fills++;
}

/** Apply one fill by average cost. `meta` names the position when `pos` is undefined. */
export function applyFill(pos: Position | undefined, fill: FillInput, meta: PositionMeta): Position {
  const a = pos ? toAcc(pos) : emptyAcc(meta);
  applyFillAcc(a, fill.side, dec(fill.qty), dec(fill.price), dec(fill.fee), fill.fee_ccy);
  return fromAcc(a);
}

/** (mark − avg_cost) × qty, computed as qty × mark − cost_basis so it stays exact. */
export function unrealizedPnl(pos: Position, mark: Dec): Dec {
  return dec(pos.qty).times(mark).minus(dec(pos.cost_basis));
}

// ---- the book: a fold over OrderRouted and OrderFilled events ---------------------------

/** What the fold must remember of a routed order to place its fills. */
export interface OrderRoute {
  account: string;
  instrument_id: string;
  side: Side;
  base: string;
  quote: string;
  /** Last cumulative qty applied: a re-delivered OrderFilled (cum_qty not above it) is skipped. */
  cum_qty: Dec;
}

export interface PositionBook {
  /** account → instrument_id → position accumulator (read them with getPosition / listPositions). */
  positions: Map<string, Map<string, PositionAcc>>;
  /** client_order_id → route, for orders still open (dropped once the order is terminal). */
  orders: Map<string, OrderRoute>;
  /** OrderFilled events whose order was unknown, finished, or already applied. */
  skipped_fills: number;
}

export function emptyBook(): PositionBook {
  return { positions: new Map(), orders: new Map(), skipped_fills: 0 };
}

/** base/quote of an instrument, e.g. MarketData.instrument. */
export type InstrumentResolver = (instrumentId: string) => { base: string; quote: string } | undefined;

const KNOWN_QUOTES = ['USDT', 'USDC', 'FDUSD', 'BUSD', 'USD', 'EUR', 'BTC', 'ETH', 'BNB'];

/** Built-in registry first, then the symbol's own shape (BTC-USDT, BTC/USDT, BTCUSDT). */
const builtinById = new Map(BUILTIN_INSTRUMENTS.map((i) => [i.instrument_id, i]));

export const builtinResolver: InstrumentResolver = (instrumentId) => {
  const spec = builtinById.get(instrumentId);
  if (spec) return { base: spec.base, quote: spec.quote };
  const symbol = instrumentId.includes(':') ? instrumentId.slice(instrumentId.indexOf(':') + 1) : instrumentId;
  const parts = symbol.split(/[-/_]/);
  if (parts.length === 2 && parts[0] && parts[1]) return { base: parts[0].toUpperCase(), quote: parts[1].toUpperCase() };
  const up = symbol.toUpperCase();
  const q = KNOWN_QUOTES.find((k) => up.endsWith(k) && up.length > k.length);
  return q ? { base: up.slice(0, -q.length), quote: q } : undefined;
};

export function getPosition(book: PositionBook, account: string, instrumentId: string): Position | undefined {
  const a = book.positions.get(account)?.get(instrumentId);
  return a && fromAcc(a);
}

/** Set an own property, even for keys like "__proto__" that plain assignment would treat specially. */
function put<T>(rec: Record<string, T>, key: string, value: T): T {
  if (key === '__proto__') Object.defineProperty(rec, key, { value, writable: true, enumerable: true, configurable: true });
  else rec[key] = value;
  return value;
}

/**
 * Fold one event into the book, in place (the book is the fold's accumulator; copying it per
 * event would make replay quadratic in open orders). OrderRouted teaches the route of a client
 * order id; OrderFilled moves the position; terminal order events forget the route.
 */
export function evolvePositions(book: PositionBook, event: PositionFact, resolve: InstrumentResolver = builtinResolver): PositionBook {
  switch (event.type) {
    case 'OrderRouted': {
      const o = event.data.order;
      if (book.orders.has(o.client_order_id)) return book;
      const bq = resolve(o.instrument_id) ?? { base: o.symbol, quote: '?' };
      book.orders.set(o.client_order_id, { account: o.account, instrument_id: o.instrument_id, side: o.side, base: bq.base, quote: bq.quote, cum_qty: ZERO });
      return book;
    }
    case 'OrderFilled': {
      const coid = event.data.client_order_id;
      const route = book.orders.get(coid);
      const cum = route && dec(event.data.cum_qty);
      if (!route || !cum!.gt(route.cum_qty)) {
        book.skipped_fills++;
        return book;
      }
      const f = event.data.fill;
      let acct = book.positions.get(route.account);
      if (!acct) book.positions.set(route.account, (acct = new Map<string, PositionAcc>()));
      let acc = acct.get(route.instrument_id);
      if (!acc) acct.set(route.instrument_id, (acc = emptyAcc({ account: route.account, instrument_id: route.instrument_id, base: route.base, quote: route.quote })));
      applyFillAcc(acc, route.side, dec(f.qty), dec(f.price), dec(f.fee), f.fee_ccy);
      // The routes belong to the book, like the accumulators: updated in place.
      if (event.data.status === 'FILLED') book.orders.delete(coid);
      else route.cum_qty = cum!;
      return book;
    }
    case 'OrderCanceled':
    case 'OrderRejected':
    case 'OrderExpired':
      forgetOrder(book, event.data.client_order_id);
      return book;
    default:
      return book;
  }
}

/** What a terminal status event (OrderCanceled, OrderRejected, OrderExpired) does to the book. */
function forgetOrder(book: PositionBook, clientOrderId: string): void {
  book.orders.delete(clientOrderId);
}

/** What the position fold reads: any event (most leave it unchanged), or a status event known from its record headers. */
export type PositionFact = Event | OrderStatusFact;

/**
 * Positions and PnL as a decider: a projection, so it decides nothing (no command can be built
 * for it). Views that own their book fold it in place; `evolve` copies what an event changes.
 */
export function positionsDecider(resolve: InstrumentResolver = builtinResolver) {
  return {
    initialState: emptyBook,
    decide: (_command: never): never[] => [],
    evolve: (book: PositionBook, event: PositionFact): PositionBook => evolvePositions(copyTouched(book, event), event, resolve),
    evolveInPlace: (book: PositionBook, event: PositionFact): PositionBook => evolvePositions(book, event, resolve),
  } satisfies InPlaceDecider<never, PositionBook, never, PositionFact>;
}

/** Positions of the built-in instruments' registry (resolving others by their symbol). */
export const positions = positionsDecider();

/** A copy of the book in which everything `event` may change is copied too: the in-place fold then leaves `book` as it was. */
function copyTouched(book: PositionBook, event: PositionFact): PositionBook {
  const next: PositionBook = { positions: new Map(book.positions), orders: new Map(book.orders), skipped_fills: book.skipped_fills };
  if (event.type !== 'OrderFilled') return next;
  const route = book.orders.get(event.data.client_order_id);
  if (!route) return next;
  next.orders.set(event.data.client_order_id, { ...route });
  const acct = book.positions.get(route.account);
  if (!acct) return next;
  const accs = new Map(acct);
  const acc = accs.get(route.instrument_id);
  if (acc) accs.set(route.instrument_id, { ...acc, other: { ...acc.other } });
  next.positions.set(route.account, accs);
  return next;
}

/** Fold events into `book` (updated in place) or into a new book. */
export function foldPositions(events: readonly PositionFact[], book: PositionBook = emptyBook(), resolve?: InstrumentResolver): PositionBook {
  let b = book;
  for (const e of events) b = evolvePositions(b, e, resolve);
  return b;
}

/** Every position, sorted by account then instrument. */
/** A book holding these positions (no open-order routes): what a projection stored, read back. */
export function bookOfPositions(positions: Iterable<Position>): PositionBook {
  const book = emptyBook();
  for (const p of positions) {
    let acct = book.positions.get(p.account);
    if (!acct) book.positions.set(p.account, (acct = new Map<string, PositionAcc>()));
    acct.set(p.instrument_id, toAcc(p));
  }
  return book;
}

export function listPositions(book: PositionBook): Position[] {
  const out: Position[] = [];
  for (const a of [...book.positions.keys()].sort()) {
    const acct = book.positions.get(a)!;
    for (const i of [...acct.keys()].sort()) out.push(fromAcc(acct.get(i)!));
  }
  return out;
}

// ---- mark to market ---------------------------------------------------------------------

export interface MarkedPosition extends Position {
  /** undefined when no mark was available; unrealized_pnl is then undefined too. */
  mark?: string;
  unrealized_pnl?: string;
}

export interface PnlTotals {
  realized: string;
  unrealized: string;
  fees: string;
  /** realized + unrealized − fees. */
  net: string;
  /** Open positions left out of `unrealized` for want of a mark. */
  unmarked: number;
}

export interface MarkToMarket {
  positions: MarkedPosition[];
  /** By quote currency: amounts in different quotes are never added together. */
  totals: Record<string, PnlTotals>;
  /** Fees in non-quote currencies, summed by currency. */
  other_fees: Record<string, string>;
}

export function markToMarket(book: PositionBook, marks: (instrumentId: string) => Dec | undefined): MarkToMarket {
  // Maps, not objects: currency names are data and must not reach Object.prototype.
  const sums = new Map<string, { realized: Dec; unrealized: Dec; fees: Dec; unmarked: number }>();
  const otherFees = new Map<string, Dec>();
  const positions: MarkedPosition[] = [];
  for (const p of listPositions(book)) {
    let t = sums.get(p.quote);
    if (!t) sums.set(p.quote, (t = { realized: ZERO, unrealized: ZERO, fees: ZERO, unmarked: 0 }));
    t.realized = t.realized.plus(dec(p.realized_pnl));
    t.fees = t.fees.plus(dec(p.fees));
    for (const [ccy, amt] of Object.entries(p.other_fees)) otherFees.set(ccy, (otherFees.get(ccy) ?? ZERO).plus(dec(amt)));
    const mark = marks(p.instrument_id);
    if (mark === undefined) {
      if (!dec(p.qty).eq(0)) t.unmarked += 1;
      positions.push({ ...p });
      continue;
    }
    const u = unrealizedPnl(p, mark);
    t.unrealized = t.unrealized.plus(u);
    positions.push({ ...p, mark: fmt(mark), unrealized_pnl: fmt(u) });
  }
  const byKey = <T>(m: Map<string, T>) => [...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const totals = Object.fromEntries(
    byKey(sums).map(([q, t]): [string, PnlTotals] => [
      q,
      {
        realized: fmt(t.realized),
        unrealized: fmt(t.unrealized),
        fees: fmt(t.fees),
        net: fmt(t.realized.plus(t.unrealized).minus(t.fees)),
        unmarked: t.unmarked,
      },
    ]),
  );
  const other = Object.fromEntries(byKey(otherFees).map(([c, v]) => [c, fmt(v)]));
  return { positions, totals, other_fees: other };
}
