// The chain decider (src/chains/): sizing, admission, the cascade, outcomes and the report.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dec } from '../../src/domain/decimal.js';
import type { Event, EventOf } from '../../src/domain/events.js';
import { chains, DEFAULT_CHAIN_SETTINGS, type ChainEvent, type ChainsState } from '../../src/chains/decide.js';
import { makeEvent } from '../../src/domain/envelope.js';
import { delivered, legOrder, type LegRules } from '../../src/chains/sizing.js';
import { approvedChain, chainCommand, legEnd, legFill, market, triangle } from '../helpers/chains.js';

const NOW = 1_000_000;
const admit = (raw: Record<string, unknown>, s: ChainsState, now = NOW): ChainEvent[] => chains.decide({ kind: 'request', event: approvedChain(raw), market, now_us: now }, s);
const apply = (s: ChainsState, events: readonly Event[]): ChainsState => events.reduce((x, e) => chains.evolveInPlace(x, e), s);
/** Folds a gateway event, then decides on it, as the stages do. */
function venue(s: ChainsState, e: Event, now = NOW + 500): ChainEvent[] {
  apply(s, [e]);
  const out = chains.decide({ kind: 'order', event: e as EventOf<'OrderFilled'>, market, now_us: now }, s);
  apply(s, out);
  return out;
}
const types = (es: readonly Event[]) => es.map((e) => e.type);
const routed = (es: readonly Event[]) => es.find((e): e is EventOf<'OrderRouted'> => e.type === 'OrderRouted')!;
const report = (es: readonly Event[]) => es.find((e): e is EventOf<'ChainCompleted'> => e.type === 'ChainCompleted')!;

const rules = (o: Partial<LegRules> = {}): LegRules => ({
  side: 'BUY',
  base: 'BTC',
  quote: 'USDT',
  fee_rate: dec('0.001'),
  fee_currency: 'USDT',
  base_increment: dec('0.00001'),
  quote_increment: dec('0.01'),
  base_min_size: dec('0.00001'),
  quote_min_size: dec('1'),
  ...o,
});

test('a buy leg holds its fee back, floors its funds and its quantity, and never pays more than it was given', () => {
  const o = legOrder(rules(), dec('1000'), [{ price: dec('60000'), qty: dec('1') }])!;
  assert.equal(o.funds?.toString(), '999', '1000 / 1.001 = 999.000999…, floored to the cent');
  assert.equal(o.qty.toString(), '0.01665');
  assert.equal(o.limit?.toString(), '60000');
  assert.ok(o.qty.times(o.limit).times('1.001').lte(dec('1000')), 'at its limit, with the fee, within the 1000 given');
  assert.equal(o.dust.toString(), '0.001', 'what the floor left: 1000 − 999 × 1.001');
  // A sell floors its size to the base increment; the remainder is dust.
  const sell = legOrder(rules({ side: 'SELL', base: 'ETH', base_increment: dec('0.001') }), dec('0.33266'), [])!;
  assert.equal(sell.qty.toString(), '0.332');
  assert.equal(sell.dust.toString(), '0.00066');
  // Funds that run past the first level are priced at the level where they run out.
  const deep = legOrder(rules(), dec('100000'), [
    { price: dec('60000'), qty: dec('1') },
    { price: dec('60100'), qty: dec('5') },
  ])!;
  assert.equal(deep.limit?.toString(), '60100');
});

test('what a fill delivers: a fee in the output currency is taken off it', () => {
  const f = { filled: dec('2'), notional: dec('6000'), fee: dec('6'), fee_ccy: 'USDT' };
  assert.equal(delivered(rules({ side: 'SELL', base: 'ETH' }), f).toString(), '5994');
  assert.equal(delivered(rules(), { ...f, fee: dec('0.002'), fee_ccy: 'BTC' }).toString(), '1.998');
  assert.equal(delivered(rules(), f).toString(), '2', 'a quote fee on a buy leaves the base whole');
});

test('paper mode: the chain runs leg by leg on its own books, in one decision, with the same sizing as live', () => {
  const s = chains.initialState();
  const out = admit(triangle('p1', { mode: 'paper' }), s);
  assert.deepEqual(types(out), ['ChainStarted', 'ChainLegPlaced', 'ChainLegFilled', 'ChainLegPlaced', 'ChainLegFilled', 'ChainLegPlaced', 'ChainLegFilled', 'ChainCompleted']);
  const r = report(out);
  assert.equal(r.data.status, 'FILLED');
  // 1000 USDT → 0.01665 BTC (999 + 0.999 fee) → 0.3326 ETH → 1001.126 − 1.001126 fee = 1000.124874 USDT.
  assert.deepEqual(
    r.data.legs.map((l) => [l.filled_qty, l.delivered]),
    [
      ['0.01665', '0.01665'],
      ['0.3326', '0.3326'],
      ['0.3326', '1000.124874'],
    ],
  );
  assert.equal(r.data.spent, '999.999');
  assert.equal(r.data.profit, '0.125874');
  assert.equal(r.data.effective_bps, '1.26');
  assert.equal(r.data.predicted_bps, '1.5');
  assert.ok(r.data.timings.some((t) => t.step === 'leg0_to_leg1'));
  assert.equal(apply(s, out).inflight.size, 0, 'the report frees the slot');
});

