// The smart router's cost model: what an order costs on each candidate venue, walked through the
// venue's book at the intent's time, and the cheapest way to place it, whole on one venue or split
// across several (marginal levels first). Pure and exact: decimals throughout.
import { dec, floorTo, ZERO, type Dec } from '../domain/decimal.js';
import type { Side } from '../domain/intent.js';
import type { Book, InstrumentSpec } from '../market/types.js';

const ONE = dec(1);
const BPS = dec(10_000);
const LAST_PLACE = dec('0.000000000000000001');

/** One candidate venue as the cost model sees it. */
export interface VenueQuote {
  spec: InstrumentSpec;
  book: Book;
  /** Taker fee rate (0.001 = 10 bps). */
  fee: Dec;
  /** Latency penalty as a rate of notional (bps per ms × the venue's ack latency / 10,000). */
  penalty: Dec;
  /** No fill beyond this price on this venue (the intent's limit, or its slippage cap). */
  limit?: Dec;
  /** Most base quantity the venue may take: its max_qty, and for a SELL the free base balance. */
  maxQty: Dec;
  /** BUY: the free quote balance; the fills and their fee must fit in it. Undefined: not known. */
  maxFunds?: Dec;
  lot: Dec;
  minQty: Dec;
  minNotional: Dec;
}

/** What taking `qty` on one venue costs: the walk of its book and the charges on top. */
export interface Priced {
  /** Base quantity the walk filled (≤ asked: the book, the limit or a cap may run out). */
  filled: Dec;
  /** Σ qty × price over the filled part. */
  notional: Dec;
  /** Taker fee on the notional. */
  fee: Dec;
  /** Latency penalty on the notional (a cost estimate, never charged). */
  penalty: Dec;
  /** BUY: what the fill costs with fee and penalty; SELL: what it brings after them. */
  cost: Dec;
}

/** The route the model chose: quantities per quote (same order as the quotes), whole or split. */
export interface RoutePlan {
  split: boolean;
  /** Base quantity for each quote (ZERO where none). */
  qty: Dec[];
  /** Part of the order no venue could take (below every lot, or every cap reached). */
  unrouted: Dec;
  /** The priced walk of the whole order on each venue alone, for the record. */
  whole: Priced[];
  /** The chosen route priced (split or whole). */
  chosen: Priced;
  /** Venues left out of the split and why (below a venue's minimum). */
  dropped: Map<number, string>;
}

/** 1 + fee + penalty for a BUY (what a unit of notional costs), 1 − fee − penalty for a SELL (what it brings). */
const rateOf = (side: Side, q: VenueQuote): Dec => (side === 'BUY' ? ONE.plus(q.fee).plus(q.penalty) : ONE.minus(q.fee).minus(q.penalty));

/** True when a is a better effective price than b for `side`. */
const better = (side: Side, a: Dec, b: Dec): boolean => (side === 'BUY' ? a.lt(b) : a.gt(b));

/** A walk through one venue's levels, bounded by its limit and caps. */
class Cursor {
  level = 0;
  /** Taken from the current level so far. */
  usedAtLevel = ZERO;
  filled = ZERO;
  notional = ZERO;
  private eff: Dec | undefined;
  private readonly levels: Book['asks'];
  private readonly spend: Dec;

  constructor(
    readonly q: VenueQuote,
    readonly side: Side,
    readonly rate: Dec,
  ) {
    this.levels = side === 'BUY' ? q.book.asks : q.book.bids;
    this.spend = ONE.plus(q.fee);
  }

  /** The effective price of the next unit on this venue, or undefined when nothing more may be taken. */
  next(): Dec | undefined {
    if (this.eff !== undefined) return this.eff;
    const lv = this.levels[this.level];
    if (!lv || (this.q.limit && (this.side === 'BUY' ? lv.price.gt(this.q.limit) : lv.price.lt(this.q.limit)))) return undefined;
    if (!this.room(lv.price).gt(0)) return undefined;
    return (this.eff = lv.price.times(this.rate));
  }

  /** Base quantity the caps still allow at `price`. */
  private room(price: Dec): Dec {
    let room = this.q.maxQty.minus(this.filled);
    if (this.q.maxFunds !== undefined) {
      const funds = this.q.maxFunds.minus(this.notional.times(this.spend));
      const unit = price.times(this.spend);
      let byFunds = funds.gt(0) ? funds.div(unit) : ZERO;
      // The quotient is rounded to 18 places, maybe up: then one unit in the last place less.
      if (byFunds.times(unit).gt(funds)) byFunds = byFunds.minus(LAST_PLACE);
      if (byFunds.lt(room)) room = byFunds;
    }
    return room;
  }

