// The chain decider: multi-leg chains on one venue, each leg funded by the previous leg's fill.
// Admission (paused, halted, stale, minimums, slots, isolation), the cascade with fee hold and
// increment floors, FILLED / FAILED / ABORTED with an optional unwind, and one report per chain.
// Pure: the wall clock comes in the commands (`now_us`) and is recorded in the events.
import { dec, floorTo, fmt, ZERO, type Dec } from '../domain/decimal.js';
import { makeEvent, type EventSeed } from '../domain/envelope.js';
import type { InPlaceDecider } from '../domain/decider.js';
import type { ChainLeg, Event, EventOf, NormalizedChain, Order, OrderStatus } from '../domain/events.js';
import { clientOrderId } from '../domain/ids.js';
import { isoToMicros, microsToIso } from '../domain/time.js';
import type { BookLevel, InstrumentSpec, MarketData } from '../market/types.js';
import { midPrice } from '../market/book.js';
import { belowLegMinimum, delivered, inputOf, legOrder, outputOf, paperFill, profitOf, spent, type LegFill, type LegOrder, type LegRules } from './sizing.js';

export interface ChainSettings {
  /** Chains in flight at once. */
  slots: number;
  paused: boolean;
  /** A live leg's order expires on its venue this long after it was sent (the gateway cancels it). */
  fill_timeout_ms: number;
}

export const DEFAULT_CHAIN_SETTINGS: ChainSettings = Object.freeze({ slots: 4, paused: false, fill_timeout_ms: 10_000 });

/** A leg in flight or done. */
interface LegRun {
  client_order_id: string;
  input: Dec;
  order: LegOrder;
  fired_us: number;
  filled: Dec;
  notional: Dec;
  fee: Dec;
  fee_ccy: string | undefined;
  done?: { status: OrderStatus; delivered: Dec; at_us: number };
}

interface ChainRun {
  chain: NormalizedChain;
  rules: LegRules[];
  started_us: number;
  fill_timeout_ms: number;
  legs: LegRun[];
  /** An operator asked to cancel: honoured before the next leg. */
  cancel?: string;
  /** Selling held inventory back after a failure: the report waits for it. */
  unwind?: { leg: LegRun; asset: string; ending: { status: 'FAILED' | 'ABORTED'; error: string } };
}

export interface ChainsState {
  settings: ChainSettings;
  inflight: Map<string, ChainRun>;
  /** Chains reported: their events coming round again change nothing. */
  done: Set<string>;
  /** A leg's client order id → its chain. */
  byOrder: Map<string, string>;
  /** Triangle key → the newest book time admitted for it: an older signal is stale. */
  lastBookUs: Map<string, number>;
}

export type ChainCommandInput =
  | { kind: 'request'; event: EventOf<'ChainApproved'>; market: MarketData; now_us: number }
  | { kind: 'order'; event: EventOf<'OrderFilled' | 'OrderCanceled' | 'OrderRejected' | 'OrderExpired'>; market: MarketData; now_us: number };

export type ChainEvent = EventOf<'ChainStarted' | 'ChainRefused' | 'ChainLegPlaced' | 'ChainLegFilled' | 'ChainCompleted' | 'OrderRouted'>;

/** Event types the chain fold reads (besides its own). */
export const CHAIN_FACTS: ReadonlySet<string> = new Set(['ChainStarted', 'ChainLegPlaced', 'ChainLegFilled', 'ChainCompleted', 'ChainCommand', 'OrderFilled']);

export const chains = {
  initialState: (settings: ChainSettings = DEFAULT_CHAIN_SETTINGS): ChainsState => ({
    settings: { ...settings },
    inflight: new Map(),
    done: new Set(),
    byOrder: new Map(),
    lastBookUs: new Map(),
  }),
  decide(command: ChainCommandInput, state: ChainsState): ChainEvent[] {
    return command.kind === 'request' ? admit(command, state) : onOrder(command, state);
  },
  evolve: (state: ChainsState, event: Event): ChainsState => evolveChains(cloneChains(state), event),
  evolveInPlace: (state: ChainsState, event: Event): ChainsState => evolveChains(state, event),
} satisfies InPlaceDecider<ChainCommandInput, ChainsState, ChainEvent, Event>;

/** The triangle's key: its currencies, in any order. */
export const triangleKey = (c: Pick<NormalizedChain, 'triangle' | 'venue'>): string => `${c.venue}:${[...new Set(c.triangle)].sort().join('/')}`;

const seedOf = (c: NormalizedChain, causation: string, ts = c.ts): EventSeed => ({ intent_id: c.chain_id, account: c.account, strategy: c.strategy, ts, causation });

