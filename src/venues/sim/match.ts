// Pure matching of one order against the book at its event time: the simulated venue's exchange.
// Same order + same book => identical reports (ids and times included), which is what makes
// backtest = live and crash recovery reproducible.
// Limitation: only the taker side is simulated. A GTC remainder rests (no terminal report) but
// never fills later, so maker_fee is never charged here.
import { hash } from 'node:crypto';
import type { Decider } from '../../domain/decider.js';
import type { Order, VenueReport } from '../../domain/events.js';
import { Dec, dec, floorTo, fmt, isDecimalString, isMultipleOf } from '../../domain/decimal.js';
import type { Book, InstrumentSpec } from '../../market/types.js';
import { microsToIso } from '../../domain/time.js';

export const REJECT_CODES = ['UNKNOWN_SYMBOL', 'NO_MARKET_DATA', 'LOT_SIZE', 'PRICE_FILTER', 'MIN_NOTIONAL'] as const;
export type RejectCode = (typeof REJECT_CODES)[number];

export const INSUFFICIENT_LIQUIDITY = 'insufficient liquidity';

/** A price or quantity increment; places is k when it is 10^-k, as it usually is. */
interface Step {
  value: Dec;
  places: number | undefined;
}

function stepOf(s: string): Step {
  const value = dec(s);
  return { value, places: value.coef === 1n ? value.scale : undefined };
}

/** x is a multiple of step: surely so, without a division, when it has no more decimals than a 10^-k step. */
function onGrid(x: Dec, step: Step): boolean {
  return (step.places !== undefined && x.scale <= step.places) || isMultipleOf(x, step.value);
}

interface Rules {
  tick: Step;
  lot: Step;
  minQty: Dec;
  maxQty: Dec;
  minNotional: Dec;
  takerFee: Dec;
}

// Specs are immutable registry objects: parse their decimals once.
const rulesCache = new WeakMap<InstrumentSpec, Rules>();
function rulesOf(spec: InstrumentSpec): Rules {
  let r = rulesCache.get(spec);
  if (!r) {
    r = {
      tick: stepOf(spec.tick_size),
      lot: stepOf(spec.lot_size),
      minQty: dec(spec.min_qty),
      maxQty: dec(spec.max_qty),
      minNotional: dec(spec.min_notional),
      takerFee: dec(spec.taker_fee),
    };
    rulesCache.set(spec, r);
  }
  return r;
}

/** Deterministic venue order id: venue prefix + hash of the client order id. */
export function simVenueOrderId(venue: string, clientOrderId: string): string {
  // One-shot hash: about half the cost of createHash().update().digest() per order.
  return `SIM-${venue}-` + hash('sha256', clientOrderId, 'hex').slice(0, 20);
}

function parsePositive(s: string | undefined): Dec | undefined {
  if (typeof s !== 'string' || !isDecimalString(s)) return undefined;
  const d = dec(s);
  return d.coef > 0n ? d : undefined;
}

function rejected(code: RejectCode, reason: string, ts: string): VenueReport[] {
  return [{ kind: 'REJECTED', code, reason, ts }];
}

/** An order to match, with the book at its event time and its instrument's rules. */
export interface MatchOrder {
  order: Order;
  book: Book | undefined;
  spec: InstrumentSpec | undefined;
  ts_us: number;
}

/** The simulated exchange as a decider: stateless (only the taker side is simulated, nothing rests). */
export const matching = {
  initialState: (): null => null,
  decide: (c: MatchOrder): VenueReport[] => matchOrder(c.order, c.book, c.spec, c.ts_us),
  evolve: (state: null): null => state,
} satisfies Decider<MatchOrder, null, VenueReport>;

/**
 * Fill an order against `book` (the snapshot at its event time `tsUs`). Reports, in order:
 * REJECTED alone; or ACK, one TRADE per level consumed, then the terminal report when the order
 * does not fill completely (MARKET: EXPIRED 'insufficient liquidity'; IOC: CANCELED; FOK: EXPIRED
 * with no trades; GTC: none, the remainder rests). A full fill has no terminal report: the last
 * TRADE completes it. MARKET orders have IOC semantics (FOK when tif is FOK).
 */