  /** Take up to `want` from the current level; returns what was taken. */
  take(want: Dec): Dec {
    const lv = this.levels[this.level];
    const left = lv.qty.minus(this.usedAtLevel);
    let t = want.lt(left) ? want : left;
    const room = this.room(lv.price);
    if (room.lt(t)) t = room;
    this.filled = this.filled.plus(t);
    this.notional = this.notional.plus(t.times(lv.price));
    this.usedAtLevel = this.usedAtLevel.plus(t);
    if (this.usedAtLevel.gte(lv.qty)) {
      this.level++;
      this.usedAtLevel = ZERO;
      this.eff = undefined;
    } else if (t.lt(want)) this.eff = undefined; // a cap ran out inside the level
    return t;
  }
}

/** Takes `qty` from the cursors' levels, the best effective price first, until it is done or none can give more. */
function fill(cursors: Cursor[], side: Side, qty: Dec): Dec {
  let remaining = qty;
  while (remaining.gt(0)) {
    let best: Cursor | undefined;
    let bestEff: Dec | undefined;
    for (const c of cursors) {
      const eff = c.next();
      if (eff !== undefined && (bestEff === undefined || better(side, eff, bestEff))) {
        best = c;
        bestEff = eff;
      }
    }
    if (!best) break;
    const t = best.take(remaining);
    if (t.lte(0)) break;
    remaining = remaining.minus(t);
  }
  return remaining;
}

/** Fee, penalty and cost of a walked notional on one venue. */
function charges(side: Side, q: VenueQuote, filled: Dec, notional: Dec): Priced {
  const fee = notional.times(q.fee);
  const penalty = notional.times(q.penalty);
  const cost = side === 'BUY' ? notional.plus(fee).plus(penalty) : notional.minus(fee).minus(penalty);
  return { filled, notional, fee, penalty, cost };
}

/** The walk of `qty` on one venue alone, within its limit and caps. */
export function priceOn(q: VenueQuote, side: Side, qty: Dec): Priced {
  const c = new Cursor(q, side, rateOf(side, q));
  fill([c], side, qty);
  return charges(side, q, c.filled, c.notional);
}

/** The sum of priced parts. */
function total(parts: Priced[]): Priced {
  let filled = ZERO;
  let notional = ZERO;
  let fee = ZERO;
  let penalty = ZERO;
  let cost = ZERO;
  for (const p of parts) {
    filled = filled.plus(p.filled);
    notional = notional.plus(p.notional);
    fee = fee.plus(p.fee);
    penalty = penalty.plus(p.penalty);
    cost = cost.plus(p.cost);
  }
  return { filled, notional, fee, penalty, cost };
}

/** The price a venue's minimum notional is checked at: the limit, else the touch. */
function checkPrice(q: VenueQuote, side: Side): Dec | undefined {
  return q.limit ?? (side === 'BUY' ? q.book.asks[0]?.price : q.book.bids[0]?.price);
}

/** Why `qty` on this venue is below its minimums, or undefined when it is not. */
export function belowMinimum(q: VenueQuote, side: Side, qty: Dec): string | undefined {
  if (qty.lt(q.minQty)) return `${qty.toString()} is below ${q.spec.instrument_id}'s minimum quantity ${q.minQty.toString()}`;
  const price = checkPrice(q, side);
  if (price && qty.times(price).lt(q.minNotional)) return `${qty.toString()} × ${price.toString()} is below ${q.spec.instrument_id}'s minimum notional ${q.minNotional.toString()}`;
  return undefined;
}

/** True when `qty` more fits in the venue's caps at `price` (a resting rest beyond the walked book). */
function fits(q: VenueQuote, side: Side, already: Priced, qty: Dec): boolean {
  if (already.filled.plus(qty).gt(q.maxQty)) return false;
  if (side === 'BUY' && q.maxFunds !== undefined) {
    const price = checkPrice(q, side);
    if (!price) return false;
    return already.notional.plus(qty.times(price)).times(ONE.plus(q.fee)).lte(q.maxFunds);
  }
  return true;
}

/** What one venue may take of the whole order: floored to its lot, within its caps (a part past its book rests there only if its funds hold it). */
function wholeSize(q: VenueQuote, side: Side, qty: Dec): Dec {
  const x = floorTo(qty.lt(q.maxQty) ? qty : q.maxQty, q.lot);
  if (side !== 'BUY' || q.maxFunds === undefined) return x;
  const walked = priceOn(q, side, x);
  const rest = x.minus(walked.filled);
  return rest.gt(0) && !fits(q, side, walked, rest) ? floorTo(walked.filled, q.lot) : x;
}

