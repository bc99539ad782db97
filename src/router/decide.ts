// Routing: a risk-approved intent becomes orders on venues: its one venue's, or for several
// candidates the cheapest route, whole or split (src/router/cost.ts). Pure.
import { ceilTo, dec, floorTo, fmt, ZERO, type Dec } from '../domain/decimal.js';
import { makeEvent, type EventSeed } from '../domain/envelope.js';
import type { InPlaceDecider } from '../domain/decider.js';
import type { Event, EventOf, NormalizedIntent, Order } from '../domain/events.js';
import { clientOrderId } from '../domain/ids.js';
import { midPrice, quantityForNotional } from '../market/book.js';
import type { Book, InstrumentSpec, MarketData } from '../market/types.js';
import { isoToMicros } from '../domain/time.js';
import { costBps, planRoute, type RoutePlan, type VenueQuote } from './cost.js';
import { cloneRouterState, emptyRouterState, evolveRouter, venueKey, type RouterState } from './state.js';
import { outsideWindow, type TradingWindows } from './windows.js';

const ONE = dec(1);
/** One basis point as a rate: multiplying by it is exact, where dividing by 10,000 rounds. */
const PER_BP = dec('0.0001');

/** A candidate of a routing decision, as recorded. */
type RouteCandidate = EventOf<'RouteDecided'>['data']['candidates'][number];

/** How the smart router weighs venues: penalty per ms of ack latency, and whether it may split. */
export interface RouterSettings {
  /** bps of notional added per ms of a venue's measured placement round trip. */
  latency_bps_per_ms: string;
  /** false: the whole order goes to the cheapest venue, never split. */
  split: boolean;
  /** When venues take orders (FILLSTREAM_ROUTE_WINDOWS); a venue not named, or no windows: around the clock. */
  windows?: TradingWindows;
}

export const DEFAULT_ROUTER_SETTINGS: RouterSettings = Object.freeze({ latency_bps_per_ms: '0.01', split: true });

/** A risk-approved intent to route, with the venues' instruments and books (read at the intent's time). */
export interface RouteIntent {
  approved: EventOf<'RiskApproved' | 'OrderChangeApproved'>;
  market: MarketData;
  settings?: RouterSettings;
}

export type { RouterState } from './state.js';

export type RouterEvent = EventOf<'OrderRouted' | 'OrderChangeRouted' | 'RouteDecided'>;

/** What the router folds: its own events, and the gateway's (standings, latencies, balances, fills). */
export type RouterFact = RouterEvent | Event;

/**
 * The router's decider. Its state is folded in place by the stages that own it (`evolve` copies
 * it first). A hold on a balance is priced with the instrument's fee: a stage gives its state the
 * market's instruments (routerStateFor).
 */
export const router = {
  initialState: (): RouterState => emptyRouterState(),
  decide: (command: RouteIntent, state: RouterState): RouterEvent[] =>
    command.approved.type === 'OrderChangeApproved' ? [routeChange(command.approved)] : route(command as RouteOrder, state),
  evolve: (state: RouterState, event: RouterFact): RouterState => evolveRouter(cloneRouterState(state), event),
  evolveInPlace: (state: RouterState, event: RouterFact): RouterState => evolveRouter(state, event),
} satisfies InPlaceDecider<RouteIntent, RouterState, RouterEvent, RouterFact>;

type RouteOrder = { approved: EventOf<'RiskApproved'>; market: MarketData; settings?: RouterSettings };

/** A cancel or amend goes where the target's orders are: the gateway holds them. */
function routeChange(event: EventOf<'OrderChangeApproved'>): EventOf<'OrderChangeRouted'> {
  const seed = { intent_id: event.intent_id, account: event.account, strategy: event.strategy, ts: event.ts, causation: event.event_id };
  return makeEvent('OrderChangeRouted', `${event.intent_id}/route/change`, seed, { request: event.data.request });
}

function route(cmd: RouteOrder, state: RouterState): RouterEvent[] {
  const intent = cmd.approved.data.intent;
  if (intent.venues.length > 1) return routeSmart(cmd, state);
  return [routeWhole(cmd)];
}

