// Pure matching of one order against the book at its event time: the simulated venue's exchange.
// Same order + same book => identical reports (ids and times included), which is what makes
// backtest = live and crash recovery reproducible.
// Limitation: only the taker side is simulated. A GTC remainder rests (no terminal report) but
// never fills later, so maker_fee is never charged here.
import { createHash } from 'node:crypto';
import type { Order, VenueReport } from '../../domain/events.js';
import { type Dec, dec, floorTo, fmt, isDecimalString, isMultipleOf } from '../../domain/decimal.js';
import { microsToIso } from '../../domain/time.js';
import { withinLimit } from '../../market/book.js';
import type { Book, InstrumentSpec } from '../../market/types.js';

export const REJECT_CODES = ['UNKNOWN_SYMBOL', 'NO_MARKET_DATA', 'LOT_SIZE', 'PRICE_FILTER', 'MIN_NOTIONAL'] as const;
export type RejectCode = (typeof REJECT_CODES)[number];

export const INSUFFICIENT_LIQUIDITY = 'insufficient liquidity';

interface Rules {
  tick: Dec;
  tickPow: number | undefined;
  lot: Dec;
  lotPow: number | undefined;
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
    const tick = dec(spec.tick_size);
    const lot = dec(spec.lot_size);
    r = {
      tick,
      tickPow: pow10Decimals(tick),
      lot,
      lotPow: pow10Decimals(lot),
      minQty: dec(spec.min_qty),
      maxQty: dec(spec.max_qty),
      minNotional: dec(spec.min_notional),
      takerFee: dec(spec.taker_fee),
    };
    rulesCache.set(spec, r);
  }
  return r;
}

/** k when step = 10^-k (the usual tick/lot), else undefined. */
function pow10Decimals(step: Dec): number | undefined {
  return step.c.length === 1 && step.c[0] === 1 ? -step.e : undefined;
}

/**
 * x is a multiple of step. For step = 10^-k this is a digit count on big.js's documented
 * representation (c has no trailing zeros), avoiding a decimal division per check.
 */
function onGrid(x: Dec, step: Dec, pow: number | undefined): boolean {
  return pow === undefined ? isMultipleOf(x, step) : x.c.length - 1 - x.e <= pow;
}

/** Deterministic venue order id: venue prefix + hash of the client order id. */
export function simVenueOrderId(venue: string, clientOrderId: string): string {
  return `SIM-${venue}-` + createHash('sha256').update(clientOrderId).digest('hex').slice(0, 20);
}

function parsePositive(s: string | undefined): Dec | undefined {
  if (typeof s !== 'string' || !isDecimalString(s)) return undefined;
  const d = dec(s);
  return d.gt(0) ? d : undefined;
}

/**
 * Fill an order against `book` (the snapshot at its event time `tsUs`). Reports, in order:
 * REJECTED alone; or ACK, one TRADE per level consumed, then the terminal report when the order
 * does not fill completely (MARKET: EXPIRED 'insufficient liquidity'; IOC: CANCELED; FOK: EXPIRED
 * with no trades; GTC: none, the remainder rests). A full fill has no terminal report: the last
 * TRADE completes it. MARKET orders have IOC semantics (FOK when tif is FOK).
 */