test('live: each leg is sized from the previous leg’s actual fill, a partial one included', () => {
  const s = chains.initialState();
  const started = admit(triangle('l1'), s);
  assert.deepEqual(types(started), ['ChainStarted', 'ChainLegPlaced', 'OrderRouted']);
  apply(s, started);
  const o0 = routed(started).data.order;
  assert.deepEqual([o0.side, o0.order_type, o0.tif, o0.qty, o0.limit_price, o0.leg], ['BUY', 'LIMIT', 'IOC', '0.01665', '60000', 0]);
  // Leg 0 fills in two trades, cheaper than its limit: what was received (0.01665 BTC) funds leg 1.
  assert.deepEqual(venue(s, legFill(routed(started), '0.01', '59990', '0.5999', 'USDT', '0.01', false, 1)), []);
  const next = venue(s, legFill(routed(started), '0.00665', '59995', '0.398966', 'USDT', '0.01665', true, 2));
  assert.deepEqual(types(next), ['ChainLegFilled', 'ChainLegPlaced', 'OrderRouted']);
  const leg1 = next.find((e): e is EventOf<'ChainLegPlaced'> => e.type === 'ChainLegPlaced')!;
  assert.equal(leg1.data.input, '0.01665');
  assert.equal(leg1.data.funds, '0.016633', 'fee held back and floored to the ETHBTC quote increment');
  // Leg 1 fills 0.2 of its 0.3326 ETH, then the IOC rest is canceled: 0.2 ETH goes on to leg 2.
  venue(s, legFill(routed(next), '0.2', '0.05', '0.00001', 'BTC', '0.2', false));
  const third = venue(s, legEnd(routed(next), 'OrderCanceled'));
  assert.equal(third.find((e): e is EventOf<'ChainLegPlaced'> => e.type === 'ChainLegPlaced')!.data.qty, '0.2');
  const done = venue(s, legFill(routed(third), '0.2', '3010', '0.602', 'USDT', '0.2', true));
  const r = report(done);
  assert.equal(r.data.status, 'FILLED');
  assert.equal(r.data.legs[2].delivered, '601.398');
  assert.equal(s.inflight.size, 0);
});

test('admission: paused, stale, below a minimum, no slot, isolation', () => {
  const s = chains.initialState({ slots: 2, paused: false, fill_timeout_ms: 10_000, balance_wait_ms: 2_000 });
  apply(s, [chainCommand('pause')]);
  assert.equal((admit(triangle('a0'), s)[0] as EventOf<'ChainRefused'>).data.code, 'PAUSED');
  apply(s, [chainCommand('resume')]);
  apply(s, admit(triangle('a1', { book_ts: '2026-03-01T12:00:05Z' }), s));
  // Stale: books older than those a chain on the same triangle was started with.
  const stale = admit(triangle('a2', { book_ts: '2026-03-01T12:00:01Z' }), s)[0] as EventOf<'ChainRefused'>;
  assert.equal(stale.data.code, 'STALE');
  // Isolation: the same triangle, a shared pair or the same primary quote while a1 is in flight.
  const same = admit(triangle('a3', { book_ts: '2026-03-01T12:00:06Z' }), s)[0] as EventOf<'ChainRefused'>;
  assert.equal(same.data.code, 'ISOLATED');
  assert.match(same.data.reason, /same triangle/);
  const shared = admit(
    triangle('a4', {
      primary_quote: 'BTC',
      starting_amount: '0.1',
      legs: [
        { pair: 'ETHBTC', side: 'buy', quote_increment: '0.000001' },
        { pair: 'ETHBTC', side: 'sell' },
      ],
      books: [
        { asks: [['0.05', '10']], bids: [['0.0499', '10']] },
        { asks: [['0.05', '10']], bids: [['0.0499', '10']] },
      ],
    }),
    s,
  )[0] as EventOf<'ChainRefused'>;
  assert.equal(shared.data.code, 'ISOLATED');
  assert.match(shared.data.reason, /trades BINANCE:ETHBTC too/);
  // Below a leg's minimum: 1 USDT buys less BTC than its lot.
  const small = admit(triangle('a5', { starting_amount: '0.5', primary_quote: 'USDT' }), chains.initialState())[0] as EventOf<'ChainRefused'>;
  assert.equal(small.data.code, 'BELOW_MINIMUM');
  // No slot: one slot, one chain in flight.
  const one = chains.initialState({ slots: 1, paused: false, fill_timeout_ms: 10_000, balance_wait_ms: 2_000 });
  apply(one, admit(triangle('b1'), one));
  const full = admit(triangle('b2', { primary_quote: 'USDT' }), one)[0] as EventOf<'ChainRefused'>;
  assert.equal(full.data.code, 'NO_SLOT');
  apply(one, [chainCommand('slots', { slots: 3 })]);
  assert.equal(one.settings.slots, 3, 'slots are changed at run time');
});