export function rulesOf(l: ChainLeg): LegRules {
  return {
    side: l.side,
    base: l.base,
    quote: l.quote,
    fee_rate: dec(l.fee_rate),
    fee_currency: l.fee_currency,
    base_increment: dec(l.base_increment),
    quote_increment: dec(l.quote_increment),
    base_min_size: dec(l.base_min_size),
    quote_min_size: dec(l.quote_min_size),
  };
}

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
  const started = makeEvent('ChainStarted', `${c.chain_id}/chain/started`, seed, {
    chain: c,
    at_us: cmd.now_us,
    slots: s.settings.slots,
    in_flight: s.inflight.size + 1,
    fill_timeout_ms: timeout,
  });
  const run: ChainRun = { chain: c, rules, started_us: cmd.now_us, fill_timeout_ms: timeout, legs: [] };
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
  // A live buy's limit goes on the venue's tick, rounded down: still no more than its funds at it.
  const spec = market.instrument(c.legs[i].instrument_id);
  if (c.mode !== 'paper' && order.limit && spec) order.limit = floorTo(order.limit, dec(spec.tick_size));
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
  if (c.mode === 'paper') {
    const f = paperFill(r, order, book);
    Object.assign(leg, { filled: f.filled, notional: f.notional, fee: f.fee, fee_ccy: f.fee_ccy });
    return [placed, ...legEnded(next, i, f.filled.gt(0) ? (f.filled.eq(order.qty) ? 'FILLED' : 'CANCELED') : 'EXPIRED', market, now, placed.event_id)];
  }
  if (!spec) return finish(run, 'FAILED', `leg ${i}: ${c.legs[i].instrument_id} is not listed`, now, causation);
  const book0 = c.books[i];
  const mid = book0.bids.length > 0 && book0.asks.length > 0 ? dec(book0.bids[0][0]).plus(book0.asks[0][0]).times('0.5') : dec(order.limit ?? book0.bids[0]?.[0] ?? '0');
  // A buy never pays more than its funds were sized at; a sell gives what it holds at the market.
  const routed = legRouted(c, i, coid, spec, r.side, order.qty, order.limit, fmt(mid), seed, microsToIso(now + run.fill_timeout_ms * 1000));
  return [placed, routed];
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

const ms = (us: number): number => Math.round(us) / 1000;

function report(
  run: ChainRun,
  status: 'FILLED' | 'FAILED' | 'ABORTED',
  error: string | undefined,
  held: { asset: string; amount: Dec } | undefined,
  unwound: { asset: string; sold: string; delivered: string } | undefined,
  now: number,
  causation: string,
): EventOf<'ChainCompleted'> {
  const c = run.chain;
  const legs = run.legs.filter((l, i) => i < c.legs.length && l.done);
  const first = legs[0];
  const firstSpent = first ? spent(run.rules[0], { filled: first.filled, notional: first.notional, fee: first.fee, fee_ccy: first.fee_ccy ?? run.rules[0].quote }) : ZERO;
  const timings: { step: string; ms: number }[] = [];
  const t0 = run.started_us;
  timings.push({ step: 'signal_to_receive', ms: ms(t0 - isoToMicros(c.ts)) });
  for (const [k, at] of Object.entries(c.signal_times ?? {})) timings.push({ step: k, ms: ms(isoToMicros(at) - t0) });
  if (run.legs[0]) timings.push({ step: 'receive_to_first_order', ms: ms(run.legs[0].fired_us - t0) });
  run.legs.forEach((l, i) => {
    timings.push({ step: `leg${i}_order_fired`, ms: ms(l.fired_us - t0) });
    if (l.done) timings.push({ step: `leg${i}_fill_received`, ms: ms(l.done.at_us - t0) });
    const next = run.legs[i + 1];
    if (next) timings.push({ step: `leg${i}_to_leg${i + 1}`, ms: ms(next.fired_us - l.fired_us) });
  });
  timings.push({ step: 'execution_complete', ms: ms(now - t0) });
  const data: EventOf<'ChainCompleted'>['data'] = {
    status,
    triangle: c.triangle,
    predicted_bps: c.predicted_bps,
    spent: fmt(firstSpent),
    legs: legs.map((l, i) => ({
      leg: i,
      pair: c.legs[i].pair,
      side: run.rules[i].side,
      input_ccy: inputOf(run.rules[i]),
      output_ccy: outputOf(run.rules[i]),
      filled_qty: fmt(l.filled),
      avg_price: l.filled.gt(0) ? fmt(l.notional.div(l.filled)) : '0',
      fee: fmt(l.fee),
      fee_ccy: l.fee_ccy ?? run.rules[i].quote,
      delivered: fmt(l.done!.delivered),
      dust: fmt(l.order.dust),
      latency_ms: ms(l.done!.at_us - l.fired_us),
    })),
    books: c.books.map((b, i) => ({
      leg: i,
      ts: b.ts,
      ...(b.bids[0] ? { best_bid: b.bids[0][0] } : {}),
      ...(b.asks[0] ? { best_ask: b.asks[0][0] } : {}),
    })),
    timings,
  };
  if (error !== undefined) data.error = error;
  if (status === 'FILLED') {
    const last = run.legs[c.legs.length - 1];
    const p = profitOf(firstSpent, last.done!.delivered);
    data.profit = fmt(p.profit);
    data.effective_bps = fmt(p.bps);
  }
  if (held) data.held = { asset: held.asset, amount: fmt(held.amount) };
  if (unwound) data.unwound = unwound;
  return makeEvent('ChainCompleted', `${c.chain_id}/chain/report`, seedOf(c, causation), data);
}

