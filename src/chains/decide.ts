// The chain decider: multi-leg chains on one venue, each leg funded by the previous leg's fill.
// Admission (paused, stale, minimums, slots, isolation), the cascade with fee hold and
// increment floors, FILLED / FAILED / ABORTED with an optional unwind, and one report per chain.
// Pure: the wall clock comes in the commands (`now_us`) and is recorded in the events.
import { dec, floorTo, fmt, ZERO, type Dec } from '../domain/decimal.js';
import { makeEvent, type EventSeed } from '../domain/envelope.js';
import type { InPlaceDecider } from '../domain/decider.js';
import type { Event, EventOf, NormalizedChain, Order, OrderStatus } from '../domain/events.js';
import { clientOrderId } from '../domain/ids.js';
import { isoToMicros, microsToIso } from '../domain/time.js';
import type { BookLevel, InstrumentSpec, MarketData } from '../market/types.js';
import { midPrice } from '../market/book.js';
import { belowLegMinimum, delivered, inputOf, legOrder, outputOf, paperFill, type LegFill } from './sizing.js';
import { report } from './report.js';
import { cloneChains, DEFAULT_CHAIN_SETTINGS, evolveChains, rulesOf, triangleKey, type ChainRun, type ChainSettings, type ChainsState, type LegRun } from './state.js';

export { CHAIN_FACTS, DEFAULT_CHAIN_SETTINGS, evolveChains, triangleKey, type ChainSettings, type ChainsState } from './state.js';

export type ChainCommandInput =
  | { kind: 'request'; event: EventOf<'ChainApproved'>; market: MarketData; now_us: number }
  | { kind: 'order'; event: EventOf<'OrderFilled' | 'OrderCanceled' | 'OrderRejected' | 'OrderExpired'>; market: MarketData; now_us: number }
  | { kind: 'balance'; event: EventOf<'ChainBalanceSeen'>; market: MarketData; now_us: number }
  | { kind: 'tested'; event: EventOf<'OrderTested'>; market: MarketData; now_us: number };

export type ChainEvent = EventOf<
  'ChainStarted' | 'ChainRefused' | 'ChainLegPlaced' | 'ChainLegFilled' | 'ChainCompleted' | 'OrderRouted' | 'ChainBalanceAwaited' | 'OrderTestRequested'
>;

export const chains = {
  initialState: (settings: ChainSettings = DEFAULT_CHAIN_SETTINGS): ChainsState => ({
    settings: { ...settings },
    inflight: new Map(),
    done: new Set(),
    byOrder: new Map(),
    lastBookUs: new Map(),
  }),
  decide(command: ChainCommandInput, state: ChainsState): ChainEvent[] {
    switch (command.kind) {
      case 'request':
        return admit(command, state);
      case 'order':
        return onOrder(command, state);
      case 'balance':
        return onBalance(command, state);
      case 'tested':
        return onTested(command, state);
    }
  },
  evolve: (state: ChainsState, event: Event): ChainsState => evolveChains(cloneChains(state), event),
  evolveInPlace: (state: ChainsState, event: Event): ChainsState => evolveChains(state, event),
} satisfies InPlaceDecider<ChainCommandInput, ChainsState, ChainEvent, Event>;

const seedOf = (c: NormalizedChain, causation: string, ts = c.ts): EventSeed => ({ intent_id: c.chain_id, account: c.account, strategy: c.strategy, ts, causation });

const levels = (side: 'BUY' | 'SELL', book: NormalizedChain['books'][number]): BookLevel[] =>
  (side === 'BUY' ? book.asks : book.bids).map(([price, qty]) => ({ price: dec(price), qty: dec(qty) }));

