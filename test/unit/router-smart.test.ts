// The smart router's decider: candidates priced and recorded, venues left out with the reason,
// whole or split orders, and the fold of the gateway's events it decides on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dec, isMultipleOf } from '../../src/domain/decimal.js';
import { makeEvent } from '../../src/domain/envelope.js';
import type { Event, EventOf } from '../../src/domain/events.js';
import { BUILTIN_INSTRUMENTS } from '../../src/market/instruments.js';
import type { Book, MarketData } from '../../src/market/types.js';
import { normalizer } from '../../src/normalizer/decide.js';
import { router, type RouterEvent, type RouterSettings } from '../../src/router/decide.js';
import { evolveRouter, routerStateFor, type RouterState } from '../../src/router/state.js';
import { given } from '../helpers/decider.js';

const T0 = '2026-01-02T10:00:00Z';
const lv = (p: string, q: string) => ({ price: dec(p), qty: dec(q) });
const specs = BUILTIN_INSTRUMENTS.filter((s) => s.base === 'BTC' && s.quote === 'USDT');

/** Three BTC/USDT books: BINANCE best at the touch but thin, OKX and KUCOIN a little dearer and deeper. */
const BOOKS: Record<string, Pick<Book, 'asks' | 'bids'>> = {
  'BINANCE:BTCUSDT': { asks: [lv('100000', '0.1'), lv('100100', '0.1'), lv('100500', '5')], bids: [lv('99990', '0.1'), lv('99900', '0.1'), lv('99500', '5')] },
  'OKX:BTC-USDT': { asks: [lv('100010', '0.2'), lv('100050', '1'), lv('100600', '5')], bids: [lv('99980', '0.2'), lv('99950', '1'), lv('99400', '5')] },
  'KUCOIN:BTC-USDT': { asks: [lv('100020', '0.3'), lv('100700', '5')], bids: [lv('99970', '0.3'), lv('99300', '5')] },
};
const market: MarketData = {
  instruments: () => specs,
  instrument: (id) => specs.find((s) => s.instrument_id === id),
  bookAt: (id) => (BOOKS[id] ? { instrument_id: id, ts_us: 0, ...BOOKS[id] } : undefined),
};

/** An intent as risk approved it, through the normalizer with this market. */
function approved(id: string, intent: Record<string, unknown>): EventOf<'RiskApproved'> {
  const raw = { intent_id: id, ts: T0, account: 'A', instrument_id: 'BTCUSDT', side: 'BUY', size: { type: 'quantity', value: '0.5' }, labels: { strategy: 'S' }, ...intent };
  const [e] = normalizer.decide(
    { raw: Buffer.from(JSON.stringify(raw)), source: { topic: 'exec.intents', partition: 0, offset: 0 }, arrived_us: 0, market },
    normalizer.initialState(),
  );
  assert.ok(e.type === 'IntentAccepted', JSON.stringify(e.data));
  const seed = { intent_id: id, account: 'A', strategy: 'S', ts: T0, causation: e.event_id };
  return makeEvent('RiskApproved', `${id}/risk`, seed, { intent: e.data.intent, policy_version: 1 });
}

const decide = (a: EventOf<'RiskApproved'>, state: RouterState = routerStateFor(market), settings?: RouterSettings): RouterEvent[] =>
  router.decide({ approved: a, market, settings }, state);
const apply = (events: Event[]): RouterState => events.reduce((s, e) => evolveRouter(s, e), routerStateFor(market));
const gw = (type: string, data: Record<string, unknown>): Event =>
  ({ ...makeEvent('VenueHalted', `gw/${type}`, { intent_id: '', account: '', strategy: '', ts: T0, causation: 'gw' }, data as never), type }) as Event;

function split(events: RouterEvent[]): { decided: EventOf<'RouteDecided'>; orders: EventOf<'OrderRouted'>[] } {
  const [decided, ...orders] = events;
  assert.ok(decided.type === 'RouteDecided', `first a RouteDecided, got ${decided.type}`);
  assert.ok(orders.every((o) => o.type === 'OrderRouted'));
  return { decided, orders: orders };
}