test('FAILED when a leg is rejected: what the chain holds is reported, or sold back when the policy says unwind', () => {
  const s = chains.initialState();
  const a = admit(triangle('f1'), s);
  apply(s, a);
  const b = venue(s, legFill(routed(a), '0.01665', '60000', '0.999', 'USDT', '0.01665', true));
  const c = venue(s, legEnd(routed(b), 'OrderRejected'));
  const r = report(c);
  assert.equal(r.data.status, 'FAILED');
  assert.match(r.data.error ?? '', /rejected: -2010 insufficient balance/);
  assert.deepEqual(r.data.held, { asset: 'BTC', amount: '0.01665' });
  assert.equal(r.data.profit, undefined);

  const u = chains.initialState();
  const a2 = admit(triangle('f2', { on_failure: 'unwind' }), u);
  apply(u, a2);
  const b2 = venue(u, legFill(routed(a2), '0.01665', '60000', '0.999', 'USDT', '0.01665', true));
  const c2 = venue(u, legEnd(routed(b2), 'OrderExpired'));
  assert.deepEqual(types(c2), ['ChainLegFilled', 'ChainLegPlaced', 'OrderRouted'], 'the unwind goes out before the report');
  const unwind = routed(c2).data.order;
  assert.deepEqual([unwind.instrument_id, unwind.side, unwind.qty], ['BINANCE:BTCUSDT', 'SELL', '0.01665']);
  const d2 = venue(u, legFill(routed(c2), '0.01665', '59990', '0.998833', 'USDT', '0.01665', true));
  const r2 = report(d2);
  assert.equal(r2.data.status, 'FAILED');
  assert.deepEqual(r2.data.unwound, { asset: 'BTC', sold: '0.01665', delivered: '997.834667' });
  assert.equal(r2.data.held, undefined);
  assert.equal(u.inflight.size, 0);
});

test('ABORTED: an operator cancel is honoured between legs, never mid-leg', () => {
  const s = chains.initialState();
  const a = admit(triangle('c1'), s);
  apply(s, a);
  apply(s, [chainCommand('cancel', { chain_id: 'c1' })]);
  const b = venue(s, legFill(routed(a), '0.01665', '60000', '0.999', 'USDT', '0.01665', true));
  assert.deepEqual(types(b), ['ChainLegFilled', 'ChainCompleted']);
  const r = report(b);
  assert.equal(r.data.status, 'ABORTED');
  assert.match(r.data.error ?? '', /canceled by an operator/);
  assert.deepEqual(r.data.held, { asset: 'BTC', amount: '0.01665' });
});

test('the decider is pure and its fold rebuilds the state the events were decided on', () => {
  const s = chains.initialState();
  const before = JSON.stringify([...s.inflight.keys()]);
  const a = admit(triangle('z1'), s);
  assert.deepEqual(admit(triangle('z1'), s), a, 'same command, same state: same events');
  assert.equal(JSON.stringify([...s.inflight.keys()]), before, 'decide leaves the state as it was');
  const copy = chains.evolve(s, a[0]);
  assert.equal(copy.inflight.size, 1);
  assert.equal(s.inflight.size, 0, 'evolve copies');
  // Folding the same events twice (a stage reads its own events back) changes nothing more.
  apply(s, a);
  apply(s, a);
  assert.equal(s.inflight.size, 1);
  assert.equal(s.byOrder.size, 1);
});

