// The Binance adapter against the Binance emulator over loopback HTTP and WebSocket: order
// lifecycles, the reports each path brings (place reply, user-data push, query, trade list) and
// the venue's own duplicate-client-id rule.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { VenueReport } from '../../src/domain/events.js';
import { admin, order, reportsOf, rig, subscribe, TS, until } from './binance-helpers.js';

const tradesIn = (rs: VenueReport[]) => rs.filter((r) => r.kind === 'TRADE');
const ref = (coid: string) => ({ client_order_id: coid, instrument_id: 'BINANCE:BTCUSDT', symbol: 'BTCUSDT' });

test('start: permissions, clock offset and the instrument rules from exchangeInfo', async () => {
  const r = await rig();
  try {
    const s = await r.adapter.start();
    assert.equal(s.can_trade, true);
    assert.equal(s.can_withdraw, false);
    const btc = s.instruments.find((i) => i.symbol === 'BTCUSDT');
    assert.deepEqual(btc, { symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tick_size: '0.01', lot_size: '0.00001', min_qty: '0.00001', max_qty: '9000', min_notional: '5' });
    assert.ok(Math.abs(s.clock_offset_ms) < 1_000);
    assert.equal(r.adapter.health().rate_headroom > 0.9, true);
  } finally {
    await r.close();
  }
});

test('LIMIT GTC rests, fills in two parts, is amended (cancel/replace), fills again, is canceled: every path agrees', async () => {
  const r = await rig();
  try {
    await r.adapter.start();
    subscribe(r);
    await until('the user-data stream', () => r.adapter.health().connected);
    const since = r.emu.exchange.now() - 1;
    const o = order({ side: 'BUY', order_type: 'LIMIT', qty: '0.1', limit_price: '49990', tif: 'GTC' });
    const placed = await r.adapter.place(o, TS);
    assert.equal(placed.kind, 'answered');
    assert.deepEqual(placed.kind === 'answered' && placed.reports.map((x) => x.kind), ['ACK']);
    const firstId = placed.kind === 'answered' && placed.reports[0].kind === 'ACK' ? placed.reports[0].venue_order_id : '';

    await admin(r.emu, 'fill', { client_order_id: o.client_order_id, qty: '0.03' });
    await admin(r.emu, 'fill', { client_order_id: o.client_order_id, qty: '0.02' });
    await until('two pushed fills', () => tradesIn(reportsOf(r.pushed, o.client_order_id)).length === 2);

    const amended = await r.adapter.amend({ ...ref(o.client_order_id), venue_order_id: firstId, filled_qty: '0.05', order: o }, { qty: '0.2', limit_price: '49995' }, TS);
    assert.equal(amended.kind, 'answered');
    const am = amended.kind === 'answered' ? amended.reports : [];
    assert.equal(am.length, 1);
    assert.equal(am[0].kind, 'AMENDED');
    if (am[0].kind !== 'AMENDED') return;
    assert.equal(am[0].qty, '0.2');
    assert.equal(am[0].limit_price, '49995');
    assert.notEqual(am[0].venue_order_id, firstId);
    // The replacement holds what is left of the new total: 0.2 - 0.05.
    const replacement = r.emu.exchange.get({ client_order_id: `${o.client_order_id}r1` });
    assert.equal(replacement?.qty.toString(), '0.15');
    assert.equal(replacement?.price?.toString(), '49995');

    await admin(r.emu, 'fill', { client_order_id: `${o.client_order_id}r1`, qty: '0.05' });
    await until('the third pushed fill', () => tradesIn(reportsOf(r.pushed, o.client_order_id)).length === 3);

    const canceled = await r.adapter.cancel({ ...ref(o.client_order_id), venue_order_id: am[0].venue_order_id }, TS);
    assert.equal(canceled.kind, 'answered');
    assert.deepEqual(canceled.kind === 'answered' && canceled.reports.map((x) => x.kind), ['CANCELED']);
    await until('the pushed cancel', () => reportsOf(r.pushed, o.client_order_id).some((x) => x.kind === 'CANCELED'));

    // The stream: ACK, three fills, one CANCELED (the replace's cancel leg and the replacement's NEW are not reports).
    const pushed = reportsOf(r.pushed, o.client_order_id);
    assert.deepEqual(
      pushed.map((x) => x.kind),
      ['ACK', 'TRADE', 'TRADE', 'TRADE', 'CANCELED'],
    );
    assert.equal(r.pushed.filter((m) => m.client_order_id !== o.client_order_id).length, 0, 'pushes only for the logical order');

    const snap = await r.adapter.query(ref(o.client_order_id));
    assert.ok(snap);
    assert.equal(snap.open, false);
    assert.equal(snap.venue_order_id, am[0].venue_order_id);
    assert.deepEqual(
      snap.reports.map((x) => x.kind),
      ['ACK', 'TRADE', 'TRADE', 'AMENDED', 'TRADE', 'CANCELED'],
    );
    assert.deepEqual(tradesIn(snap.reports), tradesIn(pushed), 'query trades = pushed trades, field for field');
    assert.deepEqual(
      snap.reports.find((x) => x.kind === 'AMENDED'),
      am[0],
    );
    const listed = await r.adapter.trades(['BTCUSDT'], since);
    assert.deepEqual(
      listed.map((m) => m.client_order_id),
      [o.client_order_id, o.client_order_id, o.client_order_id],
    );
    assert.deepEqual(
      listed.map((m) => m.report),
      tradesIn(pushed),
    );
    const fills = tradesIn(pushed);
    assert.deepEqual(
      fills.map((f) => f.kind === 'TRADE' && [f.qty, f.price, f.liquidity, f.fee, f.fee_ccy]),
      [
        ['0.03', '49990', 'MAKER', '0.00003', 'BTC'],
        ['0.02', '49990', 'MAKER', '0.00002', 'BTC'],
        ['0.05', '49995', 'MAKER', '0.00005', 'BTC'],
      ],
    );
  } finally {
    await r.close();
  }
});