test('a bare symbol is priced on every venue listing it, and the decision lists each candidate and its cost', () => {
  const { decided, orders } = split(decide(approved('s1', {})));
  assert.deepEqual(
    decided.data.candidates.map((c) => c.instrument_id),
    ['BINANCE:BTCUSDT', 'OKX:BTC-USDT', 'KUCOIN:BTC-USDT'],
  );
  for (const c of decided.data.candidates) {
    assert.equal(c.excluded, undefined);
    assert.equal(c.filled_qty, '0.5');
    assert.ok(dec(c.cost!).gt(dec(c.fee!)), 'cost is the walked notional plus the fee');
  }
  assert.equal(decided.data.split, true);
  // 0.5 BTC: BINANCE 0.1 @ 100000, OKX 0.2 @ 100010, KUCOIN 0.2 of its 0.3 @ 100020 (before BINANCE's 100100).
  assert.deepEqual(
    orders.map((o) => [o.data.order.instrument_id, o.data.order.qty, o.data.order.leg]),
    [
      ['BINANCE:BTCUSDT', '0.1', 0],
      ['OKX:BTC-USDT', '0.2', 1],
      ['KUCOIN:BTC-USDT', '0.2', 2],
    ],
  );
  assert.equal(new Set(orders.map((o) => o.data.order.client_order_id)).size, 3, 'one client order id per child');
  assert.ok(dec(decided.data.cost!).lt(dec(decided.data.candidates[0].cost!)), 'the split costs less than the best venue alone');
  assert.deepEqual(decide(approved('s1', {})), decide(approved('s1', {})), 'pure: the same input gives the same events');
});

test('a small order goes whole to the cheapest venue; a single venue intent is routed as before, with no decision record', () => {
  const { decided, orders } = split(decide(approved('w1', { size: { type: 'quantity', value: '0.05' } })));
  assert.equal(decided.data.split, false);
  assert.equal(orders.length, 1);
  assert.equal(orders[0].data.order.instrument_id, 'BINANCE:BTCUSDT');
  assert.match(decided.data.reason, /whole on BINANCE:BTCUSDT/);
  const one = decide(approved('w2', { instrument_id: 'OKX:BTC-USDT' }));
  assert.deepEqual(
    one.map((e) => e.type),
    ['OrderRouted'],
  );
});

test('constraints.venues picks and orders the candidates', () => {
  const { decided } = split(decide(approved('v1', { constraints: { venues: ['kucoin', 'OKX'] } })));
  assert.deepEqual(
    decided.data.candidates.map((c) => c.instrument_id),
    ['KUCOIN:BTC-USDT', 'OKX:BTC-USDT'],
  );
});

test('halted and quarantined venues are left out with the reason', () => {
  const s = apply([
    gw('VenueHalted', { venue: 'BINANCE', env: 'sim', reason: 'HTTP 418' }),
    gw('AccountQuarantined', { venue: 'OKX', env: 'sim', reason: 'an order fillstream did not place' }),
  ]);
  const { decided, orders } = split(decide(approved('h1', {}), s));
  assert.match(decided.data.candidates[0].excluded ?? '', /BINANCE \(sim\) is halted: HTTP 418/);
  assert.match(decided.data.candidates[1].excluded ?? '', /quarantine/);
  assert.deepEqual(
    orders.map((o) => o.data.order.venue),
    ['KUCOIN'],
  );
  // Resumed and cleared: back in.
  const back = apply([gw('VenueHalted', { venue: 'BINANCE', env: 'sim', reason: 'x' }), gw('VenueResumed', { venue: 'BINANCE', env: 'sim', reason: 'ok', operator: 'op' })]);
  assert.equal(split(decide(approved('h2', {}), back)).decided.data.candidates[0].excluded, undefined);
  // Every venue out: the first candidate gets it whole, and the decision says why.
  const all = apply(['BINANCE', 'OKX', 'KUCOIN'].map((v) => gw('VenueHalted', { venue: v, env: 'sim', reason: 'down' })));
  const none = split(decide(approved('h3', {}), all));
  assert.match(none.decided.data.reason, /no candidate can take/);
  assert.equal(none.orders[0].data.order.instrument_id, 'BINANCE:BTCUSDT');
});