export function matchOrder(order: Order, book: Book | undefined, spec: InstrumentSpec | undefined, tsUs: number): VenueReport[] {
  const ts = microsToIso(tsUs);
  const reject = (code: RejectCode, reason: string): VenueReport[] => [{ kind: 'REJECTED', code, reason, ts }];

  if (!spec || spec.instrument_id !== order.instrument_id) return reject('UNKNOWN_SYMBOL', `unknown symbol ${order.instrument_id}`);
  if (!book) return reject('NO_MARKET_DATA', `no order book for ${order.instrument_id} at ${ts}`);
  const r = rulesOf(spec);

  const qty = parsePositive(order.qty);
  if (!qty) return reject('LOT_SIZE', `quantity must be a positive decimal, got ${JSON.stringify(order.qty)}`);
  if (qty.lt(r.minQty)) return reject('LOT_SIZE', `quantity ${order.qty} is below min_qty ${spec.min_qty}`);
  if (qty.gt(r.maxQty)) return reject('LOT_SIZE', `quantity ${order.qty} is above max_qty ${spec.max_qty}`);
  if (!onGrid(qty, r.lot, r.lotPow)) return reject('LOT_SIZE', `quantity ${order.qty} is not a multiple of lot_size ${spec.lot_size}`);

  let limit: Dec | undefined;
  if (order.order_type === 'LIMIT') {
    if (order.limit_price === undefined) return reject('PRICE_FILTER', 'LIMIT order without limit_price');
    limit = parsePositive(order.limit_price);
    if (!limit) return reject('PRICE_FILTER', `limit price must be a positive decimal, got ${JSON.stringify(order.limit_price)}`);
    if (!onGrid(limit, r.tick, r.tickPow)) return reject('PRICE_FILTER', `limit price ${order.limit_price} is not a multiple of tick_size ${spec.tick_size}`);
  }

  const buy = order.side === 'BUY';
  const levels = buy ? book.asks : book.bids;
  // Notional is checked at the limit price, or at the touch for a MARKET order (skipped on an empty side).
  const checkPrice = limit ?? levels[0]?.price;
  if (checkPrice && qty.times(checkPrice).lt(r.minNotional)) {
    return reject('MIN_NOTIONAL', `notional ${fmt(qty.times(checkPrice))} ${spec.quote} (qty × ${limit ? 'limit' : 'touch'} price) is below min_notional ${spec.min_notional}`);
  }

  const venueOrderId = simVenueOrderId(spec.venue, order.client_order_id);
  const reports: VenueReport[] = [{ kind: 'ACK', venue_order_id: venueOrderId, ts }];

  // Walk the opposite side, level by level, within the limit.
  const fills: { qty: Dec; price: Dec }[] = [];
  let remaining = qty;
  for (const level of levels) {
    if (limit && !withinLimit(order.side, level.price, limit)) break;
    // Resting quantity off the lot grid (recorded data) trades only its on-grid part.
    const q = level.qty.lt(remaining) ? (onGrid(level.qty, r.lot, r.lotPow) ? level.qty : floorTo(level.qty, r.lot)) : remaining;
    if (q.lte(0)) continue;
    fills.push({ qty: q, price: level.price });
    remaining = remaining.minus(q);
    if (remaining.eq(0)) break;
  }
  const unfilled = remaining.gt(0);

  if (order.tif === 'FOK' && unfilled) {
    const where = limit ? `at ${buy ? '<=' : '>='} ${order.limit_price}` : 'in the book';
    reports.push({ kind: 'EXPIRED', reason: `FOK: quantity ${order.qty} not fully fillable ${where}`, ts });
    return reports;
  }

  for (let i = 0; i < fills.length; i++) {
    const f = fills[i];
    reports.push({
      kind: 'TRADE',
      venue_order_id: venueOrderId,
      trade_id: `${venueOrderId}-${i + 1}`,
      qty: fmt(f.qty),
      price: fmt(f.price),
      fee: fmt(f.qty.times(f.price).times(r.takerFee)),
      fee_ccy: spec.quote,
      liquidity: 'TAKER',
      ts,
    });
  }

  if (unfilled) {
    if (order.order_type === 'MARKET') reports.push({ kind: 'EXPIRED', reason: INSUFFICIENT_LIQUIDITY, ts });
    else if (order.tif === 'IOC') reports.push({ kind: 'CANCELED', reason: `IOC: unfilled quantity ${fmt(remaining)} canceled`, ts });
    // LIMIT GTC: the remainder rests on the book; the order stays open.
  }
  return reports;
}