test('MARKET fills across levels; LIMIT IOC partly fills then expires; FOK expires unfilled: reply, stream, query and trades agree', async () => {
  const r = await rig();
  try {
    await r.adapter.start();
    subscribe(r);
    await until('the user-data stream', () => r.adapter.health().connected);
    const since = r.emu.exchange.now() - 1;
    const market = order({ side: 'BUY', order_type: 'MARKET', qty: '0.5' });
    const ioc = order({ side: 'BUY', order_type: 'LIMIT', qty: '0.5', limit_price: '50001', tif: 'IOC' });
    const fok = order({ side: 'BUY', order_type: 'LIMIT', qty: '1', limit_price: '50002', tif: 'FOK' });
    const sell = order({ side: 'SELL', order_type: 'MARKET', qty: '0.1' });
    const expected: Record<string, string[]> = {
      [market.client_order_id]: ['ACK', 'TRADE', 'TRADE'],
      [ioc.client_order_id]: ['ACK', 'TRADE', 'EXPIRED'],
      [fok.client_order_id]: ['ACK', 'EXPIRED'],
      [sell.client_order_id]: ['ACK', 'TRADE'],
    };
    for (const o of [market, ioc, fok, sell]) {
      const a = await r.adapter.place(o, TS);
      assert.equal(a.kind, 'answered');
      if (a.kind !== 'answered') continue;
      assert.deepEqual(
        a.reports.map((x) => x.kind),
        expected[o.client_order_id],
        o.tif,
      );
      await until(`pushes for ${o.client_order_id}`, () => reportsOf(r.pushed, o.client_order_id).length === a.reports.length);
      assert.deepEqual(reportsOf(r.pushed, o.client_order_id), a.reports, 'stream = reply, field for field');
      const snap = await r.adapter.query(ref(o.client_order_id));
      assert.deepEqual(snap?.reports, a.reports, 'query = reply, field for field');
      assert.equal(snap?.open, false);
    }
    const [m1, m2] = tradesIn(reportsOf(r.pushed, market.client_order_id));
    assert.deepEqual(m1.kind === 'TRADE' && [m1.qty, m1.price, m1.liquidity, m1.fee_ccy], ['0.3', '50001', 'TAKER', 'BTC']);
    assert.deepEqual(m2.kind === 'TRADE' && [m2.qty, m2.price], ['0.2', '50002']);
    const s1 = tradesIn(reportsOf(r.pushed, sell.client_order_id))[0];
    assert.deepEqual(s1.kind === 'TRADE' && [s1.qty, s1.price, s1.fee, s1.fee_ccy], ['0.1', '50000', '5', 'USDT']);
    const exp = reportsOf(r.pushed, ioc.client_order_id).at(-1);
    assert.ok(exp?.kind === 'EXPIRED' && exp.reason.startsWith('IOC'), JSON.stringify(exp));

    const listed = await r.adapter.trades(['BTCUSDT'], since);
    const allPushed = r.pushed.filter((m) => m.report.kind === 'TRADE');
    assert.deepEqual(listed, allPushed, 'trades() = every pushed fill, same order id tags, same fields');
  } finally {
    await r.close();
  }
});