function routeWhole({ approved: event, market }: RouteOrder): EventOf<'OrderRouted'> {
  const intent = event.data.intent;
  const spec = market.instrument(intent.venues[0])!;
  // Risk may have narrowed the candidates to a venue other than the one the intent was sized on:
  // quantity and reference price then come from the chosen venue's own book.
  let qty = intent.qty;
  let refPrice = intent.ref_price;
  if (spec.instrument_id !== intent.sized_on) {
    const book = market.bookAt(spec.instrument_id, isoToMicros(intent.ts));
    const mid = midPrice(book);
    if (book && mid) {
      refPrice = fmt(mid);
      const walked = intent.size.type === 'notional' ? quantityForNotional(book, intent.side, dec(intent.size.value)) : undefined;
      if (walked) qty = fmt(walked);
    }
  }
  // A notional-sized intent may land on a venue with a coarser lot than the one it was sized on.
  if (intent.size.type === 'notional') qty = fmt(floorTo(dec(qty), dec(spec.lot_size)));
  return childOrder(event, spec, qty, refPrice, 0);
}

/** The order one venue gets for `qty` of the intent, its order type and limit from the intent's constraints. */
function childOrder(event: EventOf<'RiskApproved'>, spec: InstrumentSpec, qty: string, refPrice: string, leg: number): EventOf<'OrderRouted'> {
  const intent = event.data.intent;
  const seed = { intent_id: event.intent_id, account: event.account, strategy: event.strategy, ts: event.ts, causation: event.event_id };
  const { orderType, limitPrice, tif } = orderTerms(intent, spec, refPrice);
  // Optional fields assigned in place, in the order events have always had: spreading
  // `...(x ? { field } : {})` into the literal costs an object per field on the hot path.
  const order = {
    client_order_id: clientOrderId(intent.intent_id, leg, 0),
    intent_id: intent.intent_id,
    leg,
    attempt: 0,
    account: intent.account,
    strategy: intent.strategy,
    env: intent.env,
    instrument_id: spec.instrument_id,
    venue: spec.venue,
    symbol: spec.symbol,
    side: intent.side,
    order_type: orderType,
    qty,
  } as Order;
  if (limitPrice !== undefined) order.limit_price = limitPrice;
  order.tif = tif;
  if (intent.expire_at !== undefined) order.expire_at = intent.expire_at;
  if (intent.stop_loss !== undefined) order.stop_loss = intent.stop_loss;
  order.ref_price = refPrice;
  return makeEvent('OrderRouted', `${intent.intent_id}/route/${leg}`, seed, { order });
}

/**
 * Order type, limit and time in force on one venue. A slippage cap on a MARKET order becomes a
 * marketable LIMIT at the protective price off that venue's reference (venues take no price guard
 * on market orders, and this keeps the cap exact).
 */
function orderTerms(intent: NormalizedIntent, spec: InstrumentSpec, refPrice: string): { orderType: Order['order_type']; limitPrice?: string; tif: Order['tif'] } {
  if (intent.order_type !== 'MARKET' || intent.max_slippage_bps === undefined) return { orderType: intent.order_type, limitPrice: intent.limit_price, tif: intent.tif };
  return { orderType: 'LIMIT', limitPrice: fmt(slippageGuard(intent, spec, dec(refPrice))), tif: intent.tif === 'FOK' ? 'FOK' : 'IOC' };
}

function slippageGuard(intent: NormalizedIntent, spec: InstrumentSpec, ref: Dec): Dec {
  const band = dec(intent.max_slippage_bps!).div(10_000);
  const tick = dec(spec.tick_size);
  return intent.side === 'BUY' ? floorTo(ref.times(ONE.plus(band)), tick) : ceilTo(ref.times(ONE.minus(band)), tick);
}

/**
 * An intent with several candidate venues: each priced from its book at the intent's time (walk,
 * taker fee, latency penalty), those that cannot take it left out with the reason, then the whole
 * order on the cheapest or split across them where that is cheaper. The decision is recorded with
 * every candidate and its cost before the orders it gives.
 */
