// What the chain decider keeps, as a fold of its events: the chains in flight with each leg's
// order and fills, the slots and whether admission is paused, the newest book time per triangle.
import { dec, ZERO, type Dec } from '../domain/decimal.js';
import type { ChainLeg, Event, NormalizedChain, OrderStatus } from '../domain/events.js';
import { isoToMicros } from '../domain/time.js';
import type { LegOrder, LegRules } from './sizing.js';

export interface ChainSettings {
  /** Chains in flight at once. */
  slots: number;
  paused: boolean;
  /** A live leg's order expires on its venue this long after it was sent (the gateway cancels it). */
  fill_timeout_ms: number;
  /** Live venues: a leg waits this long for the venue's balance to show the previous leg's output (0: no wait). */
  balance_wait_ms: number;
}

export const DEFAULT_CHAIN_SETTINGS: ChainSettings = Object.freeze({ slots: 4, paused: false, fill_timeout_ms: 10_000, balance_wait_ms: 2_000 });

/** A leg in flight or done. */
export interface LegRun {
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

export interface ChainRun {
  chain: NormalizedChain;
  rules: LegRules[];
  started_us: number;
  fill_timeout_ms: number;
  /** As admitted (ChainStarted): 0 when the log predates the wait. */
  balance_wait_ms: number;
  legs: LegRun[];
  /** Waiting for the venue's balance to show what leg `leg - 1` delivered, before placing `leg`. */
  awaiting?: { leg: number; asset: string; expected: Dec };
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

/** Event types the chain fold reads (besides its own). */
export const CHAIN_FACTS: ReadonlySet<string> = new Set([
  'ChainStarted',
  'ChainLegPlaced',
  'ChainLegFilled',
  'ChainCompleted',
  'ChainCommand',
  'ChainBalanceAwaited',
  'OrderFilled',
  // Not folded: the gateway's answers the decider goes on from.
  'ChainBalanceSeen',
  'OrderTested',
]);

/** The triangle's key: its currencies, in any order. */
export const triangleKey = (c: Pick<NormalizedChain, 'triangle' | 'venue'>): string => `${c.venue}:${[...new Set(c.triangle)].sort().join('/')}`;

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

/** Folds one event into the chains' state, in place. */
export function evolveChains(s: ChainsState, e: Event): ChainsState {
  switch (e.type) {
    case 'ChainStarted': {
      const c = e.data.chain;
      if (s.inflight.has(e.intent_id) || s.done.has(e.intent_id)) return s;
      s.inflight.set(e.intent_id, {
        chain: c,
        rules: c.legs.map(rulesOf),
        started_us: e.data.at_us,
        fill_timeout_ms: e.data.fill_timeout_ms,
        balance_wait_ms: e.data.balance_wait_ms ?? 0,
        legs: [],
      });
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
      // Past any wait: the awaited leg (or the unwind that replaced it) is placed.
      delete run.awaiting;
      if (e.data.leg >= run.chain.legs.length) {
        // The unwind: its report's status was decided with it (FAILED or ABORTED, kept until it ends).
        run.unwind = { leg, asset: e.data.input_ccy, ending: e.data.ending ?? { status: 'FAILED', error: 'unwound' } };
      } else run.legs[e.data.leg] = leg;
      return s;
    }
    case 'ChainBalanceAwaited': {
      const run = s.inflight.get(e.intent_id);
      if (run && run.legs[e.data.leg] === undefined) run.awaiting = { leg: e.data.leg, asset: e.data.asset, expected: dec(e.data.expected) };
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
export function cloneChains(s: ChainsState): ChainsState {
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
