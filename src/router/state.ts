// What the smart router knows of each venue, as a fold of the gateway's events: which venues take
// no orders (halted, quarantined), how fast each answers (placement round trips), and the free
// balances venues reported, less what routed orders still hold. Pure.
import { dec, ZERO, type Dec } from '../domain/decimal.js';
import type { Event, EventOf } from '../domain/events.js';
import type { Side } from '../domain/intent.js';
import type { InstrumentSpec } from '../market/types.js';

export type InstrumentLookup = (instrumentId: string) => InstrumentSpec | undefined;

/** A routed order's hold on a venue's balance until it ends. */
interface Hold {
  key: string;
  side: Side;
  base: string;
  quote: string;
  /** What is still held: quote funds (BUY) or base quantity (SELL). */
  held: Dec;
  /** Base quantity not yet filled. */
  open: Dec;
}

export interface RouterState {
  /** `env:VENUE` → why the gateway takes no orders there. */
  halted: Map<string, string>;
  quarantined: Map<string, string>;
  /** `env:VENUE` → placement round trip, ms: a moving average of the last ones (weight 1/5 each). */
  latency: Map<string, Dec>;
  /** `env:VENUE` → free balance by asset, once the venue reported one; less what routed orders hold. */
  balances: Map<string, Map<string, Dec>>;
  /** client_order_id → its hold, for venues with known balances. */
  holds: Map<string, Hold>;
  /** The instruments a hold is priced with (its assets and taker fee): the stage's market. */
  instrument: InstrumentLookup;
}

/** The gateway events the router folds. */
export const ROUTER_FACTS: ReadonlySet<string> = new Set([
  'OrderRouted',
  'OrderSubmitted',
  'OrderFilled',
  'OrderCanceled',
  'OrderRejected',
  'OrderExpired',
  'VenueReady',
  'VenueHalted',
  'VenueResumed',
  'AccountQuarantined',
  'QuarantineCleared',
]);

export const isRouterFact = (type: string): boolean => ROUTER_FACTS.has(type);

export const venueKey = (env: string, venue: string): string => `${env}:${venue}`;

export function emptyRouterState(instrument: InstrumentLookup = () => undefined): RouterState {
  return { halted: new Map(), quarantined: new Map(), latency: new Map(), balances: new Map(), holds: new Map(), instrument };
}

/** An empty state that prices holds with `market`'s instruments. */
export function routerStateFor(market: { instrument: InstrumentLookup }): RouterState {
  return emptyRouterState((id) => market.instrument(id));
}

const WEIGHT = dec('0.2');
const ONE = dec(1);

/**
 * A BUY holds its funds at the price it was routed at (limit, else the reference price) plus the
 * taker fee; a SELL holds its quantity. The fee rate comes with the order's instrument.
 */
export function holdOf(side: Side, qty: Dec, price: Dec, fee: Dec): Dec {
  return side === 'BUY' ? qty.times(price).times(ONE.plus(fee)) : qty;
}