function admit(cmd: Extract<ChainCommandInput, { kind: 'request' }>, s: ChainsState): ChainEvent[] {
  const c = cmd.event.data.chain;
  const seed = seedOf(c, cmd.event.event_id);
  const refuse = (code: EventOf<'ChainRefused'>['data']['code'], reason: string): ChainEvent[] => [
    makeEvent('ChainRefused', `${c.chain_id}/chain/refused`, seed, { code, reason, triangle: c.triangle }),
  ];
  if (s.inflight.has(c.chain_id) || s.done.has(c.chain_id)) return [];
  if (s.settings.paused) return refuse('PAUSED', 'chains are paused by an operator');
  const key = triangleKey(c);
  const bookUs = isoToMicros(c.book_ts);
  const last = s.lastBookUs.get(key);
  if (last !== undefined && bookUs < last) return refuse('STALE', `books of ${c.book_ts} are older than the last ones acted on for ${key} (${microsToIso(last)})`);
  // The cascade as the signal's books predict it: every leg must clear its minimums.
  const rules = c.legs.map(rulesOf);
  let amount = dec(c.starting_amount);
  for (let i = 0; i < rules.length; i++) {
    const book = levels(rules[i].side, c.books[i]);
    const o = legOrder(rules[i], amount, book);
    if (!o || book.length === 0) return refuse('NO_MARKET_DATA', `leg ${i} (${c.legs[i].pair}) has no ${rules[i].side === 'BUY' ? 'asks' : 'bids'} in its book`);
    const low = belowLegMinimum(rules[i], o);
    if (low) return refuse('BELOW_MINIMUM', `${fmt(dec(c.starting_amount))} ${c.primary_quote} is too small: leg ${i} (${c.legs[i].pair}) would get ${low}`);
    amount = delivered(rules[i], paperFill(rules[i], o, book));
  }
  if (s.inflight.size >= s.settings.slots) return refuse('NO_SLOT', `all ${s.settings.slots} slots are taken`);
  const pairs = new Set(c.legs.map((l) => l.instrument_id));
  // Chains compete for a venue's balances: isolation holds between chains on the same venue.
  for (const [id, run] of s.inflight) {
    const other = run.chain;
    if (other.venue !== c.venue) continue;
    if (triangleKey(other) === key) return refuse('ISOLATED', `chain ${id} on the same triangle ${key} is in flight`);
    const shared = other.legs.find((l) => pairs.has(l.instrument_id));
    if (shared) return refuse('ISOLATED', `chain ${id} in flight trades ${shared.instrument_id} too`);
    if (other.primary_quote === c.primary_quote) return refuse('ISOLATED', `chain ${id} in flight works from ${c.primary_quote} too`);
  }
  const timeout = s.settings.fill_timeout_ms;
  const wait = s.settings.balance_wait_ms;
  const started = makeEvent('ChainStarted', `${c.chain_id}/chain/started`, seed, {
    chain: c,
    at_us: cmd.now_us,
    slots: s.settings.slots,
    in_flight: s.inflight.size + 1,
    fill_timeout_ms: timeout,
    balance_wait_ms: wait,
  });
  const run: ChainRun = { chain: c, rules, started_us: cmd.now_us, fill_timeout_ms: timeout, balance_wait_ms: wait, legs: [] };
  return [started, ...nextLeg(run, 0, dec(c.starting_amount), cmd.market, cmd.now_us, started.event_id)];
}

/** Places leg `i` with `amount` of its input; a paper leg fills at once and the chain goes on in the same decision. */
function nextLeg(run: ChainRun, i: number, amount: Dec, market: MarketData, now: number, causation: string): ChainEvent[] {
  const c = run.chain;
  const r = run.rules[i];
  const book = levels(r.side, c.books[i]);
  const order = legOrder(r, amount, book);
  if (!order) return finish(run, 'FAILED', `leg ${i} (${c.legs[i].pair}): no asks in its book to size the buy`, now, causation);
  const low = belowLegMinimum(r, order);
  if (low) return finish(run, 'FAILED', `leg ${i} (${c.legs[i].pair}): ${low}`, now, causation);
  // A buy's limit for a venue goes on its tick, rounded down: still no more than its funds at it.
  const spec = market.instrument(c.legs[i].instrument_id);
  const tested = c.mode === 'paper' && c.env !== 'sim';
  if ((c.mode !== 'paper' || tested) && order.limit && spec) order.limit = floorTo(order.limit, dec(spec.tick_size));
  const coid = clientOrderId(c.chain_id, i, 0);
  const seed = seedOf(c, causation);
  const placed = makeEvent('ChainLegPlaced', `${c.chain_id}/chain/leg/${i}`, seed, {
    leg: i,
    client_order_id: coid,
    input: fmt(amount),
    input_ccy: inputOf(r),
    ...(order.funds !== undefined ? { funds: fmt(order.funds) } : {}),
    qty: fmt(order.qty),
    ...(order.limit !== undefined ? { limit_price: fmt(order.limit) } : {}),
    dust: fmt(order.dust),
    paper: c.mode === 'paper',
    at_us: now,
  });
  const leg: LegRun = { client_order_id: coid, input: amount, order, fired_us: now, filled: ZERO, notional: ZERO, fee: ZERO, fee_ccy: undefined };
  // The decisions that follow read the run as the fold will have it.
  const next: ChainRun = { ...run, legs: [...run.legs, leg] };
  if (tested) {
    // Paper on a venue: its order-test endpoint checks the order first (OrderTested goes on).
    if (!spec) return finish(run, 'FAILED', `leg ${i}: ${c.legs[i].instrument_id} is not listed`, now, causation);
    const routed = legRouted(c, i, coid, spec, r.side, order.qty, order.limit, midOf(c.books[i], order), seed);
    return [placed, makeEvent('OrderTestRequested', `${c.chain_id}/chain/test/${i}`, seed, { leg: i, order: routed.data.order })];
  }
  if (c.mode === 'paper') {
    const f = paperFill(r, order, book);
    Object.assign(leg, { filled: f.filled, notional: f.notional, fee: f.fee, fee_ccy: f.fee_ccy });
    return [placed, ...legEnded(next, i, paperStatus(f.filled, order.qty), market, now, placed.event_id)];
  }
  if (!spec) return finish(run, 'FAILED', `leg ${i}: ${c.legs[i].instrument_id} is not listed`, now, causation);
  // A buy never pays more than its funds were sized at; a sell gives what it holds at the market.
  const routed = legRouted(c, i, coid, spec, r.side, order.qty, order.limit, midOf(c.books[i], order), seed, microsToIso(now + run.fill_timeout_ms * 1000));
  return [placed, routed];
}