test("Binance's duplicate rule: a client order id is refused while its order is open, and taken again once it is closed", async () => {
  const r = await rig();
  try {
    await r.adapter.start();
    const o = order({ side: 'BUY', order_type: 'LIMIT', qty: '0.1', limit_price: '49000', tif: 'GTC' });
    const first = await r.adapter.place(o, TS);
    assert.equal(first.kind, 'answered');
    const again = await r.adapter.place(o, TS);
    assert.equal(again.kind, 'answered');
    assert.equal(again.kind === 'answered' && again.recovered, true);
    assert.deepEqual(again.kind === 'answered' && again.reports, first.kind === 'answered' && first.reports);
    const refused = r.emu.requests.filter((q) => q.method === 'POST' && q.path === '/api/v3/order');
    assert.deepEqual(
      refused.map((q) => q.status),
      [200, 400],
    );
    assert.equal(r.emu.exchange.placements.get(o.client_order_id), 1);

    await r.adapter.cancel(ref(o.client_order_id), TS);
    const reused = await r.adapter.place(o, TS);
    assert.equal(reused.kind, 'answered');
    assert.equal(reused.kind === 'answered' && reused.recovered, undefined);
    const ack = reused.kind === 'answered' ? reused.reports[0] : undefined;
    assert.ok(ack?.kind === 'ACK' && first.kind === 'answered' && first.reports[0].kind === 'ACK' && ack.venue_order_id !== first.reports[0].venue_order_id);
    assert.equal(r.emu.exchange.placements.get(o.client_order_id), 2, 'closed: the id is accepted again, a second order');
  } finally {
    await r.close();
  }
});

test('venue refusals become REJECTED with the venue code and a reason naming the filter', async () => {
  const r = await rig();
  try {
    await r.adapter.start();
    const cases: [Partial<Parameters<typeof order>[0]>, string, RegExp][] = [
      [{ qty: '0.000015' }, '-1013', /LOT_SIZE/],
      [{ limit_price: '49000.005' }, '-1013', /PRICE_FILTER/],
      [{ qty: '0.00001', limit_price: '100' }, '-1013', /NOTIONAL/],
    ];
    for (const [change, code, why] of cases) {
      const o = order({ side: 'BUY', order_type: 'LIMIT', qty: '0.1', limit_price: '49000', tif: 'GTC', ...change });
      const a = await r.adapter.place(o, TS);
      assert.equal(a.kind, 'answered');
      const rej = a.kind === 'answered' ? a.reports[0] : undefined;
      assert.ok(rej?.kind === 'REJECTED', JSON.stringify(a));
      assert.equal(rej.code, code);
      assert.match(rej.reason, why);
      assert.match(rej.reason, /Filter failure/);
    }
    const unknown = await r.adapter.cancel(ref('fs0000000000000000000000000000ff'), TS);
    const rej = unknown.kind === 'answered' ? unknown.reports[0] : undefined;
    assert.ok(rej?.kind === 'REJECTED' && rej.code === '-2011', JSON.stringify(unknown));
    assert.equal(await r.adapter.query(ref('fs0000000000000000000000000000ff')), undefined);
    assert.equal(r.emu.exchange.placements.size, 0);
  } finally {
    await r.close();
  }
});