/** Folds one event into the chains' state, in place. */
export function evolveChains(s: ChainsState, e: Event): ChainsState {
  switch (e.type) {
    case 'ChainStarted': {
      const c = e.data.chain;
      if (s.inflight.has(e.intent_id) || s.done.has(e.intent_id)) return s;
      s.inflight.set(e.intent_id, { chain: c, rules: c.legs.map(rulesOf), started_us: e.data.at_us, fill_timeout_ms: e.data.fill_timeout_ms, legs: [] });
      const key = triangleKey(c);
      const bookUs = isoToMicros(c.book_ts);
      if ((s.lastBookUs.get(key) ?? -Infinity) < bookUs) s.lastBookUs.set(key, bookUs);
      return s;
    }
    case 'ChainLegPlaced': {
      const run = s.inflight.get(e.intent_id);
      if (!run || s.byOrder.has(e.data.client_order_id)) return s;
      const order: LegOrder = { qty: dec(e.data.qty), dust: dec(e.data.dust) };
      if (e.data.funds !== undefined) order.funds = dec(e.data.funds);
      if (e.data.limit_price !== undefined) order.limit = dec(e.data.limit_price);
      const leg: LegRun = {
        client_order_id: e.data.client_order_id,
        input: dec(e.data.input),
        order,
        fired_us: e.data.at_us,
        filled: ZERO,
        notional: ZERO,
        fee: ZERO,
        fee_ccy: undefined,
      };
      s.byOrder.set(e.data.client_order_id, e.intent_id);
      if (e.data.leg >= run.chain.legs.length) {
        // The unwind: its report's status was decided with it (FAILED or ABORTED, kept until it ends).
        run.unwind = { leg, asset: e.data.input_ccy, ending: e.data.ending ?? { status: 'FAILED', error: 'unwound' } };
      } else run.legs[e.data.leg] = leg;
      return s;
    }
    case 'ChainLegFilled': {
      const run = s.inflight.get(e.intent_id);
      if (!run) return s;
      const leg = e.data.leg < run.chain.legs.length ? run.legs[e.data.leg] : run.unwind?.leg;
      if (!leg) return s;
      // Paper legs are filled by this event alone; live legs summed their OrderFilled events already.
      leg.filled = dec(e.data.filled_qty);
      leg.notional = dec(e.data.notional);
      leg.fee = dec(e.data.fee);
      leg.fee_ccy = e.data.fee_ccy;
      leg.done = { status: e.data.status, delivered: dec(e.data.delivered), at_us: e.data.at_us };
      return s;
    }
    case 'OrderFilled': {
      const id = s.byOrder.get(e.data.client_order_id);
      const run = id === undefined ? undefined : s.inflight.get(id);
      if (!run) return s;
      const leg = run.unwind?.leg.client_order_id === e.data.client_order_id ? run.unwind.leg : run.legs.find((l) => l.client_order_id === e.data.client_order_id);
      if (!leg || leg.done) return s;
      const f = e.data.fill;
      leg.filled = leg.filled.plus(f.qty);
      leg.notional = leg.notional.plus(dec(f.qty).times(f.price));
      leg.fee = leg.fee.plus(f.fee);
      leg.fee_ccy ??= f.fee_ccy;
      return s;
    }
    case 'ChainCompleted': {
      const run = s.inflight.get(e.intent_id);
      if (!run) return s;
      for (const l of run.legs) s.byOrder.delete(l.client_order_id);
      if (run.unwind) s.byOrder.delete(run.unwind.leg.client_order_id);
      s.inflight.delete(e.intent_id);
      s.done.add(e.intent_id);
      return s;
    }
    case 'ChainCommand':
      switch (e.data.command) {
        case 'pause':
          s.settings.paused = true;
          break;
        case 'resume':
          s.settings.paused = false;
          break;
        case 'slots':
          if (e.data.slots !== undefined) s.settings.slots = e.data.slots;
          break;
        case 'cancel': {
          const run = e.data.chain_id === undefined ? undefined : s.inflight.get(e.data.chain_id);
          if (run) run.cancel = `${e.data.operator}: ${e.data.reason}`;
          break;
        }
      }
      return s;
    default:
      return s;
  }
}

/** A copy sharing nothing mutable with `s` (the pure evolve folds into it). */
function cloneChains(s: ChainsState): ChainsState {
  const inflight = new Map<string, ChainRun>();
  for (const [id, r] of s.inflight) {
    inflight.set(id, {
      ...r,
      legs: r.legs.map((l) => ({ ...l })),
      ...(r.unwind ? { unwind: { ...r.unwind, leg: { ...r.unwind.leg } } } : {}),
    });
  }
  return {
    settings: { ...s.settings },
    inflight,
    done: new Set(s.done),
    byOrder: new Map(s.byOrder),
    lastBookUs: new Map(s.lastBookUs),
  };
}