/** The leg's reference price: its book's mid, else its limit or best bid. */
function midOf(book: NormalizedChain['books'][number], order: { limit?: Dec }): string {
  const mid = book.bids.length > 0 && book.asks.length > 0 ? dec(book.bids[0][0]).plus(book.asks[0][0]).times('0.5') : dec(order.limit ?? book.bids[0]?.[0] ?? '0');
  return fmt(mid);
}

/** A live leg on a venue waits for its balance to show the previous leg's output before it is placed. */
function awaitBalance(run: ChainRun, i: number, expected: Dec, now: number, causation: string): ChainEvent {
  const c = run.chain;
  return makeEvent('ChainBalanceAwaited', `${c.chain_id}/chain/await/${i}`, seedOf(c, causation), {
    leg: i,
    venue: c.venue,
    env: c.env,
    asset: inputOf(run.rules[i]),
    expected: fmt(expected),
    wait_ms: run.balance_wait_ms,
    at_us: now,
  });
}

/**
 * The venue's balance as the gateway saw it: leg `leg` is placed with what the previous one
 * delivered, or less when the balance shows less (never more: the rest of a balance is not the
 * chain's). Nothing there after the wait fails the chain; a cancel during the wait aborts it.
 */
function onBalance(cmd: Extract<ChainCommandInput, { kind: 'balance' }>, s: ChainsState): ChainEvent[] {
  const e = cmd.event;
  const run = s.inflight.get(e.intent_id);
  const w = run?.awaiting;
  if (!run || !w || w.leg !== e.data.leg || run.legs[w.leg] !== undefined || run.unwind) return [];
  if (run.cancel !== undefined) return finish(run, 'ABORTED', `canceled by an operator: ${run.cancel}`, cmd.now_us, e.event_id, cmd.market);
  const free = e.data.free === undefined ? undefined : dec(e.data.free);
  const amount = free === undefined || free.gte(w.expected) ? w.expected : free;
  if (!amount.gt(0)) {
    const why = e.data.error ?? `the ${w.asset} balance shows ${e.data.free ?? '?'} after ${e.data.waited_ms} ms`;
    return finish(run, 'FAILED', `balance_timeout_leg${w.leg}: ${why}; leg ${w.leg - 1} delivered ${fmt(w.expected)} ${w.asset}`, cmd.now_us, e.event_id, cmd.market);
  }
  return nextLeg(run, w.leg, amount, cmd.market, cmd.now_us, e.event_id);
}

