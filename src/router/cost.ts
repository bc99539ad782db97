// The smart router's cost model: what an order costs on each candidate venue, walked through the
// venue's book at the intent's time, and the cheapest way to place it, whole on one venue or split
// across several (marginal levels first). Pure and exact: decimals throughout.
import { ceilTo, dec, floorTo, ZERO, type Dec } from '../domain/decimal.js';
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
  /** The effective price (fee and penalty in) of the last level the walk took from. */
  marginal?: Dec;
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

/**
 * What one venue alone gives an order: the levels its walk takes from (within the limit and the
 * caps), each with its price, its effective price (fee and penalty in) and the quantity taken.
 * The merged walk of a split reads these ladders: a venue's share never goes past its own walk.
 */
interface Ladder {
  price: Dec[];
  /** Price × (1 ± fee and penalty), worked out when the merge first looks at the level. */
  eff: (Dec | undefined)[];
  rate: Dec;
  take: Dec[];
  priced: Priced;
}

/** A ladder level's effective price. */
function effAt(l: Ladder, k: number): Dec {
  return (l.eff[k] ??= l.price[k].times(l.rate));
}

/** Walks one venue's levels for `qty`: stops at the limit, at max qty and, for a BUY, where its free funds run out. */
function walk(q: VenueQuote, side: Side, rate: Dec, qty: Dec): Ladder {
  const levels = side === 'BUY' ? q.book.asks : q.book.bids;
  const limit = q.limit;
  const spend = q.maxFunds === undefined ? undefined : ONE.plus(q.fee);
  let remaining = qty.lt(q.maxQty) ? qty : q.maxQty;
  let filled = ZERO;
  let notional = ZERO;
  const price: Dec[] = [];
  const eff: (Dec | undefined)[] = [];
  const take: Dec[] = [];
  for (let k = 0; k < levels.length && remaining.gt(0); k++) {
    const lv = levels[k];
    if (limit && (side === 'BUY' ? lv.price.gt(limit) : lv.price.lt(limit))) break;
    let t = lv.qty.lt(remaining) ? lv.qty : remaining;
    if (spend) {
      // What the funds left pay for at this level, fee in; the 18-place quotient never rounds up.
      const funds = q.maxFunds!.minus(notional.times(spend));
      const unit = lv.price.times(spend);
      let byFunds = funds.gt(0) ? funds.div(unit) : ZERO;
      if (byFunds.times(unit).gt(funds)) byFunds = byFunds.minus(LAST_PLACE);
      if (byFunds.lt(t)) t = byFunds;
      if (!t.gt(0)) break;
    }
    price.push(lv.price);
    eff.push(undefined);
    take.push(t);
    filled = k === 0 ? t : filled.plus(t);
    notional = k === 0 ? t.times(lv.price) : notional.plus(t.times(lv.price));
    remaining = remaining.minus(t);
    if (t.lt(lv.qty) && remaining.gt(0)) break; // the funds ran out inside the level
  }
  const last = price.length - 1;
  if (last >= 0) eff[last] = price[last].times(rate);
  return { price, eff, rate, take, priced: charges(side, q, filled, notional, last >= 0 ? eff[last] : undefined) };
}

/**
 * The merged walk over several ladders: the best effective price first, until `qty` is taken or
 * every ladder is spent. Returns each venue's share and its notional.
 */
function merge(ladders: (Ladder | undefined)[], side: Side, qty: Dec): { qty: Dec[]; notional: Dec[]; marginal: (Dec | undefined)[] } {
  const n = ladders.length;
  const at = new Array<number>(n).fill(0);
  const left: (Dec | undefined)[] = ladders.map((l) => (l && l.take.length > 0 ? l.take[0] : undefined));
  const got = ladders.map(() => ZERO);
  const notional = ladders.map(() => ZERO);
  const marginal: (Dec | undefined)[] = ladders.map(() => undefined);
  let remaining = qty;
  while (remaining.gt(0)) {
    let best = -1;
    for (let i = 0; i < n; i++) {
      if (left[i] === undefined) continue;
      if (best < 0 || better(side, effAt(ladders[i]!, at[i]), effAt(ladders[best]!, at[best]))) best = i;
    }
    if (best < 0) break;
    const l = ladders[best]!;
    const k = at[best];
    const avail = left[best]!;
    const t = avail.lt(remaining) ? avail : remaining;
    got[best] = got[best].plus(t);
    notional[best] = notional[best].plus(t.times(l.price[k]));
    marginal[best] = effAt(l, k);
    remaining = remaining.minus(t);
    if (t.lt(avail)) left[best] = avail.minus(t);
    else {
      at[best] = k + 1;
      left[best] = k + 1 < l.take.length ? l.take[k + 1] : undefined;
    }
  }
  return { qty: got, notional, marginal };
}

/** Fee, penalty and cost of a walked notional on one venue. */
function charges(side: Side, q: VenueQuote, filled: Dec, notional: Dec, marginal?: Dec): Priced {
  const fee = notional.times(q.fee);
  // No measured latency (the simulator, a venue not yet traded): no penalty to work out.
  const penalty = q.penalty.coef === 0n ? ZERO : notional.times(q.penalty);
  const withFee = side === 'BUY' ? notional.plus(fee) : notional.minus(fee);
  const cost = penalty === ZERO ? withFee : side === 'BUY' ? withFee.plus(penalty) : withFee.minus(penalty);
  return marginal === undefined ? { filled, notional, fee, penalty, cost } : { filled, notional, fee, penalty, cost, marginal };
}