test('a venue short of balance is left out or capped, and routed orders hold what they may spend until they end', () => {
  const ready = (venue: string, balances: Record<string, string>) =>
    gw('VenueReady', { venue, env: 'sim', can_trade: true, clock_offset_ms: 0, instruments: [], balances, reconciled: { checked: 0, reports: 0, orphans: 0, missing: 0 } });
  const s = apply([ready('BINANCE', { USDT: '0' }), ready('OKX', { USDT: '10015' })]);
  const { decided, orders } = split(decide(approved('b1', {}), s));
  assert.match(decided.data.candidates[0].excluded ?? '', /no free USDT on BINANCE/);
  // OKX's 10015 USDT pays for about 0.1 BTC at 100010 with its fee: the rest goes to KUCOIN.
  const okx = orders.find((o) => o.data.order.venue === 'OKX')!;
  assert.ok(dec(okx.data.order.qty).times('100010').times('1.001').lte(dec('10015')), `OKX got ${okx.data.order.qty}`);
  const total = orders.reduce((t, o) => t.plus(o.data.order.qty), dec(0));
  assert.equal(total.toString(), '0.5');
  // The OKX order holds its funds: a second intent finds OKX (nearly) spent.
  let after = s;
  for (const e of [decided, ...orders]) after = router.evolveInPlace(after, e);
  const free = after.balances.get('sim:OKX')!.get('USDT')!;
  assert.ok(free.lt(dec('100')), `OKX has ${free.toString()} USDT free while its order is open`);
  // The order ends unfilled: its funds are free again.
  const coid = okx.data.order.client_order_id;
  after = router.evolveInPlace(after, gw('OrderCanceled', { client_order_id: coid, reason: 'test' }));
  assert.equal(after.balances.get('sim:OKX')!.get('USDT')!.toString(), '10015');
});

test('measured latency is a penalty: a slow venue loses an order its quote alone would win', () => {
  const slow = apply([gw('OrderSubmitted', { client_order_id: 'x', venue: 'BINANCE', env: 'staging', recovered: false, latency_ms: 500 })]);
  const small = { size: { type: 'quantity', value: '0.05' }, env: 'staging' };
  const fast = split(decide(approved('l1', small)));
  assert.equal(fast.orders[0].data.order.venue, 'BINANCE');
  const { decided, orders } = split(decide(approved('l1', small), slow));
  assert.equal(decided.data.candidates[0].latency_ms, '500');
  assert.ok(dec(decided.data.candidates[0].penalty!).gt(0));
  assert.equal(orders[0].data.order.venue, 'OKX', '500 ms × 0.01 bps/ms = 5 bps outweighs BINANCE’s 1 bp better price');
  const noPenalty = split(decide(approved('l1', small), slow, { latency_bps_per_ms: '0', split: true }));
  assert.equal(noPenalty.orders[0].data.order.venue, 'BINANCE');
  // The simulator's round trip is not its venue's: sim intents route on the books alone.
  const simSlow = apply([gw('OrderSubmitted', { client_order_id: 'y', venue: 'BINANCE', env: 'sim', recovered: false, latency_ms: 500 })]);
  assert.equal(split(decide(approved('l2', { size: { type: 'quantity', value: '0.05' } }), simSlow)).orders[0].data.order.venue, 'BINANCE');
});

test('a slippage cap becomes a LIMIT IOC on each child at its own venue’s protective price, on its tick', () => {
  const { orders } = split(decide(approved('p1', { constraints: { max_slippage_bps: 20 } })));
  assert.ok(orders.length > 1);
  for (const o of orders) {
    const spec = specs.find((s) => s.instrument_id === o.data.order.instrument_id)!;
    assert.equal(o.data.order.order_type, 'LIMIT');
    assert.equal(o.data.order.tif, 'IOC');
    assert.ok(isMultipleOf(dec(o.data.order.limit_price!), dec(spec.tick_size)));
    assert.ok(dec(o.data.order.limit_price!).lte(dec(o.data.order.ref_price).times('1.002')));
  }
});