/** Folds one gateway event into the router's state, in place; an event folded twice changes nothing more. */
export function evolveRouter(s: RouterState, e: Event): RouterState {
  switch (e.type) {
    case 'VenueHalted':
      s.halted.set(venueKey(e.data.env, e.data.venue), e.data.reason);
      return s;
    case 'VenueResumed':
      s.halted.delete(venueKey(e.data.env, e.data.venue));
      return s;
    case 'AccountQuarantined':
      if (!s.quarantined.has(venueKey(e.data.env, e.data.venue))) s.quarantined.set(venueKey(e.data.env, e.data.venue), e.data.reason);
      return s;
    case 'QuarantineCleared':
      s.quarantined.delete(venueKey(e.data.env, e.data.venue));
      return s;
    case 'VenueReady':
      // Free balances as the venue says: what open orders lock is already not free there.
      if (e.data.balances) s.balances.set(venueKey(e.data.env, e.data.venue), new Map(Object.entries(e.data.balances).map(([a, v]) => [a, dec(v)])));
      return s;
    case 'OrderSubmitted': {
      // The simulator's round trip is not its venue's: sim routing stays a function of the books
      // alone (a backtest decides the same however fast the machine ran it).
      if (e.data.latency_ms === undefined || e.data.env === undefined || e.data.env === 'sim' || e.data.recovered) return s;
      const key = venueKey(e.data.env, e.data.venue);
      const x = dec(e.data.latency_ms);
      const prev = s.latency.get(key);
      s.latency.set(key, prev === undefined ? x : prev.plus(x.minus(prev).times(WEIGHT)).round(3));
      return s;
    }
    case 'OrderRouted':
      hold(s, e);
      return s;
    case 'OrderFilled':
      filled(s, e);
      return s;
    case 'OrderCanceled':
    case 'OrderRejected':
    case 'OrderExpired':
      release(s, e.data.client_order_id);
      return s;
    default:
      return s;
  }
}

function hold(s: RouterState, e: EventOf<'OrderRouted'>): void {
  const o = e.data.order;
  const key = venueKey(o.env, o.venue);
  const balances = s.balances.get(key);
  const spec = s.instrument(o.instrument_id);
  if (!balances || !spec || s.holds.has(o.client_order_id)) return;
  const qty = dec(o.qty);
  const held = holdOf(o.side, qty, dec(o.limit_price ?? o.ref_price), dec(spec.taker_fee));
  const asset = o.side === 'BUY' ? spec.quote : spec.base;
  balances.set(asset, (balances.get(asset) ?? ZERO).minus(held));
  s.holds.set(o.client_order_id, { key, side: o.side, base: spec.base, quote: spec.quote, held, open: qty });
}

function filled(s: RouterState, e: EventOf<'OrderFilled'>): void {
  const h = s.holds.get(e.data.client_order_id);
  if (!h) return;
  const balances = s.balances.get(h.key);
  if (!balances) return;
  const f = e.data.fill;
  const qty = dec(f.qty);
  const notional = qty.times(dec(f.price));
  const fee = dec(f.fee);
  const add = (asset: string, x: Dec) => balances.set(asset, (balances.get(asset) ?? ZERO).plus(x));
  if (h.side === 'BUY') {
    // The funds held pay for the fill; what it bought is free (less a fee taken from it).
    const spent = notional.plus(f.fee_ccy === h.quote ? fee : ZERO);
    h.held = h.held.minus(spent);
    add(h.base, f.fee_ccy === h.base ? qty.minus(fee) : qty);
  } else {
    h.held = h.held.minus(qty);
    add(h.quote, f.fee_ccy === h.quote ? notional.minus(fee) : notional);
  }
  if (f.fee_ccy !== h.base && f.fee_ccy !== h.quote) add(f.fee_ccy, ZERO.minus(fee));
  h.open = h.open.minus(qty);
  if (e.data.status === 'FILLED') release(s, e.data.client_order_id);
}

/** An order ended: what it still held is free again (a BUY that filled above its routed price may give back less than nothing). */
function release(s: RouterState, coid: string): void {
  const h = s.holds.get(coid);
  if (!h) return;
  s.holds.delete(coid);
  const balances = s.balances.get(h.key);
  if (!balances) return;
  const asset = h.side === 'BUY' ? h.quote : h.base;
  balances.set(asset, (balances.get(asset) ?? ZERO).plus(h.held));
}

/** A copy sharing nothing mutable with `s` (the pure evolve folds into it). */
export function cloneRouterState(s: RouterState): RouterState {
  return {
    halted: new Map(s.halted),
    quarantined: new Map(s.quarantined),
    latency: new Map(s.latency),
    balances: new Map([...s.balances].map(([k, m]) => [k, new Map(m)])),
    holds: new Map([...s.holds].map(([k, h]) => [k, { ...h }])),
    instrument: s.instrument,
  };
}