/** A paper leg's order test answered: accepted (or a venue without the endpoint) fills from its book; refused or unanswered fails the chain. */
function onTested(cmd: Extract<ChainCommandInput, { kind: 'tested' }>, s: ChainsState): ChainEvent[] {
  const e = cmd.event;
  const run = s.inflight.get(e.intent_id);
  const i = e.data.leg;
  const leg = run?.legs[i];
  if (!run || !leg || leg.done || leg.client_order_id !== e.data.client_order_id) return [];
  if (e.data.outcome === 'rejected' || e.data.outcome === 'unknown') {
    const why = `order test ${e.data.outcome === 'rejected' ? 'refused' : 'got no answer'}: ${[e.data.code, e.data.reason].filter(Boolean).join(' ')}`;
    return legEnded(run, i, 'REJECTED', cmd.market, cmd.now_us, e.event_id, why);
  }
  const r = run.rules[i];
  const f = paperFill(r, leg.order, levels(r.side, run.chain.books[i]));
  const filled: LegRun = { ...leg, filled: f.filled, notional: f.notional, fee: f.fee, fee_ccy: f.fee_ccy };
  const next: ChainRun = { ...run, legs: run.legs.map((l, k) => (k === i ? filled : l)) };
  return legEnded(next, i, paperStatus(f.filled, leg.order.qty), cmd.market, cmd.now_us, e.event_id);
}

/** How a paper leg's order ends, as an IOC would: filled, the rest canceled, or nothing to take. */
function paperStatus(filled: Dec, qty: Dec): OrderStatus {
  return filled.gt(0) ? (filled.eq(qty) ? 'FILLED' : 'CANCELED') : 'EXPIRED';
}

/** A leg's order (the unwind's too): IOC, LIMIT when it has a limit, else MARKET. */
function legRouted(
  c: NormalizedChain,
  leg: number,
  coid: string,
  spec: InstrumentSpec,
  side: 'BUY' | 'SELL',
  qty: Dec,
  limit: Dec | undefined,
  refPrice: string,
  seed: EventSeed,
  expireAt?: string,
): EventOf<'OrderRouted'> {
  const order = {
    client_order_id: coid,
    intent_id: c.chain_id,
    leg,
    attempt: 0,
    account: c.account,
    strategy: c.strategy,
    env: c.env,
    instrument_id: spec.instrument_id,
    venue: spec.venue,
    symbol: spec.symbol,
    side,
    order_type: limit ? 'LIMIT' : 'MARKET',
    qty: fmt(qty),
  } as Order;
  if (limit) order.limit_price = fmt(limit);
  order.tif = 'IOC';
  if (expireAt !== undefined) order.expire_at = expireAt;
  order.ref_price = refPrice;
  return makeEvent('OrderRouted', `${c.chain_id}/route/${leg}`, seed, { order });
}

function onOrder(cmd: Extract<ChainCommandInput, { kind: 'order' }>, s: ChainsState): ChainEvent[] {
  const e = cmd.event;
  const coid = e.data.client_order_id;
  const id = s.byOrder.get(coid);
  const run = id === undefined ? undefined : s.inflight.get(id);
  if (!run) return [];
  if (e.type === 'OrderFilled' && e.data.status !== 'FILLED') return []; // the fold sums partial fills
  const status: OrderStatus = e.type === 'OrderFilled' ? 'FILLED' : e.type === 'OrderCanceled' ? 'CANCELED' : e.type === 'OrderRejected' ? 'REJECTED' : 'EXPIRED';
  if (run.unwind && run.unwind.leg.client_order_id === coid) return unwindEnded(run, status, cmd.now_us, e.event_id);
  const i = run.legs.findIndex((l) => l.client_order_id === coid);
  if (i < 0 || run.legs[i].done) return [];
  const why = e.type === 'OrderRejected' ? `rejected: ${e.data.code} ${e.data.reason}` : undefined;
  return legEnded(run, i, status, cmd.market, cmd.now_us, e.event_id, why);
}

