// A chain's arithmetic: what each leg may spend of what the previous one delivered (fee hold,
// increment floor, dust), what a leg's fill delivers, and the chain's profit. Pure and exact.
import { dec, floorTo, fmt, ZERO, type Dec } from '../domain/decimal.js';
import type { BookLevel } from '../market/types.js';

const ONE = dec(1);
const BPS = dec(10_000);
const LAST_PLACE = dec('0.000000000000000001');

/** One leg's rules, as decimals. */
export interface LegRules {
  side: 'BUY' | 'SELL';
  base: string;
  quote: string;
  fee_rate: Dec;
  fee_currency: string;
  base_increment: Dec;
  quote_increment: Dec;
  base_min_size: Dec;
  quote_min_size: Dec;
}

/** What a leg is sent to do with the amount it was given (in its input currency). */
export interface LegOrder {
  /** BUY: the quote it may spend, fee held back and floored to the quote increment. */
  funds?: Dec;
  /** Base quantity of the order: a SELL's size (floored to the base increment), a BUY's quantity at its limit. */
  qty: Dec;
  /** BUY: the price its funds were sized at (the book level where they run out): it never pays more. */
  limit?: Dec;
  /** What the floors and the fee hold left unspent, in the input currency. */
  dust: Dec;
}

/** The currency a leg spends: quote for a BUY, base for a SELL. */
export const inputOf = (r: Pick<LegRules, 'side' | 'base' | 'quote'>): string => (r.side === 'BUY' ? r.quote : r.base);
/** The currency a leg delivers. */
export const outputOf = (r: Pick<LegRules, 'side' | 'base' | 'quote'>): string => (r.side === 'BUY' ? r.base : r.quote);

/**
 * The order for `amount` of a leg's input. A BUY holds the fee back (funds = amount / (1 + fee),
 * so funds and fee never exceed the amount), floors the funds to the quote increment, and buys as
 * much base as the funds pay for at the level of `asks` where they run out, floored to the base
 * increment: at that limit, quantity × price ≤ funds. A SELL floors the amount to the base
 * increment, after holding the fee back when it is charged in that base. Undefined when a BUY
 * finds no ask.
 */
export function legOrder(r: LegRules, amount: Dec, asks: readonly BookLevel[]): LegOrder | undefined {
  const hold = ONE.plus(r.fee_rate);
  if (r.side === 'SELL') {
    // A fee taken in the base it sells is held back too: size and fee never exceed the amount.
    const qty = floorTo(r.fee_currency === r.base ? divDown(amount, hold) : amount, r.base_increment);
    return { qty, dust: amount.minus(r.fee_currency === r.base ? qty.times(hold) : qty) };
  }
  const funds = floorTo(divDown(amount, hold), r.quote_increment);
  const limit = limitForFunds(asks, funds);
  if (!limit) return undefined;
  // Quantity × limit never exceeds the funds.
  const qty = floorTo(divDown(funds, limit), r.base_increment);
  return { funds, qty, limit, dust: amount.minus(funds.times(hold)) };
}

/** x / y to 18 places, rounded down (the division rounds half-even: it may round up). */
function divDown(x: Dec, y: Dec): Dec {
  const q = x.div(y);
  return q.times(y).gt(x) ? q.minus(LAST_PLACE) : q;
}

/** The price of the ask level where spending `funds` from the best ask runs out (the last level when the book is thinner). */
function limitForFunds(asks: readonly BookLevel[], funds: Dec): Dec | undefined {
  let left = funds;
  for (const level of asks) {
    const cost = level.qty.times(level.price);
    if (cost.gte(left)) return level.price;
    left = left.minus(cost);
  }
  return asks.length > 0 ? asks[asks.length - 1].price : undefined;
}

/** A leg's fill as the venue reported it (or paper mode walked it). */
export interface LegFill {
  filled: Dec;
  notional: Dec;
  fee: Dec;
  fee_ccy: string;
}

/** What a fill delivers in the leg's output currency: a fee charged in that currency is taken from it. */
export function delivered(r: LegRules, f: LegFill): Dec {
  if (r.side === 'BUY') return f.fee_ccy === r.base ? f.filled.minus(f.fee) : f.filled;
  return f.fee_ccy === r.quote ? f.notional.minus(f.fee) : f.notional;
}

/** What a fill spent of the leg's input currency, a fee in that currency included. */
export function spent(r: LegRules, f: LegFill): Dec {
  if (r.side === 'BUY') return f.fee_ccy === r.quote ? f.notional.plus(f.fee) : f.notional;
  return f.fee_ccy === r.base ? f.filled.plus(f.fee) : f.filled;
}

/**
 * Paper mode: the leg filled from its own book snapshot, as far as the order's quantity and limit
 * go, with the leg's fee in its fee currency (base fees on the base filled, quote fees on the notional).
 */
export function paperFill(r: LegRules, o: LegOrder, levels: readonly BookLevel[]): LegFill {
  let remaining = o.qty;
  let filled = ZERO;
  let notional = ZERO;
  for (const level of levels) {
    if (!remaining.gt(0)) break;
    if (o.limit && level.price.gt(o.limit)) break;
    const q = level.qty.lt(remaining) ? level.qty : remaining;
    filled = filled.plus(q);
    notional = notional.plus(q.times(level.price));
    remaining = remaining.minus(q);
  }
  const fee = r.fee_currency === r.base ? filled.times(r.fee_rate) : notional.times(r.fee_rate);
  return { filled, notional, fee, fee_ccy: r.fee_currency === r.base ? r.base : r.fee_currency === r.quote ? r.quote : r.fee_currency };
}

/** Why an order falls below its leg's minimums, or undefined. */
export function belowLegMinimum(r: LegRules, o: LegOrder): string | undefined {
  if (!o.qty.gt(0) || o.qty.lt(r.base_min_size)) return `${fmt(o.qty)} ${r.base} is below the leg's minimum of ${fmt(r.base_min_size)} ${r.base}`;
  if (o.funds !== undefined && o.funds.lt(r.quote_min_size)) return `${fmt(o.funds)} ${r.quote} is below the leg's minimum funds of ${fmt(r.quote_min_size)} ${r.quote}`;
  return undefined;
}

/** Profit in the primary quote and its bps of what the first leg spent (2 places). */
export function profitOf(firstSpent: Dec, lastDelivered: Dec): { profit: Dec; bps: Dec } {
  const profit = lastDelivered.minus(firstSpent);
  return { profit, bps: firstSpent.gt(0) ? profit.times(BPS).div(firstSpent).round(2) : ZERO };
}