function routeSmart(cmd: RouteOrder, state: RouterState): RouterEvent[] {
  const event = cmd.approved;
  const intent = event.data.intent;
  const settings = cmd.settings ?? DEFAULT_ROUTER_SETTINGS;
  const tsUs = isoToMicros(intent.ts);
  const perMs = settings.latency_bps_per_ms;
  const qty = dec(intent.qty);
  const rows: RouteCandidate[] = [];
  const quotes: VenueQuote[] = [];
  const quoted: number[] = [];
  const specs: InstrumentSpec[] = [];
  const books: Book[] = [];
  for (const id of intent.venues) {
    const spec = cmd.market.instrument(id);
    if (!spec) {
      rows.push({ instrument_id: id, excluded: 'not a listed instrument', qty: '0' });
      continue;
    }
    const key = venueKey(intent.env, spec.venue);
    const latency = state.latency.get(key);
    const row: RouteCandidate = { instrument_id: id, qty: '0' };
    if (latency !== undefined) row.latency_ms = latencyOf(latency).text;
    rows.push(row);
    const halted = state.halted.get(key);
    const quarantined = state.quarantined.get(key);
    const book = cmd.market.bookAt(id, tsUs);
    const closed = outsideWindow(settings.windows, spec.venue, tsUs);
    if (halted !== undefined) row.excluded = `${spec.venue} (${intent.env}) is halted: ${halted}`;
    else if (quarantined !== undefined) row.excluded = `${spec.venue} (${intent.env}) is in quarantine: ${quarantined}`;
    else if (closed !== undefined) row.excluded = closed;
    else if (!book || book.bids.length === 0 || book.asks.length === 0) row.excluded = `no book for ${id} at ${intent.ts}`;
    if (row.excluded !== undefined) continue;
    const q = quoteOf(intent, spec, book!, latency, perMs, state.balances.get(key));
    if (typeof q === 'string') {
      row.excluded = q;
      continue;
    }
    quotes.push(q);
    quoted.push(rows.length - 1);
    specs.push(spec);
    books.push(book!);
  }

  const events: RouterEvent[] = [];
  const plan = quotes.length > 0 ? planRoute(quotes, intent.side, qty, settings.split) : undefined;
  const children: { spec: InstrumentSpec; qty: Dec; book: Book }[] = [];
  if (plan) {
    plan.whole.forEach((p, k) => {
      const row = rows[quoted[k]];
      row.filled_qty = fmt(p.filled);
      row.notional = fmt(p.notional);
      row.fee = fmt(p.fee);
      row.penalty = fmt(p.penalty);
      row.cost = fmt(p.cost);
      if (plan.dropped.has(k)) row.excluded = `left out of the split: ${plan.dropped.get(k)!}`;
      if (plan.qty[k].gt(0)) {
        row.qty = fmt(plan.qty[k]);
        children.push({ spec: specs[k], qty: plan.qty[k], book: books[k] });
      }
    });
  }
  const seed = { intent_id: event.intent_id, account: event.account, strategy: event.strategy, ts: event.ts, causation: event.event_id };
  let reason: string;
  if (children.length === 0) {
    // No venue can take it: the first candidate gets it whole, and its gateway or venue refuses it with the reason.
    const fallback = cmd.market.instrument(intent.venues[0])!;
    rows[0].qty = intent.qty;
    reason = `no candidate can take ${intent.qty} ${intent.base}: sent to ${fallback.instrument_id}, the first candidate, which will refuse or fill what it can`;
    events.push(decided(seed, intent, settings, rows, plan, reason));
    events.push(childOrder(event, fallback, intent.qty, intent.ref_price, 0));
    return events;
  }
  reason =
    children.length === 1
      ? `whole on ${children[0].spec.instrument_id}: the cheapest venue for ${fmt(children[0].qty)} ${intent.base}`
      : `split across ${children.map((c) => `${c.spec.instrument_id} ${fmt(c.qty)}`).join(', ')}: cheaper than any venue alone`;
  events.push(decided(seed, intent, settings, rows, plan, reason));
  // Each child's reference price is its own venue's mid.
  children.forEach((c, leg) => events.push(childOrder(event, c.spec, fmt(c.qty), fmt(midPrice(c.book)!), leg)));
  return events;
}