export function matchOrder(order: Order, book: Book | undefined, spec: InstrumentSpec | undefined, tsUs: number): VenueReport[] {
  const ts = microsToIso(tsUs);

  if (!spec || spec.instrument_id !== order.instrument_id) return rejected('UNKNOWN_SYMBOL', `unknown symbol ${order.instrument_id}`, ts);
  if (!book) return rejected('NO_MARKET_DATA', `no order book for ${order.instrument_id} at ${ts}`, ts);
  const r = rulesOf(spec);

  const qty = parsePositive(order.qty);
  if (!qty) return rejected('LOT_SIZE', `quantity must be a positive decimal, got ${JSON.stringify(order.qty)}`, ts);
  if (qty.lt(r.minQty)) return rejected('LOT_SIZE', `quantity ${order.qty} is below min_qty ${spec.min_qty}`, ts);
  if (qty.gt(r.maxQty)) return rejected('LOT_SIZE', `quantity ${order.qty} is above max_qty ${spec.max_qty}`, ts);
  if (!onGrid(qty, r.lot)) return rejected('LOT_SIZE', `quantity ${order.qty} is not a multiple of lot_size ${spec.lot_size}`, ts);

  let limit: Dec | undefined;
  if (order.order_type === 'LIMIT') {
    if (order.limit_price === undefined) return rejected('PRICE_FILTER', 'LIMIT order without limit_price', ts);
    limit = parsePositive(order.limit_price);
    if (!limit) return rejected('PRICE_FILTER', `limit price must be a positive decimal, got ${JSON.stringify(order.limit_price)}`, ts);
    if (!onGrid(limit, r.tick)) return rejected('PRICE_FILTER', `limit price ${order.limit_price} is not a multiple of tick_size ${spec.tick_size}`, ts);
  }

  const buy = order.side === 'BUY';
  const levels = buy ? book.asks : book.bids;
  // Notional is checked at the limit price, or at the touch for a MARKET order (skipped on an empty side).
  const checkPrice = limit ?? levels[0]?.price;
  if (checkPrice) {
    const notional = qty.times(checkPrice);
    if (notional.lt(r.minNotional)) {
      return rejected('MIN_NOTIONAL', `notional ${fmt(notional)} ${spec.quote} (qty × ${limit ? 'limit' : 'touch'} price) is below min_notional ${spec.min_notional}`, ts);
    }
  }

  const venueOrderId = simVenueOrderId(spec.venue, order.client_order_id);
  const reports: VenueReport[] = [{ kind: 'ACK', venue_order_id: venueOrderId, ts }];

  // Walk the opposite side, level by level, within the limit, reporting each fill as it is found.
  let remaining = qty;
  let trades = 0;
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i];
    const price = level.price;
    if (limit && (buy ? price.gt(limit) : price.lt(limit))) break;
    // Resting quantity off the lot grid (recorded data) trades only its on-grid part.
    const resting = level.qty;
    const q = resting.lt(remaining) ? (onGrid(resting, r.lot) ? resting : floorTo(resting, r.lot.value)) : remaining;
    if (q.coef <= 0n) continue;
    trades++;
    reports.push({
      kind: 'TRADE',
      venue_order_id: venueOrderId,
      trade_id: `${venueOrderId}-${trades}`,
      qty: fmt(q),
      price: fmt(price),
      // qty × price × fee rate, exact, as one product
      fee: fmt(new Dec(q.coef * price.coef * r.takerFee.coef, q.scale + price.scale + r.takerFee.scale)),
      fee_ccy: spec.quote,
      liquidity: 'TAKER',
      ts,
    });
    remaining = remaining.minus(q);
    if (remaining.coef === 0n) break;
  }
  if (remaining.coef === 0n) return reports;

  if (order.tif === 'FOK') {
    // All or nothing: the trades found above never happened.
    reports.length = 1;
    const where = limit ? `at ${buy ? '<=' : '>='} ${order.limit_price}` : 'in the book';
    reports.push({ kind: 'EXPIRED', reason: `FOK: quantity ${order.qty} not fully fillable ${where}`, ts });
  } else if (order.order_type === 'MARKET') reports.push({ kind: 'EXPIRED', reason: INSUFFICIENT_LIQUIDITY, ts });
  else if (order.tif === 'IOC') reports.push({ kind: 'CANCELED', reason: `IOC: unfilled quantity ${fmt(remaining)} canceled`, ts });
  // LIMIT GTC: the remainder rests on the book; the order stays open.
  return reports;
}
