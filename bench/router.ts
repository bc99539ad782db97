// Routing decisions per second: the smart router's decider over intents on a bare symbol listed on
// three venues, each book 50 levels a side, with default settings (latency penalty on, split on).
// Each decision prices every venue, plans the split and writes the RouteDecided and the orders;
// the router's fold takes its own events as the stage does. Beside it, the cost model alone.
import { dec, type Dec } from '../src/domain/decimal.js';
import { makeEvent } from '../src/domain/envelope.js';
import type { EventOf } from '../src/domain/events.js';
import { BUILTIN_INSTRUMENTS } from '../src/market/instruments.js';
import type { Book, BookLevel, MarketData } from '../src/market/types.js';
import { normalizer } from '../src/normalizer/decide.js';
import { router } from '../src/router/decide.js';
import { planRoute, type VenueQuote } from '../src/router/cost.js';
import { routerStateFor } from '../src/router/state.js';
import { rng } from '../src/tools/generate.js';

const INTENTS = Number(process.env.BENCH_ROUTER_INTENTS ?? 100_000);
const LEVELS = 50;
const T0 = '2026-03-01T12:00:00Z';

/** Three BTC/USDT books of 50 levels a side around 60,000, each venue a little off the others. */
function threeVenueMarket(): MarketData {
  const specs = BUILTIN_INSTRUMENTS.filter((s) => s.base === 'BTC' && s.quote === 'USDT');
  const books = new Map<string, Book>();
  specs.forEach((s, v) => {
    const r = rng(7 + v);
    const tick = dec(s.tick_size);
    const levels = (side: 1 | -1): BookLevel[] => {
      const out: BookLevel[] = [];
      // Venues a few dollars apart at the touch; levels 0.5 to 5 USDT apart, 0.01 to 0.4 BTC each.
      let price = dec(60_000 + side * (5 + v * 2));
      for (let i = 0; i < LEVELS; i++) {
        out.push({ price, qty: dec((0.01 + r() * 0.4).toFixed(5)) });
        const step = dec((0.5 + r() * 4.5).toFixed(2));
        price = price.plus(step.minus(step.mod(tick)).times(side));
      }
      return out;
    };
    books.set(s.instrument_id, { instrument_id: s.instrument_id, ts_us: 0, asks: levels(1), bids: levels(-1) });
  });
  return { instruments: () => specs, instrument: (id) => specs.find((s) => s.instrument_id === id), bookAt: (id) => books.get(id) };
}

/** Approved intents on the bare symbol for a live env (so the measured latencies count): sizes from a few lots to a few BTC, both sides. */
function approvals(market: MarketData): EventOf<'RiskApproved'>[] {
  const r = rng(42);
  const out: EventOf<'RiskApproved'>[] = [];
  for (let i = 0; i < INTENTS; i++) {
    const qty = (0.001 + r() * r() * 3).toFixed(5);
    const raw = {
      intent_id: `r${i}`,
      ts: T0,
      account: `acct-${i % 8}`,
      instrument_id: 'BTCUSDT',
      side: r() < 0.5 ? 'BUY' : 'SELL',
      size: { type: 'quantity', value: qty },
      env: 'staging',
    };
    const [a] = normalizer.decide(
      { raw: Buffer.from(JSON.stringify(raw)), source: { topic: 'exec.intents', partition: 0, offset: i }, arrived_us: 0, market },
      normalizer.initialState(),
    );
    if (a.type !== 'IntentAccepted') throw new Error(`bench intent refused: ${JSON.stringify(a.data)}`);
    out.push(
      makeEvent(
        'RiskApproved',
        `r${i}/risk`,
        { intent_id: a.intent_id, account: a.account, strategy: a.strategy, ts: a.ts, causation: a.event_id },
        { intent: a.data.intent, policy_version: 1 },
      ),
    );
  }
  return out;
}

export function routerDecisions(emit: (o: Record<string, unknown>) => void): void {
  const market = threeVenueMarket();
  const input = approvals(market);
  let state = routerStateFor(market);
  // A measured latency per venue, as the gateway's OrderSubmitted events give them.
  for (const [venue, ms] of [
    ['BINANCE', 12],
    ['OKX', 20],
    ['KUCOIN', 35],
  ] as const) {
    state = router.evolveInPlace(
      state,
      makeEvent(
        'OrderSubmitted',
        `lat/${venue}`,
        { intent_id: '', account: '', strategy: '', ts: T0, causation: 'bench' },
        { client_order_id: venue, venue, env: 'staging', recovered: false, latency_ms: ms },
      ),
    );
  }
  const run = (count: number) => {
    let splits = 0;
    let orders = 0;
    for (let i = 0; i < count; i++) {
      for (const e of router.decide({ approved: input[i], market }, state)) {
        state = router.evolveInPlace(state, e);
        if (e.type === 'OrderRouted') orders++;
        else if (e.type === 'RouteDecided' && e.data.split) splits++;
      }
    }
    return { splits, orders };
  };
  run(Math.min(20_000, input.length)); // warm-up
  const t0 = performance.now();
  const { splits, orders } = run(input.length);
  const seconds = (performance.now() - t0) / 1000;

  // The cost model alone on the same intents: pricing the three venues and planning the split.
  const quotes = (a: EventOf<'RiskApproved'>): VenueQuote[] =>
    a.data.intent.venues.map((id) => {
      const spec = market.instrument(id)!;
      return {
        spec,
        book: market.bookAt(id, 0)!,
        fee: dec(spec.taker_fee),
        penalty: dec(0),
        maxQty: dec(spec.max_qty),
        lot: dec(spec.lot_size),
        minQty: dec(spec.min_qty),
        minNotional: dec(spec.min_notional),
      };
    });
  const prepared: [VenueQuote[], 'BUY' | 'SELL', Dec][] = input.map((a) => [quotes(a), a.data.intent.side, dec(a.data.intent.qty)]);
  const t1 = performance.now();
  for (const [q, side, qty] of prepared) planRoute(q, side, qty);
  const planSeconds = (performance.now() - t1) / 1000;

  emit({
    bench: 'router',
    venues: 3,
    levels_per_side: LEVELS,
    intents: input.length,
    router_decisions_per_sec: Math.round(input.length / seconds),
    us_per_decision: +((seconds * 1e6) / input.length).toFixed(2),
    split_share: +(splits / input.length).toFixed(3),
    orders_per_intent: +(orders / input.length).toFixed(3),
    floor_cost_model_per_sec: Math.round(input.length / planSeconds),
    floor_us_per_plan: +((planSeconds * 1e6) / input.length).toFixed(2),
  });
}