function decided(
  seed: EventSeed,
  intent: NormalizedIntent,
  settings: RouterSettings,
  rows: RouteCandidate[],
  plan: RoutePlan | undefined,
  reason: string,
): EventOf<'RouteDecided'> {
  const data: EventOf<'RouteDecided'>['data'] = {
    side: intent.side,
    qty: intent.qty,
    split: plan?.split ?? false,
    latency_bps_per_ms: settings.latency_bps_per_ms,
    candidates: rows,
    unrouted_qty: plan ? fmt(plan.unrouted) : intent.qty,
    reason,
  };
  if (plan && plan.chosen.filled.gt(0)) {
    data.cost = fmt(plan.chosen.cost);
    const bps = costBps(intent.side, plan.chosen, dec(intent.ref_price));
    if (bps !== undefined) data.cost_bps = fmt(bps);
  }
  return makeEvent('RouteDecided', `${intent.intent_id}/route/decided`, seed, data);
}

/** One venue as the cost model sees it, or why it cannot take the order. */
function quoteOf(intent: NormalizedIntent, spec: InstrumentSpec, book: Book, latency: Dec | undefined, perMs: string, balances: Map<string, Dec> | undefined): VenueQuote | string {
  let limit: Dec | undefined;
  if (intent.order_type === 'LIMIT' && intent.limit_price !== undefined) limit = dec(intent.limit_price);
  else if (intent.max_slippage_bps !== undefined) limit = slippageGuard(intent, spec, midPrice(book)!);
  const rules = rulesOf(spec);
  let maxQty = rules.maxQty;
  let maxFunds: Dec | undefined;
  if (balances) {
    // A venue whose free balance is known and short is left out; a partial one caps its share.
    const asset = intent.side === 'BUY' ? spec.quote : spec.base;
    const free = balances.get(asset) ?? ZERO;
    if (!free.gt(0)) return `no free ${asset} on ${spec.venue} (${fmt(free)})`;
    if (intent.side === 'BUY') maxFunds = free;
    else if (free.lt(maxQty)) maxQty = free;
  }
  const q: VenueQuote = {
    spec,
    book,
    fee: rules.fee,
    penalty: latency === undefined ? ZERO : penaltyRate(latency, perMs),
    maxQty,
    lot: rules.lot,
    minQty: rules.minQty,
    minNotional: rules.minNotional,
  };
  if (limit !== undefined) q.limit = limit;
  if (maxFunds !== undefined) q.maxFunds = maxFunds;
  return q;
}

// A venue's latency changes only when a placement is folded (a new Dec each time): its text and
// its penalty rate per setting are worked out once per value, not once per decision.
const latencies = new WeakMap<Dec, { text: string; rates: Map<string, Dec> }>();
function latencyOf(latency: Dec): { text: string; rates: Map<string, Dec> } {
  let l = latencies.get(latency);
  if (!l) latencies.set(latency, (l = { text: fmt(latency), rates: new Map() }));
  return l;
}

/** bps per ms × the latency, as a rate of notional. */
function penaltyRate(latency: Dec, perMs: string): Dec {
  const rates = latencyOf(latency).rates;
  let r = rates.get(perMs);
  if (!r) rates.set(perMs, (r = dec(perMs).times(latency).times(PER_BP)));
  return r;
}

/** An instrument's rules as decimals, parsed once per spec. */
interface Rules {
  fee: Dec;
  maxQty: Dec;
  lot: Dec;
  minQty: Dec;
  minNotional: Dec;
}
const rulesBySpec = new WeakMap<InstrumentSpec, Rules>();
function rulesOf(spec: InstrumentSpec): Rules {
  let r = rulesBySpec.get(spec);
  if (!r) {
    r = { fee: dec(spec.taker_fee), maxQty: dec(spec.max_qty), lot: dec(spec.lot_size), minQty: dec(spec.min_qty), minNotional: dec(spec.min_notional) };
    rulesBySpec.set(spec, r);
  }
  return r;
}
