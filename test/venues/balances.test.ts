// Each venue adapter's balances() and testOrder() against its emulator over loopback HTTP: the
// emulated account moves by every fill and its fee (exact decimals), resting orders lock what they
// may spend, an order the account cannot pay for is refused with the venue's own code, the
// balance_lag_ms switch holds balance changes back while fills are already reported, and an order
// test validates like a placement and places nothing.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { dec, fmt } from '../../src/domain/decimal.js';
import type { Order, VenueReport } from '../../src/domain/events.js';
import { createSyntheticMarket } from '../../src/market/synthetic.js';
import { openSimVenue } from '../../src/venues/sim/index.js';
import type { VenueAdapter, VenueAnswer } from '../../src/venues/types.js';
import * as bn from './binance-helpers.js';
import * as kc from './kucoin-helpers.js';
import * as ox from './okx-fixture.js';

type Trade = Extract<VenueReport, { kind: 'TRADE' }>;
const tradesIn = (rs: readonly VenueReport[]): Trade[] => rs.filter((r): r is Trade => r.kind === 'TRADE');
const reportsOf = (a: VenueAnswer): VenueReport[] => (a.kind === 'answered' ? a.reports : []);
const TS = '2026-01-02T10:00:00.000000Z';
const START = { USDT: '100000', BTC: '2' };

/** The account after these trades of one order: base and quote moved by each fill, each fee taken in its currency. */
function afterTrades(before: Record<string, string>, side: 'BUY' | 'SELL', trades: readonly Trade[], base = 'BTC', quote = 'USDT'): Record<string, string> {
  let b = dec(before[base]);
  let q = dec(before[quote]);
  for (const t of trades) {
    const cost = dec(t.qty).times(dec(t.price));
    b = side === 'BUY' ? b.plus(dec(t.qty)) : b.minus(dec(t.qty));
    q = side === 'BUY' ? q.minus(cost) : q.plus(cost);
    if (t.fee_ccy === base) b = b.minus(dec(t.fee));
    else if (t.fee_ccy === quote) q = q.minus(dec(t.fee));
    else assert.fail(`fee in ${t.fee_ccy}, neither ${base} nor ${quote}`);
  }
  return { [base]: fmt(b), [quote]: fmt(q) };
}

async function emulatorBalances(url: string): Promise<Record<string, { free: string; locked: string }>> {
  const res = await fetch(`${url}/__emulator/balances`);
  assert.equal(res.status, 200);
  return (await res.json()) as Record<string, { free: string; locked: string }>;
}

async function emulatorStats(
  url: string,
): Promise<{ placement_requests: Record<string, number>; placements: Record<string, number>; order_tests: Record<string, number>; open: number }> {
  const res = await fetch(`${url}/__emulator/stats`);
  return (await res.json()) as Awaited<ReturnType<typeof emulatorStats>>;
}

async function setLag(url: string, ms: number): Promise<void> {
  const res = await fetch(`${url}/__emulator/faults`, { method: 'POST', body: JSON.stringify({ balance_lag_ms: ms }) });
  assert.equal(res.status, 200, await res.text());
}