/** Quantities for the split: the merged walk, floored to each lot, the odd remainder placed where a lot takes it. */
function splitQuantities(quotes: VenueQuote[], side: Side, qty: Dec, active: boolean[], rates: Dec[]): { qty: Dec[]; unrouted: Dec } {
  const cursors: Cursor[] = [];
  const at: number[] = [];
  quotes.forEach((q, i) => {
    if (active[i]) {
      cursors.push(new Cursor(q, side, rates[i]));
      at.push(i);
    }
  });
  fill(cursors, side, qty);
  const out = quotes.map(() => ZERO);
  let placed = ZERO;
  cursors.forEach((c, k) => {
    out[at[k]] = floorTo(c.filled, quotes[at[k]].lot);
    placed = placed.plus(out[at[k]]);
  });
  // What the books could not give, and what the lots cut off: to the venues already in the split
  // (largest first), then any other, as far as their lots and caps take it.
  let rest = qty.minus(placed);
  if (rest.gt(0)) {
    const order = at.slice().sort((a, b) => out[b].cmp(out[a]));
    for (const i of order) {
      if (!rest.gt(0)) break;
      const add = floorTo(rest, quotes[i].lot);
      if (!add.gt(0)) continue;
      const priced = priceOn(quotes[i], side, out[i]);
      if (!fits(quotes[i], side, priced, add)) continue;
      out[i] = out[i].plus(add);
      rest = rest.minus(add);
    }
  }
  return { qty: out, unrouted: rest };
}

/**
 * The cheapest way to place `qty`: each venue priced alone; the merged walk across them (a level
 * of one venue before a worse one of another) floored to each venue's lot, with venues whose part
 * falls below their minimum left out and the split worked out again without them. The split is
 * chosen only when it fills more than any venue alone, or the same for less (BUY) / more (SELL).
 */
export function planRoute(quotes: VenueQuote[], side: Side, qty: Dec, allowSplit = true): RoutePlan {
  const rates = quotes.map((q) => rateOf(side, q));
  const sizes = quotes.map((q) => wholeSize(q, side, qty));
  const whole = quotes.map((q, i) => priceOn(q, side, sizes[i]));
  const dropped = new Map<number, string>();

  // The best venue alone: the most filled, then the best cost per unit, then the caller's order.
  let best = -1;
  for (let i = 0; i < quotes.length; i++) {
    const w = whole[i];
    if (!sizes[i].gt(0) || belowMinimum(quotes[i], side, sizes[i])) continue;
    if (best < 0) best = i;
    else {
      const b = whole[best];
      if (w.filled.gt(b.filled)) best = i;
      else if (w.filled.eq(b.filled) && w.filled.gt(0) && better(side, w.cost, b.cost)) best = i;
    }
  }

  const wholePlan = (): RoutePlan => {
    const out = quotes.map(() => ZERO);
    if (best < 0) return { split: false, qty: out, unrouted: qty, whole, chosen: total([]), dropped };
    out[best] = sizes[best];
    return { split: false, qty: out, unrouted: qty.minus(out[best]), whole, chosen: priceOn(quotes[best], side, out[best]), dropped };
  };
  if (!allowSplit || quotes.length < 2) return wholePlan();
  const active = quotes.map(() => true);
  let split: { qty: Dec[]; unrouted: Dec } | undefined;
  for (let round = 0; round < quotes.length; round++) {
    const s = splitQuantities(quotes, side, qty, active, rates);
    let ok = true;
    s.qty.forEach((x, i) => {
      if (!x.gt(0)) return;
      const why = belowMinimum(quotes[i], side, x);
      if (why) {
        active[i] = false;
        dropped.set(i, why);
        ok = false;
      }
    });
    if (ok) {
      split = s;
      break;
    }
  }
  if (!split || split.qty.filter((x) => x.gt(0)).length < 2) return wholePlan();
  const parts = split.qty.map((x, i) => (x.gt(0) ? priceOn(quotes[i], side, x) : undefined)).filter((p): p is Priced => p !== undefined);
  const chosen = total(parts);
  if (best >= 0) {
    const w = whole[best];
    const wins = chosen.filled.gt(w.filled) || (chosen.filled.eq(w.filled) && better(side, chosen.cost, w.cost));
    if (!wins) return wholePlan();
  }
  return { split: true, qty: split.qty, unrouted: split.unrouted, whole, chosen, dropped };
}

/** Cost per unit against a reference price, in bps (positive: worse than the reference), to 2 places. */
export function costBps(side: Side, p: Priced, ref: Dec): Dec | undefined {
  if (!p.filled.gt(0) || !ref.gt(0)) return undefined;
  const unit = p.cost.div(p.filled);
  const diff = side === 'BUY' ? unit.minus(ref) : ref.minus(unit);
  return diff.div(ref).times(BPS).round(2);
}