/** Leg `i`'s order ended with what the run has summed of its fills: the chain goes on, or ends. */
function legEnded(run: ChainRun, i: number, status: OrderStatus, market: MarketData, now: number, causation: string, why?: string): ChainEvent[] {
  const c = run.chain;
  const r = run.rules[i];
  const leg = run.legs[i];
  const fill: LegFill = { filled: leg.filled, notional: leg.notional, fee: leg.fee, fee_ccy: leg.fee_ccy ?? r.quote };
  const out = delivered(r, fill);
  const ended = makeEvent('ChainLegFilled', `${c.chain_id}/chain/fill/${i}`, seedOf(c, causation), {
    leg: i,
    client_order_id: leg.client_order_id,
    status,
    filled_qty: fmt(fill.filled),
    notional: fmt(fill.notional),
    avg_price: fill.filled.gt(0) ? fmt(fill.notional.div(fill.filled)) : '0',
    fee: fmt(fill.fee),
    fee_ccy: fill.fee_ccy,
    delivered: fmt(out),
    at_us: now,
  });
  const done: ChainRun = { ...run, legs: run.legs.map((l, k) => (k === i ? { ...l, done: { status, delivered: out, at_us: now } } : l)) };
  if (status === 'REJECTED' || !fill.filled.gt(0)) {
    const timedOut = now - leg.fired_us >= run.fill_timeout_ms * 1000;
    const error = why ?? (timedOut ? `fill_timeout_leg${i}: no fill within ${run.fill_timeout_ms} ms` : `leg ${i} (${c.legs[i].pair}) ended ${status} without a fill`);
    return [ended, ...finish(done, 'FAILED', error, now, ended.event_id, market)];
  }
  if (i === c.legs.length - 1) return [ended, ...finish(done, 'FILLED', undefined, now, ended.event_id, market)];
  if (done.cancel !== undefined) return [ended, ...finish(done, 'ABORTED', `canceled by an operator: ${done.cancel}`, now, ended.event_id, market)];
  if (c.mode === 'live' && c.env !== 'sim' && run.balance_wait_ms > 0) return [ended, awaitBalance(done, i + 1, out, now, ended.event_id)];
  return [ended, ...nextLeg(done, i + 1, out, market, now, ended.event_id)];
}

/** What the chain holds when it stops early: the last finished leg's output (nothing when no leg filled). */
function heldOf(run: ChainRun): { asset: string; amount: Dec } | undefined {
  for (let i = run.legs.length - 1; i >= 0; i--) {
    const l = run.legs[i];
    if (!l.done || !l.done.delivered.gt(0)) continue;
    const asset = outputOf(run.rules[i]);
    return asset === run.chain.primary_quote ? undefined : { asset, amount: l.done.delivered };
  }
  return undefined;
}

/** The chain stops: an unwind first when the policy says so and something is held, else its report. */
function finish(run: ChainRun, status: 'FILLED' | 'FAILED' | 'ABORTED', error: string | undefined, now: number, causation: string, market?: MarketData): ChainEvent[] {
  const c = run.chain;
  const held = status === 'FILLED' ? undefined : heldOf(run);
  if (held && c.on_failure === 'unwind' && market && c.mode !== 'paper') {
    const spec = market.instruments().find((x) => x.venue === c.venue && x.base === held.asset && x.quote === c.primary_quote);
    if (spec) {
      const qty = floorTo(held.amount, dec(spec.lot_size));
      if (qty.gt(0) && status !== 'FILLED') {
        const i = c.legs.length;
        const coid = clientOrderId(c.chain_id, i, 0);
        const seed = seedOf(c, causation);
        const mid = midPrice(market.bookAt(spec.instrument_id, isoToMicros(c.ts)));
        const routed = legRouted(c, i, coid, spec, 'SELL', qty, undefined, mid ? fmt(mid) : '0', seed);
        const placed = makeEvent('ChainLegPlaced', `${c.chain_id}/chain/leg/${i}`, seed, {
          leg: i,
          client_order_id: coid,
          input: fmt(held.amount),
          input_ccy: held.asset,
          qty: fmt(qty),
          dust: fmt(held.amount.minus(qty)),
          paper: false,
          at_us: now,
          ending: { status, error: error ?? status },
        });
        return [placed, routed];
      }
    }
  }
  return [report(run, status, error, held, undefined, now, causation)];
}

function unwindEnded(run: ChainRun, status: OrderStatus, now: number, causation: string): ChainEvent[] {
  const u = run.unwind!;
  const l = u.leg;
  const fee_ccy = l.fee_ccy ?? run.chain.primary_quote;
  const got = fee_ccy === run.chain.primary_quote ? l.notional.minus(l.fee) : l.notional;
  const i = run.chain.legs.length;
  const ended = makeEvent('ChainLegFilled', `${run.chain.chain_id}/chain/fill/${i}`, seedOf(run.chain, causation), {
    leg: i,
    client_order_id: l.client_order_id,
    status,
    filled_qty: fmt(l.filled),
    notional: fmt(l.notional),
    avg_price: l.filled.gt(0) ? fmt(l.notional.div(l.filled)) : '0',
    fee: fmt(l.fee),
    fee_ccy,
    delivered: fmt(got),
    at_us: now,
  });
  const left = l.input.minus(l.filled);
  const held = left.gt(0) ? { asset: u.asset, amount: left } : undefined;
  return [ended, report(run, u.ending.status, u.ending.error, held, { asset: u.asset, sold: fmt(l.filled), delivered: fmt(got) }, now, ended.event_id)];
}