/** Polls until the account's free balances differ from `before`, or fails after `ms`. */
async function changedFrom(adapter: VenueAdapter, before: Record<string, string>, ms = 10_000): Promise<Record<string, string>> {
  const end = Date.now() + ms;
  for (;;) {
    const now = await adapter.balances(Object.keys(before));
    if (JSON.stringify(now) !== JSON.stringify(before)) return now;
    if (Date.now() > end) assert.fail(`balances never changed from ${JSON.stringify(before)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * balance_lag_ms: the fill is reported at once (`fillsOf` reads them right after placing), while
 * the balances show the account as before the trade until the lag has passed since it.
 */
async function lagRehearsal(o: { url: string; adapter: VenueAdapter; place: () => Promise<{ side: 'BUY' | 'SELL'; trades: Trade[] }> }): Promise<void> {
  const LAG = 1_500;
  await setLag(o.url, LAG);
  const before = await o.adapter.balances(['BTC', 'USDT']);
  const t0 = Date.now();
  const { side, trades } = await o.place();
  assert.ok(trades.length > 0, 'the fill is reported at once');
  const early = await o.adapter.balances(['BTC', 'USDT']);
  assert.ok(Date.now() - t0 < LAG, 'the early read must come inside the lag for this test to mean anything');
  assert.deepEqual(early, before, 'within balance_lag_ms the trade is not in the balances yet');
  const late = await changedFrom(o.adapter, before);
  assert.ok(Date.now() - t0 >= LAG, `the balances changed ${Date.now() - t0} ms after placing, before the ${LAG} ms lag`);
  assert.deepEqual(late, afterTrades(before, side, trades), 'after the lag: exactly the fill and its fee');
}

// --- Binance ------------------------------------------------------------------------------------------

test('Binance balances: a market buy and sell move base and quote by the fill and the fee; a resting order locks, its cancel frees', async () => {
  const r = await bn.rig({ balances: START });
  try {
    await r.adapter.start();
    assert.deepEqual(await r.adapter.balances(['BTC', 'USDT', 'ETH']), { BTC: '2', USDT: '100000', ETH: '0' });

    const buy = await r.adapter.place(bn.order({ side: 'BUY', order_type: 'MARKET', qty: '0.1' }), TS);
    const bought = tradesIn(reportsOf(buy));
    assert.deepEqual(
      bought.map((t) => [t.qty, t.price, t.fee, t.fee_ccy]),
      [['0.1', '50001', '0.0001', 'BTC']],
    );
    // 2 + 0.1 - 0.0001 BTC; 100000 - 0.1 x 50001 USDT.
    assert.deepEqual(await r.adapter.balances(['BTC', 'USDT']), { BTC: '2.0999', USDT: '94999.9' });

    const sell = await r.adapter.place(bn.order({ side: 'SELL', order_type: 'MARKET', qty: '0.6' }), TS);
    const sold = tradesIn(reportsOf(sell));
    assert.deepEqual(
      sold.map((t) => [t.qty, t.price, t.fee, t.fee_ccy]),
      [
        ['0.5', '50000', '25', 'USDT'],
        ['0.1', '49999', '4.9999', 'USDT'],
      ],
    );
    // 2.0999 - 0.6 BTC; 94999.9 + 25000 + 4999.9 - 25 - 4.9999 USDT.
    const afterSell = await r.adapter.balances(['BTC', 'USDT']);
    assert.deepEqual(afterSell, { BTC: '1.4999', USDT: '124969.8001' });
    assert.deepEqual(afterSell, afterTrades(afterTrades(START, 'BUY', bought), 'SELL', sold));

    const rest = bn.order({ side: 'BUY', order_type: 'LIMIT', qty: '0.1', limit_price: '49000', tif: 'GTC' });
    assert.equal(reportsOf(await r.adapter.place(rest, TS))[0]?.kind, 'ACK');
    assert.deepEqual(await r.adapter.balances(['USDT']), { USDT: '120069.8001' }, '0.1 x 49000 locked');
    assert.deepEqual((await emulatorBalances(r.emu.url)).USDT, { free: '120069.8001', locked: '4900' });
    const restSell = bn.order({ side: 'SELL', order_type: 'LIMIT', qty: '0.2', limit_price: '51000', tif: 'GTC' });
    assert.equal(reportsOf(await r.adapter.place(restSell, TS))[0]?.kind, 'ACK');
    assert.deepEqual((await emulatorBalances(r.emu.url)).BTC, { free: '1.2999', locked: '0.2' });

    await r.adapter.cancel({ client_order_id: rest.client_order_id, instrument_id: rest.instrument_id, symbol: rest.symbol }, TS);
    await r.adapter.cancel({ client_order_id: restSell.client_order_id, instrument_id: restSell.instrument_id, symbol: restSell.symbol }, TS);
    assert.deepEqual(await r.adapter.balances(['BTC', 'USDT']), afterSell, 'the cancels free what the orders locked');
    assert.deepEqual(await emulatorBalances(r.emu.url), { BTC: { free: '1.4999', locked: '0' }, USDT: { free: '124969.8001', locked: '0' } });
  } finally {
    await r.close();
  }
});

test('Binance: a resting order filled by a counterparty releases its lock as it fills', async () => {
  const r = await bn.rig({ balances: START });
  try {
    await r.adapter.start();
    const o = bn.order({ side: 'BUY', order_type: 'LIMIT', qty: '0.1', limit_price: '49000', tif: 'GTC' });
    await r.adapter.place(o, TS);
    await bn.admin(r.emu, 'fill', { client_order_id: o.client_order_id, qty: '0.04' });
    // 0.04 bought at 49000 (1960 USDT) less a 0.00004 BTC fee; 0.06 x 49000 still locked.
    assert.deepEqual(await emulatorBalances(r.emu.url), { BTC: { free: '2.03996', locked: '0' }, USDT: { free: '95100', locked: '2940' } });
    await bn.admin(r.emu, 'fill', { client_order_id: o.client_order_id });
    assert.deepEqual(await emulatorBalances(r.emu.url), { BTC: { free: '2.0999', locked: '0' }, USDT: { free: '95100', locked: '0' } });
    assert.deepEqual(await r.adapter.balances(['BTC', 'USDT']), { BTC: '2.0999', USDT: '95100' });
  } finally {
    await r.close();
  }
});

test('Binance: an order the account cannot pay for is REJECTED with -2010; nothing is placed, nothing moves', async () => {
  const r = await bn.rig({ balances: START });
  try {
    await r.adapter.start();
    const cases: Order[] = [
      bn.order({ side: 'BUY', order_type: 'LIMIT', qty: '2.1', limit_price: '49000', tif: 'GTC' }), // 102,900 USDT
      bn.order({ side: 'BUY', order_type: 'MARKET', qty: '2.1' }), // walks the asks past 100,000
      bn.order({ side: 'SELL', order_type: 'MARKET', qty: '2.00001' }),
    ];
    for (const o of cases) {
      const [rej] = reportsOf(await r.adapter.place(o, TS));
      assert.ok(rej?.kind === 'REJECTED', JSON.stringify(rej));
      assert.equal(rej.code, '-2010');
      assert.match(rej.reason, /Account has insufficient balance for requested action\./);
    }
    assert.equal(r.emu.exchange.placements.size, 0);
    assert.deepEqual(await r.adapter.balances(['BTC', 'USDT']), START);
  } finally {
    await r.close();
  }
});

test('Binance balance_lag_ms: the fill is in the order reply at once, the balance change only after the lag', async () => {
  const r = await bn.rig({ balances: START });
  try {
    await r.adapter.start();
    await lagRehearsal({
      url: r.emu.url,
      adapter: r.adapter,
      place: async () => ({ side: 'BUY', trades: tradesIn(reportsOf(await r.adapter.place(bn.order({ side: 'BUY', order_type: 'MARKET', qty: '0.1' }), TS))) }),
    });
  } finally {
    await r.close();
  }
});

test('Binance testOrder: POST /api/v3/order/test accepts a valid order, rejects a filter breach and an unpayable one with the placement codes, places nothing', async () => {
  const r = await bn.rig({ balances: START });
  try {
    await r.adapter.start();
    const testOrder = r.adapter.testOrder?.bind(r.adapter);
    assert.ok(testOrder, 'Binance has an order-test endpoint');
    const valid = bn.order({ side: 'BUY', order_type: 'LIMIT', qty: '0.1', limit_price: '49000', tif: 'GTC' });
    const market = bn.order({ side: 'SELL', order_type: 'MARKET', qty: '0.1' });
    const offStep = bn.order({ side: 'BUY', order_type: 'LIMIT', qty: '0.000015', limit_price: '49000', tif: 'GTC' });
    const unpayable = bn.order({ side: 'BUY', order_type: 'LIMIT', qty: '3', limit_price: '49000', tif: 'GTC' });
    const before = await r.adapter.balances(['BTC', 'USDT']);

    assert.deepEqual(await testOrder(valid, TS), { kind: 'accepted' });
    assert.deepEqual(await testOrder(market, TS), { kind: 'accepted' });
    const lot = await testOrder(offStep, TS);
    assert.ok(lot.kind === 'rejected', JSON.stringify(lot));
    assert.equal(lot.code, '-1013');
    assert.match(lot.reason, /Filter failure: LOT_SIZE/);
    const poor = await testOrder(unpayable, TS);
    assert.ok(poor.kind === 'rejected', JSON.stringify(poor));
    assert.equal(poor.code, '-2010');
    assert.match(poor.reason, /insufficient balance/);
    // The same order placed is refused with the same code and reason.
    const [placedRej] = reportsOf(await r.adapter.place(bn.order({ side: 'BUY', order_type: 'LIMIT', qty: '3', limit_price: '49000', tif: 'GTC' }), TS));
    assert.ok(placedRej?.kind === 'REJECTED' && placedRej.code === poor.code && placedRej.reason === poor.reason, JSON.stringify(placedRej));

    const tests = r.emu.requests.filter((q) => q.method === 'POST' && q.path === '/api/v3/order/test');
    assert.deepEqual(
      tests.map((q) => q.status),
      [200, 200, 400, 400],
    );
    const stats = await emulatorStats(r.emu.url);
    assert.deepEqual(stats.order_tests, { [valid.client_order_id]: 1, [market.client_order_id]: 1, [offStep.client_order_id]: 1, [unpayable.client_order_id]: 1 });
    assert.deepEqual(stats.placements, {}, 'an order test places nothing');
    assert.equal(stats.open, 0);
    assert.deepEqual(await r.adapter.openOrders(), []);
    assert.deepEqual(await r.adapter.balances(['BTC', 'USDT']), before);
    // A client order id only tested is still free to place.
    assert.equal(reportsOf(await r.adapter.place(valid, TS))[0]?.kind, 'ACK');
  } finally {
    await r.close();
  }
});

test('Binance default funding: each quote asset 10,000,000 and each base 100,000', async () => {
  const r = await bn.rig();
  try {
    await r.adapter.start();
    assert.deepEqual(await r.adapter.balances(['USDT', 'BTC', 'ETH', 'SOL', 'XRP']), { USDT: '10000000', BTC: '10000000', ETH: '100000', SOL: '100000', XRP: '0' });
  } finally {
    await r.close();
  }
});

// --- KuCoin ---------------------------------------------------------------------------------------------

test('KuCoin balances: a market buy and sell move base and quote by the fill and the fee (in USDT); a resting order locks, its cancel frees', async () => {
  const r = await kc.rig({ balances: START });
  try {
    await r.adapter.start();
    assert.deepEqual(await r.adapter.balances(['BTC', 'USDT', 'ETH']), { BTC: '2', USDT: '100000', ETH: '0' });
    assert.deepEqual(await r.adapter.balances(['USDT']), { USDT: '100000' }, 'one currency: asked with the currency filter');

    const buy = kc.order({ side: 'BUY', order_type: 'MARKET', qty: '0.5' });
    assert.equal(reportsOf(await r.adapter.place(buy, TS))[0]?.kind, 'ACK');
    const bought = tradesIn((await r.adapter.query(kc.ref(buy)))?.reports ?? []);
    assert.ok(bought.length > 0 && bought.every((t) => t.fee_ccy === 'USDT'), JSON.stringify(bought));
    const afterBuy = afterTrades(START, 'BUY', bought);
    assert.deepEqual(await r.adapter.balances(['BTC', 'USDT']), afterBuy);
    assert.equal(afterBuy.BTC, '2.5');

    const sell = kc.order({ side: 'SELL', order_type: 'MARKET', qty: '1.2' });
    await r.adapter.place(sell, TS);
    const sold = tradesIn((await r.adapter.query(kc.ref(sell)))?.reports ?? []);
    const afterSell = afterTrades(afterBuy, 'SELL', sold);
    assert.deepEqual(await r.adapter.balances(['BTC', 'USDT']), afterSell);
    assert.equal(afterSell.BTC, '1.3');

    const price = kc.restingBuyPrice(r.market);
    const rest = kc.order({ side: 'BUY', order_type: 'LIMIT', qty: '0.1', limit_price: price, tif: 'GTC' });
    assert.equal(reportsOf(await r.adapter.place(rest, TS))[0]?.kind, 'ACK');
    // KuCoin charges its fee in quote: a buy holds the fee as well (at the higher of maker and taker, 0.1%).
    const held = dec('0.1').times(dec(price)).times(dec('1.001'));
    assert.deepEqual(await r.adapter.balances(['USDT']), { USDT: fmt(dec(afterSell.USDT).minus(held)) });
    assert.deepEqual((await emulatorBalances(r.emu.url)).USDT.locked, fmt(held));
    await r.adapter.cancel(kc.ref(rest), TS);
    assert.deepEqual(await r.adapter.balances(['BTC', 'USDT']), afterSell, 'the cancel frees what the order held');
  } finally {
    await r.close();
  }
});

test('KuCoin: an order the account cannot pay for is REJECTED with 200004 "Balance insufficient!"; nothing is placed', async () => {
  const r = await kc.rig({ balances: START });
  try {
    await r.adapter.start();
    const cases = [
      kc.order({ side: 'BUY', order_type: 'LIMIT', qty: '2', limit_price: kc.restingBuyPrice(r.market), tif: 'GTC' }),
      kc.order({ side: 'SELL', order_type: 'MARKET', qty: '2.00000001' }),
    ];
    for (const o of cases) {
      const [rej] = reportsOf(await r.adapter.place(o, TS));
      assert.ok(rej?.kind === 'REJECTED', JSON.stringify(rej));
      assert.equal(rej.code, '200004');
      assert.match(rej.reason, /insufficient balance: Balance insufficient!/);
    }
    assert.equal(r.emu.exchange.placements.size, 0);
    assert.deepEqual(await r.adapter.balances(['BTC', 'USDT']), START);
  } finally {
    await r.close();
  }
});

test('KuCoin balance_lag_ms: the fill is found at once, the balance change only after the lag', async () => {
  const r = await kc.rig({ balances: START });
  try {
    await r.adapter.start();
    await lagRehearsal({
      url: r.emu.url,
      adapter: r.adapter,
      place: async () => {
        const o = kc.order({ side: 'SELL', order_type: 'MARKET', qty: '0.3' });
        await r.adapter.place(o, TS);
        return { side: 'SELL', trades: tradesIn((await r.adapter.query(kc.ref(o)))?.reports ?? []) };
      },
    });
  } finally {
    await r.close();
  }
});

test('KuCoin testOrder: /api/v1/hf/orders/test accepts a valid order, rejects a size below the minimum and an unpayable one, places nothing', async () => {
  const r = await kc.rig({ balances: START, subscribe: true });
  try {
    await r.adapter.start();
    const testOrder = r.adapter.testOrder?.bind(r.adapter);
    assert.ok(testOrder, 'KuCoin has an order-test endpoint');
    const price = kc.restingBuyPrice(r.market);
    const valid = kc.order({ side: 'BUY', order_type: 'LIMIT', qty: '0.1', limit_price: price, tif: 'GTC' });
    const market = kc.order({ side: 'BUY', order_type: 'MARKET', qty: '0.1' });
    const tiny = kc.order({ side: 'BUY', order_type: 'LIMIT', qty: '0.000001', limit_price: price, tif: 'GTC' });
    const offTick = kc.order({ side: 'BUY', order_type: 'LIMIT', qty: '0.1', limit_price: fmt(dec(price).plus(dec('0.05'))), tif: 'GTC' });
    const unpayable = kc.order({ side: 'BUY', order_type: 'LIMIT', qty: '2', limit_price: price, tif: 'GTC' });
    const before = await r.adapter.balances(['BTC', 'USDT']);

    assert.deepEqual(await testOrder(valid, TS), { kind: 'accepted' });
    assert.deepEqual(await testOrder(market, TS), { kind: 'accepted' });
    const small = await testOrder(tiny, TS);
    assert.ok(small.kind === 'rejected', JSON.stringify(small));
    assert.equal(small.code, '400100');
    assert.match(small.reason, /below the minimum/);
    const tick = await testOrder(offTick, TS);
    assert.ok(tick.kind === 'rejected' && tick.code === '400100', JSON.stringify(tick));
    assert.match(tick.reason, /Price increment invalid/);
    const poor = await testOrder(unpayable, TS);
    assert.ok(poor.kind === 'rejected', JSON.stringify(poor));
    assert.equal(poor.code, '200004');
    assert.match(poor.reason, /Balance insufficient!/);

    const stats = await emulatorStats(r.emu.url);
    assert.deepEqual(stats.order_tests, {
      [valid.client_order_id]: 1,
      [market.client_order_id]: 1,
      [tiny.client_order_id]: 1,
      [offTick.client_order_id]: 1,
      [unpayable.client_order_id]: 1,
    });
    assert.deepEqual(stats.placement_requests, {});
    assert.deepEqual(stats.placements, {}, 'an order test places nothing');
    assert.deepEqual(await r.adapter.openOrders(), []);
    assert.deepEqual(await r.adapter.balances(['BTC', 'USDT']), before);
    assert.deepEqual(r.pushed, [], 'nothing on the private stream');
    // KuCoin never takes a clientOid twice, but one only tested was never used.
    assert.equal(reportsOf(await r.adapter.place(valid, TS))[0]?.kind, 'ACK');
  } finally {
    await r.close();
  }
});

// --- OKX ----------------------------------------------------------------------------------------------------

test('OKX balances: a market buy and sell move base and quote by the fill and the fee; a resting order freezes, its cancel frees', async () => {
  const r = await ox.rig({ balances: START });
  try {
    await r.adapter.start();
    assert.deepEqual(await r.adapter.balances(['BTC', 'USDT', 'ETH']), { BTC: '2', USDT: '100000', ETH: '0' });

    const buy = await r.adapter.place(ox.order({ side: 'BUY', order_type: 'MARKET', qty: '0.5' }), TS);
    const bought = ox.trades(reportsOf(buy));
    assert.ok(bought.length > 0 && bought.every((t) => t.fee_ccy === 'BTC'), JSON.stringify(bought));
    const afterBuy = afterTrades(START, 'BUY', bought);
    assert.deepEqual(await r.adapter.balances(['BTC', 'USDT']), afterBuy);
    assert.equal(afterBuy.BTC, '2.4995', '0.5 bought, less its 0.1% fee in BTC');

    const sell = await r.adapter.place(ox.order({ side: 'SELL', order_type: 'MARKET', qty: '1.2' }), TS);
    const sold = ox.trades(reportsOf(sell));
    assert.ok(sold.every((t) => t.fee_ccy === 'USDT'));
    const afterSell = afterTrades(afterBuy, 'SELL', sold);
    assert.deepEqual(await r.adapter.balances(['BTC', 'USDT']), afterSell);
    assert.equal(afterSell.BTC, '1.2995');

    const price = ox.tick(ox.bookOf(r.market).bids[0].price.times('0.95'));
    const rest = ox.order({ side: 'BUY', order_type: 'LIMIT', qty: '0.1', limit_price: price });
    assert.equal(reportsOf(await r.adapter.place(rest, TS))[0]?.kind, 'ACK');
    const frozen = dec('0.1').times(dec(price));
    assert.deepEqual(await r.adapter.balances(['USDT']), { USDT: fmt(dec(afterSell.USDT).minus(frozen)) });
    assert.deepEqual((await emulatorBalances(r.emu.url)).USDT.locked, fmt(frozen));
    await r.adapter.cancel(ox.ref(rest), TS);
    assert.deepEqual(await r.adapter.balances(['BTC', 'USDT']), afterSell, 'the cancel frees what the order froze');
  } finally {
    await r.close();
  }
});

test('OKX: an order (or an amend) the account cannot pay for is REJECTED with 51008 naming the currency; nothing is placed; OKX has no order test', async () => {
  const r = await ox.rig({ balances: START });
  try {
    await r.adapter.start();
    assert.equal('testOrder' in r.adapter, false, 'OKX has no order-test endpoint');
    const price = ox.tick(ox.bookOf(r.market).bids[0].price.times('0.95'));
    const cases: [Order, RegExp][] = [
      [ox.order({ side: 'BUY', order_type: 'LIMIT', qty: '2', limit_price: price }), /Insufficient USDT balance/],
      [ox.order({ side: 'SELL', order_type: 'MARKET', qty: '2.1' }), /Insufficient BTC balance/],
    ];
    for (const [o, why] of cases) {
      const [rej] = reportsOf(await r.adapter.place(o, TS));
      assert.ok(rej?.kind === 'REJECTED', JSON.stringify(rej));
      assert.equal(rej.code, '51008');
      assert.match(rej.reason, why);
    }
    assert.equal(r.emu.exchange.placements.size, 0);
    assert.deepEqual(await r.adapter.balances(['BTC', 'USDT']), START);

    // An amend to more than the account can pay for is refused the same way; the order and its lock stay as they were.
    const rest = ox.order({ side: 'BUY', order_type: 'LIMIT', qty: '0.1', limit_price: price });
    const ack = reportsOf(await r.adapter.place(rest, TS))[0];
    assert.ok(ack?.kind === 'ACK');
    const locked = (await emulatorBalances(r.emu.url)).USDT;
    const [amendRej] = reportsOf(await r.adapter.amend({ ...ox.ref(rest, ack.venue_order_id), filled_qty: '0', order: rest }, { qty: '2' }, TS));
    assert.ok(amendRej?.kind === 'REJECTED' && amendRej.code === '51008', JSON.stringify(amendRej));
    assert.equal(r.emu.exchange.get({ client_order_id: rest.client_order_id })?.qty.toString(), '0.1');
    assert.deepEqual((await emulatorBalances(r.emu.url)).USDT, locked);
  } finally {
    await r.close();
  }
});

test('OKX balance_lag_ms: the fill comes with the answer at once, the balance change only after the lag', async () => {
  const r = await ox.rig({ balances: START });
  try {
    await r.adapter.start();
    await lagRehearsal({
      url: r.emu.url,
      adapter: r.adapter,
      place: async () => ({ side: 'BUY', trades: ox.trades(reportsOf(await r.adapter.place(ox.order({ side: 'BUY', order_type: 'MARKET', qty: '0.2' }), TS))) }),
    });
  } finally {
    await r.close();
  }
});

// --- the simulator and the CLI --------------------------------------------------------------------------------

test('the simulated venue keeps no account: balances() says so rather than make numbers up', async () => {
  const sim = await openSimVenue({ dir: mkdtempSync(join(tmpdir(), 'fillstream-sim-balances-')), market: createSyntheticMarket({ seed: 1 }) });
  try {
    await assert.rejects(sim.balances(['USDT']), /keeps no account balances/);
  } finally {
    await sim.close();
  }
});

test('fillstream emulate binance --balances USDT=1000,BTC=1 funds exactly that account', async () => {
  const root = resolve(import.meta.dirname, '../..');
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'src/cli/main.ts'), 'emulate', 'binance', '--balances', 'USDT=1000,BTC=1'], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  try {
    const line = await new Promise<string>((ok, fail) => {
      createInterface({ input: child.stdout }).once('line', ok);
      child.once('exit', (code) => fail(new Error(`emulate exited ${code}`)));
    });
    const { url } = JSON.parse(line) as { url: string };
    assert.deepEqual(await emulatorBalances(url), { BTC: { free: '1', locked: '0' }, USDT: { free: '1000', locked: '0' } });
  } finally {
    child.kill('SIGTERM');
  }
});