/** The gateway's answer to a balance wait: what the venue's balance showed. */
function balanceSeen(awaited: EventOf<'ChainBalanceAwaited'>, free: string | undefined, met: boolean, n = 1): EventOf<'ChainBalanceSeen'> {
  return makeEvent('ChainBalanceSeen', `${awaited.intent_id}/chain/balance/${awaited.data.leg}/${n}`, seedOf(awaited), {
    leg: awaited.data.leg,
    asset: awaited.data.asset,
    expected: awaited.data.expected,
    ...(free !== undefined ? { free } : {}),
    met,
    waited_ms: met ? 12 : awaited.data.wait_ms,
    asks: 3,
    at_us: NOW + 900,
  });
}
const seedOf = (e: Event) => ({ intent_id: e.intent_id, account: e.account, strategy: e.strategy, ts: e.ts, causation: e.event_id });
/** Folds a gateway answer (balance or order test), then decides on it, as the stages do. */
function answer(s: ChainsState, e: EventOf<'ChainBalanceSeen' | 'OrderTested'>, now = NOW + 1000): ChainEvent[] {
  apply(s, [e]);
  const out =
    e.type === 'ChainBalanceSeen' ? chains.decide({ kind: 'balance', event: e, market, now_us: now }, s) : chains.decide({ kind: 'tested', event: e, market, now_us: now }, s);
  apply(s, out);
  return out;
}
const awaitedOf = (es: readonly Event[]) => es.find((e): e is EventOf<'ChainBalanceAwaited'> => e.type === 'ChainBalanceAwaited')!;
const placedOf = (es: readonly Event[]) => es.find((e): e is EventOf<'ChainLegPlaced'> => e.type === 'ChainLegPlaced')!;

test('live venues: the next leg waits for the venue balance, and is sized from it when it shows less than was delivered', () => {
  const s = chains.initialState();
  const a = admit(triangle('b1', { env: 'staging' }), s);
  apply(s, a);
  const filled = venue(s, legFill(routed(a), '0.01665', '60000', '0.999', 'USDT', '0.01665', true));
  assert.deepEqual(types(filled), ['ChainLegFilled', 'ChainBalanceAwaited'], 'no order before the balance shows the BTC');
  const w = awaitedOf(filled);
  assert.deepEqual([w.data.leg, w.data.asset, w.data.expected, w.data.wait_ms, w.data.venue, w.data.env], [1, 'BTC', '0.01665', 2000, 'BINANCE', 'staging']);
  // The venue shows a little less BTC than the fills said (a fee the report did not carry): leg 1 spends what is there.
  const next = answer(s, balanceSeen(w, '0.0166', false));
  assert.deepEqual(types(next), ['ChainLegPlaced', 'OrderRouted']);
  assert.equal(placedOf(next).data.input, '0.0166');
  assert.deepEqual(answer(s, balanceSeen(w, '0.0166', false, 2)), [], 'a second answer to the same wait changes nothing');
  // Leg 1 fills; the ETH shows in full (more than the chain delivered, other holdings): the sell is sized from what the chain delivered.
  const l1 = venue(s, legFill(routed(next), '0.33', '0.05', '0', 'BTC', '0.33', true));
  const w2 = awaitedOf(l1);
  assert.equal(w2.data.asset, 'ETH');
  const sell = answer(s, balanceSeen(w2, '5', true));
  assert.equal(placedOf(sell).data.qty, '0.33');
  const done = venue(s, legFill(routed(sell), '0.33', '3010', '0.9933', 'USDT', '0.33', true));
  assert.equal(report(done).data.status, 'FILLED');
  assert.ok(
    report(done).data.timings.some((t) => t.step === 'leg1_to_leg2'),
    'leg→leg includes the wait',
  );
});

test('live venues: nothing in the balance after the wait fails the chain (sold back on unwind); a cancel during the wait aborts it; 0 ms places at once', () => {
  const s = chains.initialState();
  const a = admit(triangle('b2', { env: 'staging', on_failure: 'unwind' }), s);
  apply(s, a);
  const w = awaitedOf(venue(s, legFill(routed(a), '0.01665', '60000', '0.999', 'USDT', '0.01665', true)));
  const failed = answer(s, balanceSeen(w, '0', false));
  assert.deepEqual(types(failed), ['ChainLegPlaced', 'OrderRouted'], 'the unwind sells the BTC the chain holds back to USDT');
  assert.match(placedOf(failed).data.ending?.error ?? '', /^balance_timeout_leg1: the BTC balance shows 0 after 2000 ms/);
  assert.equal(routed(failed).data.order.symbol, 'BTCUSDT');

  const c = chains.initialState();
  const b = admit(triangle('b3', { env: 'staging' }), c);
  apply(c, b);
  const w3 = awaitedOf(venue(c, legFill(routed(b), '0.01665', '60000', '0.999', 'USDT', '0.01665', true)));
  apply(c, [chainCommand('cancel', { chain_id: 'b3' })]);
  const aborted = answer(c, balanceSeen(w3, '0.01665', true));
  assert.equal(report(aborted).data.status, 'ABORTED');
  assert.deepEqual(report(aborted).data.held, { asset: 'BTC', amount: '0.01665' });

  const z = chains.initialState({ ...DEFAULT_CHAIN_SETTINGS, balance_wait_ms: 0 });
  const d = admit(triangle('b4', { env: 'staging' }), z);
  apply(z, d);
  assert.deepEqual(types(venue(z, legFill(routed(d), '0.01665', '60000', '0.999', 'USDT', '0.01665', true))), ['ChainLegFilled', 'ChainLegPlaced', 'OrderRouted']);
  // The simulator's fills are its balance: no wait there.
  const sim = chains.initialState();
  const e = admit(triangle('b5'), sim);
  apply(sim, e);
  assert.deepEqual(types(venue(sim, legFill(routed(e), '0.01665', '60000', '0.999', 'USDT', '0.01665', true))), ['ChainLegFilled', 'ChainLegPlaced', 'OrderRouted']);
});