/** The walk of `qty` on one venue alone, within its limit and caps. */
export function priceOn(q: VenueQuote, side: Side, qty: Dec): Priced {
  return walk(q, side, rateOf(side, q), qty).priced;
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

/**
 * Quantities for the split: the merged walk over the active venues' ladders, floored to each lot,
 * the odd remainder placed where a lot takes it. A share the flooring left as walked keeps its
 * walk's price (no second walk).
 */
function splitQuantities(quotes: VenueQuote[], side: Side, qty: Dec, active: boolean[], ladders: Ladder[]): { qty: Dec[]; unrouted: Dec; priced: (Priced | undefined)[] } {
  const m = merge(
    ladders.map((l, i) => (active[i] ? l : undefined)),
    side,
    qty,
  );
  const out = quotes.map(() => ZERO);
  const priced: (Priced | undefined)[] = quotes.map(() => undefined);
  let placed = ZERO;
  for (let i = 0; i < quotes.length; i++) {
    if (!m.qty[i].gt(0)) continue;
    out[i] = floorTo(m.qty[i], quotes[i].lot);
    if (out[i].eq(m.qty[i])) priced[i] = charges(side, quotes[i], m.qty[i], m.notional[i], m.marginal[i]);
    placed = placed.plus(out[i]);
  }
  // What the books could not give, and what the lots cut off: to the venues in the split (largest
  // share first), as far as their lots and caps take it.
  let rest = qty.minus(placed);
  if (rest.gt(0)) {
    const order = quotes.map((_, i) => i).filter((i) => active[i]);
    order.sort((a, b) => out[b].cmp(out[a]));
    for (const i of order) {
      if (!rest.gt(0)) break;
      const add = floorTo(rest, quotes[i].lot);
      if (!add.gt(0)) continue;
      if (!fits(quotes[i], side, priced[i] ?? priceOn(quotes[i], side, out[i]), add)) continue;
      out[i] = out[i].plus(add);
      priced[i] = undefined;
      rest = rest.minus(add);
    }
  }
  // A remainder finer than the lots that could take it: one venue takes a whole lot more and
  // another, whose finer lot allows it, gives back the excess, so the route is exactly the order.
  if (rest.gt(0)) {
    const order = quotes.map((_, i) => i).filter((i) => active[i] && out[i].gt(0));
    order.sort((a, b) => out[b].cmp(out[a]));
    trade: for (const i of order) {
      const up = ceilTo(rest, quotes[i].lot);
      if (!fits(quotes[i], side, priced[i] ?? priceOn(quotes[i], side, out[i]), up)) continue;
      const excess = up.minus(rest);
      for (const j of order) {
        if (j === i) continue;
        const left = out[j].minus(excess);
        if (!left.gt(0) || !floorTo(left, quotes[j].lot).eq(left) || belowMinimum(quotes[j], side, left)) continue;
        out[i] = out[i].plus(up);
        out[j] = left;
        priced[i] = undefined;
        priced[j] = undefined;
        rest = ZERO;
        break trade;
      }
    }
  }
  return { qty: out, unrouted: rest, priced };
}

/** True when no other venue's first level beats the last level the best venue alone would take: a split could not be cheaper. */
function nothingBetterElsewhere(quotes: VenueQuote[], side: Side, rates: Dec[], best: number, w: Priced): boolean {
  if (w.marginal === undefined) return false;
  for (let i = 0; i < quotes.length; i++) {
    if (i === best) continue;
    const q = quotes[i];
    const top = side === 'BUY' ? q.book.asks[0] : q.book.bids[0];
    if (!top || (q.limit && (side === 'BUY' ? top.price.gt(q.limit) : top.price.lt(q.limit)))) continue;
    if (better(side, top.price.times(rates[i]), w.marginal)) return false;
  }
  return true;
}

/**
 * The cheapest way to place `qty`: each venue priced alone; the merged walk across them (a level
 * of one venue before a worse one of another) floored to each venue's lot, with venues whose part
 * falls below their minimum left out and the split worked out again without them. The split is
 * chosen only when it fills more than any venue alone, or the same for less (BUY) / more (SELL).
 */
export function planRoute(quotes: VenueQuote[], side: Side, qty: Dec, allowSplit = true): RoutePlan {
  const rates = quotes.map((q) => rateOf(side, q));
  // One walk per venue for the whole order; a second only where the venue's lot or cap cut it.
  const ladders = quotes.map((q, i) => walk(q, side, rates[i], qty));
  const sizes = quotes.map((q) => wholeSize(q, side, qty));
  const whole = quotes.map((q, i) => (sizes[i].eq(qty) ? ladders[i].priced : priceOn(q, side, sizes[i])));
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
    return { split: false, qty: out, unrouted: qty.minus(out[best]), whole, chosen: whole[best], dropped };
  };
  if (!allowSplit || quotes.length < 2) return wholePlan();
  // The best venue alone fills it all and no other venue's touch beats its last level: whole.
  if (best >= 0 && whole[best].filled.eq(qty) && nothingBetterElsewhere(quotes, side, rates, best, whole[best])) return wholePlan();
  const active = quotes.map(() => true);
  let split: ReturnType<typeof splitQuantities> | undefined;
  for (let round = 0; round < quotes.length; round++) {
    const s = splitQuantities(quotes, side, qty, active, ladders);
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
  const parts = split.qty.map((x, i) => (x.gt(0) ? (split.priced[i] ?? priceOn(quotes[i], side, x)) : undefined)).filter((p): p is Priced => p !== undefined);
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
  // (cost / filled − ref) / ref in one division: (cost − ref × filled) / (ref × filled).
  const atRef = ref.times(p.filled);
  const diff = side === 'BUY' ? p.cost.minus(atRef) : atRef.minus(p.cost);
  return diff.times(BPS).div(atRef).round(2);
}
