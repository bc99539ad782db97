// Order-book helpers shared by the normalizer (sizing), the router (expected cost) and the simulator.
// All arithmetic is exact decimal; books are read-only snapshots.
import type { Side } from '../domain/intent.js';
import { type Dec, ZERO, dec } from '../domain/decimal.js';
import type { Book, BookLevel } from './types.js';

const HALF = dec('0.5');

export function bestBid(book: Book | undefined): BookLevel | undefined {
  return book?.bids[0];
}

export function bestAsk(book: Book | undefined): BookLevel | undefined {
  return book?.asks[0];
}

/** (best bid + best ask) / 2; undefined unless both sides have a level. */
export function midPrice(book: Book | undefined): Dec | undefined {
  const b = bestBid(book);
  const a = bestAsk(book);
  if (!b || !a) return undefined;
  return b.price.plus(a.price).times(HALF); // exact, and far cheaper than a division
}

/** Spread in basis points of the mid; undefined unless both sides have a level. */
export function spreadBps(book: Book | undefined): Dec | undefined {
  const b = bestBid(book);
  const a = bestAsk(book);
  const mid = midPrice(book);
  if (!b || !a || !mid || mid.lte(0)) return undefined;
  return a.price.minus(b.price).div(mid).times(10_000);
}

/** The side an order of `side` takes liquidity from: asks for a BUY, bids for a SELL. */
export function levelsTaken(book: Book, side: Side): readonly BookLevel[] {
  return side === 'BUY' ? book.asks : book.bids;
}

/** Best price an order of `side` would trade at first (best ask for BUY, best bid for SELL). */
export function touchPrice(book: Book | undefined, side: Side): Dec | undefined {
  return book ? levelsTaken(book, side)[0]?.price : undefined;
}

/** True when `price` is no worse than `limit` for `side` (BUY: price <= limit; SELL: price >= limit). */
export function withinLimit(side: Side, price: Dec, limit: Dec): boolean {
  return side === 'BUY' ? price.lte(limit) : price.gte(limit);
}

/**
 * Base quantity an order of `side` gets for spending `notional` (quote currency), walking the
 * levels it would take. When the book runs out, the rest is priced at the last level (so sizing
 * never fails on a thin book); undefined when that side is empty. Exact up to the decimal
 * context's 18 fractional digits of the final divisions.
 */
export function quantityForNotional(book: Book, side: Side, notional: Dec | string | number): Dec | undefined {
  const levels = levelsTaken(book, side);
  if (levels.length === 0) return undefined;
  let remaining = dec(notional);
  if (remaining.lte(0)) return ZERO;
  // Levels may compute their decimals on read: each price and qty is read once. Nothing is added
  // to the first taken quantity (0 + x is x, to the digit and the scale).
  let qty: Dec | undefined;
  let price = ZERO;
  for (const level of levels) {
    price = level.price;
    const levelQty = level.qty;
    const levelNotional = levelQty.times(price);
    if (levelNotional.gte(remaining)) break;
    qty = qty ? qty.plus(levelQty) : levelQty;
    remaining = remaining.minus(levelNotional);
  }
  // The level that covers the rest, or past the end of the book the last one.
  const rest = remaining.div(price);
  return qty ? qty.plus(rest) : rest;
}

export interface BookWalk {
  /** Base quantity the walk could fill (≤ requested). */
  filled: Dec;
  /** Σ qty × price over the filled part, in quote currency. */
  notional: Dec;
  /** notional / filled; undefined when nothing fills. */
  vwap: Dec | undefined;
  /** Levels touched (fully or partly). */
  levels: number;
  /** True when the requested quantity did not fully fill (book or limit ran out). */
  short: boolean;
}

/**
 * Walk the levels an order of `side` takes for `qty` base units, optionally stopping at a
 * limit price. Nothing is extrapolated: what the book cannot give is reported as `short`.
 */
export function walkForQuantity(book: Book, side: Side, qty: Dec | string | number, limit?: Dec): BookWalk {
  let remaining = dec(qty);
  let filled = ZERO;
  let notional = ZERO;
  let levels = 0;
  for (const level of levelsTaken(book, side)) {
    if (remaining.lte(0)) break;
    if (limit && !withinLimit(side, level.price, limit)) break;
    const q = level.qty.lt(remaining) ? level.qty : remaining;
    filled = filled.plus(q);
    notional = notional.plus(q.times(level.price));
    remaining = remaining.minus(q);
    levels++;
  }
  return { filled, notional, vwap: filled.gt(0) ? notional.div(filled) : undefined, levels, short: remaining.gt(0) };
}

/** Volume-weighted average price for `qty` (undefined when nothing fills; see walkForQuantity). */
export function vwapForQuantity(book: Book, side: Side, qty: Dec | string | number, limit?: Dec): Dec | undefined {
  return walkForQuantity(book, side, qty, limit).vwap;
}

/** Total base quantity on one side of the book, optionally only at prices within `limit`. */
export function depth(book: Book, side: Side, limit?: Dec): Dec {
  let total = ZERO;
  for (const level of levelsTaken(book, side)) {
    if (limit && !withinLimit(side, level.price, limit)) break;
    total = total.plus(level.qty);
  }
  return total;
}