test('paper on a venue: each leg goes to its order-test endpoint first, then fills from its book exactly as paper on the simulator', () => {
  const tested = (req: EventOf<'OrderTestRequested'>, outcome: EventOf<'OrderTested'>['data']['outcome'], code?: string): EventOf<'OrderTested'> =>
    makeEvent('OrderTested', `${req.intent_id}/chain/tested/${req.data.leg}`, seedOf(req), {
      leg: req.data.leg,
      client_order_id: req.data.order.client_order_id,
      venue: req.data.order.venue,
      outcome,
      ...(code ? { code, reason: 'Filter failure: LOT_SIZE' } : {}),
      latency_ms: 3.2,
      at_us: NOW + 800,
    });
  const requestOf = (es: readonly Event[]) => es.find((e): e is EventOf<'OrderTestRequested'> => e.type === 'OrderTestRequested')!;
  const sim = chains.initialState();
  const simReport = report(admit(triangle('p-sim', { mode: 'paper' }), sim));
  const s = chains.initialState();
  const a = admit(triangle('p-venue', { mode: 'paper', env: 'staging' }), s);
  assert.deepEqual(types(a), ['ChainStarted', 'ChainLegPlaced', 'OrderTestRequested']);
  apply(s, a);
  const o = requestOf(a).data.order;
  assert.deepEqual([o.side, o.order_type, o.tif, o.qty, o.limit_price, o.env], ['BUY', 'LIMIT', 'IOC', '0.01665', '60000', 'staging']);
  const b = answer(s, tested(requestOf(a), 'accepted'));
  assert.deepEqual(types(b), ['ChainLegFilled', 'ChainLegPlaced', 'OrderTestRequested']);
  assert.deepEqual(answer(s, tested(requestOf(a), 'accepted')), [], 'the same answer twice changes nothing');
  // OKX has no order-test endpoint: the gateway says untested and the leg fills from its book all the same.
  const c = answer(s, tested(requestOf(b), 'untested'));
  const done = answer(s, tested(requestOf(c), 'accepted'));
  const r = report(done);
  assert.equal(r.data.status, 'FILLED');
  assert.deepEqual(
    r.data.legs.map((l) => [l.filled_qty, l.delivered]),
    simReport.data.legs.map((l) => [l.filled_qty, l.delivered]),
    'the same sizing, fee hold and floors as paper on the simulator',
  );
  // A refused test fails the chain, with the venue's reason.
  const f = chains.initialState();
  const x = admit(triangle('p-bad', { mode: 'paper', env: 'staging' }), f);
  apply(f, x);
  const refused = answer(f, tested(requestOf(x), 'rejected', '-1013'));
  assert.deepEqual(types(refused), ['ChainLegFilled', 'ChainCompleted']);
  assert.equal(report(refused).data.status, 'FAILED');
  assert.match(report(refused).data.error ?? '', /order test refused: -1013 Filter failure: LOT_SIZE/);
  // No answer from the endpoint (timeout, 5xx): the leg is not filled on a guess.
  const u = chains.initialState();
  const y = admit(triangle('p-unknown', { mode: 'paper', env: 'staging' }), u);
  apply(u, y);
  const unanswered = answer(u, { ...tested(requestOf(y), 'unknown'), data: { ...tested(requestOf(y), 'unknown').data, reason: 'no reply within 5000 ms' } });
  assert.equal(report(unanswered).data.status, 'FAILED');
  assert.match(report(unanswered).data.error ?? '', /order test got no answer: no reply within 5000 ms/);
});