test('with split off the whole order goes to one venue', () => {
  const { decided, orders } = split(decide(approved('n1', {}), routerStateFor(market), { latency_bps_per_ms: '0.01', split: false }));
  assert.equal(decided.data.split, false);
  assert.equal(orders.length, 1);
  assert.equal(orders[0].data.order.qty, '0.5');
});

test('the router’s in-place fold equals its evolve fold, and neither decide nor evolve changes its input', () => {
  // given() and when() check both folds at every step (test/helpers/decider.ts).
  const ready = gw('VenueReady', {
    venue: 'OKX',
    env: 'staging',
    can_trade: true,
    clock_offset_ms: 0,
    instruments: [],
    balances: { USDT: '20000', BTC: '1' },
    reconciled: { checked: 0, reports: 0, orphans: 0, missing: 0 },
  });
  const history: Event[] = [
    ready,
    gw('OrderSubmitted', { client_order_id: 'x', venue: 'BINANCE', env: 'staging', recovered: false, latency_ms: 12.5 }),
    gw('VenueHalted', { venue: 'KUCOIN', env: 'staging', reason: 'down' }),
  ];
  // A fresh state that prices holds with this market, each time one is asked for.
  const tested = { ...router, initialState: () => routerStateFor(market) };
  const decided = given(tested, ...history).when({ approved: approved('g1', { env: 'staging' }), market }).events;
  history.push(...decided);
  const okx = decided.find((e): e is EventOf<'OrderRouted'> => e.type === 'OrderRouted' && e.data.order.venue === 'OKX');
  assert.ok(okx, `OKX took a part: ${JSON.stringify(decided.map((e) => [e.type, e.type === 'RouteDecided' ? e.data.candidates : e.data]))}`);
  history.push(gw('OrderCanceled', { client_order_id: okx.data.order.client_order_id, reason: 'IOC' }));
  const end = given(tested, ...history).state;
  assert.equal(end.balances.get('staging:OKX')!.get('USDT')!.toString(), '20000', `the hold is released when the order ends: ${JSON.stringify([...end.holds])}`);
});

test('a venue outside its trading window is left out with the reason; the order goes to the others', async () => {
  const { compileWindows } = await import('../../src/router/windows.js');
  const settings: RouterSettings = {
    latency_bps_per_ms: '0.01',
    split: true,
    // T0 (a Friday, 10:00 UTC) falls in BINANCE's maintenance; KUCOIN trades weekends only.
    windows: compileWindows({
      venues: {
        BINANCE: { closed: [{ from: '2026-01-02T09:30:00Z', to: '2026-01-02T10:30:00Z', reason: 'maintenance' }] },
        KUCOIN: { open: [{ days: ['sat', 'sun'], from: '00:00', to: '24:00' }] },
      },
    }),
  };
  const { decided, orders } = split(decide(approved('w1', {}), routerStateFor(market), settings));
  const why = new Map(decided.data.candidates.map((c) => [c.instrument_id, c.excluded]));
  assert.equal(why.get('BINANCE:BTCUSDT'), 'BINANCE is closed (maintenance) from 2026-01-02T09:30:00.000000Z to 2026-01-02T10:30:00.000000Z');
  assert.match(why.get('KUCOIN:BTC-USDT') ?? '', /^KUCOIN trades sat,sun 00:00–24:00 UTC: 2026-01-02T10:00:00.000000Z is outside$/);
  assert.equal(why.get('OKX:BTC-USDT'), undefined);
  assert.deepEqual(
    orders.map((o) => [o.data.order.instrument_id, o.data.order.qty]),
    [['OKX:BTC-USDT', '0.5']],
  );
});
