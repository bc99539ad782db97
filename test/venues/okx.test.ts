// The OKX adapter against the OKX emulator over loopback HTTP and WebSocket: the order lifecycle,
// the same trades by every path, recovery after a dropped stream, OKX's clOrdId rule, and a
// placement whose answer never came.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dec } from '../../src/domain/decimal.js';
import type { VenueReport } from '../../src/domain/events.js';
import { fillFingerprint } from '../../src/domain/ids.js';
import { bookOf, listen, order, pushedFor, ref, rig, tick, trades, until, SYMBOL } from './okx-fixture.js';

const fingerprint = (t: Extract<VenueReport, { kind: 'TRADE' }>) => fillFingerprint({ venue: 'OKX', ...t });

test('start: permissions as OKX reports them, the clock offset, the SPOT instrument rules', async () => {
  const r = await rig({ perm: 'read_only,trade,withdraw' });
  try {
    const s = await r.adapter.start();
    assert.equal(s.can_trade, true);
    assert.equal(s.can_withdraw, true);
    assert.ok(Math.abs(s.clock_offset_ms) < 1_000);
    const btc = s.instruments.find((i) => i.symbol === SYMBOL);
    assert.deepEqual(btc, { symbol: SYMBOL, base: 'BTC', quote: 'USDT', tick_size: '0.1', lot_size: '0.00000001', min_qty: '0.00001', max_qty: '10000', min_notional: '0' });
  } finally {
    await r.close();
  }
});

test('lifecycle: a resting limit order, two partial fills, an amend and a cancel; each through the stream, the query and the trades alike', async () => {
  const r = await rig();
  try {
    await r.adapter.start();
    listen(r);
    await until(() => r.statuses.includes(true), 'the stream to log in');
    const since = Date.now() - 1;
    const bid = bookOf(r.market).bids[0].price;
    const o = order({ qty: '0.01', limit_price: tick(bid.times('0.95')) });

    const placed = await r.adapter.place(o, o.ref_price);
    assert.equal(placed.kind, 'answered');
    const ack = (placed as { reports: VenueReport[] }).reports;
    assert.equal(ack.length, 1);
    assert.equal(ack[0].kind, 'ACK');
    const ordId = (ack[0] as { venue_order_id: string }).venue_order_id;

    await r.admin('fill', { client_order_id: o.client_order_id, qty: '0.003' });
    await r.admin('fill', { client_order_id: o.client_order_id, qty: '0.002' });
    const newPrice = tick(bid.times('0.96'));
    const amended = await r.adapter.amend({ ...ref(o, ordId), filled_qty: '0.005', order: o }, { qty: '0.02', limit_price: newPrice }, o.ref_price);
    assert.equal(amended.kind, 'answered');
    const am = (amended as { reports: VenueReport[] }).reports[0];
    assert.deepEqual({ ...am, ts: '' }, { kind: 'AMENDED', venue_order_id: ordId, qty: '0.02', limit_price: newPrice, ts: '' });
    assert.equal(r.emu.exchange.get({ client_order_id: o.client_order_id })?.qty.eq(dec('0.02')), true);

    const canceled = await r.adapter.cancel(ref(o, ordId), o.ref_price);
    assert.equal(canceled.kind, 'answered');
    assert.equal((canceled as { reports: VenueReport[] }).reports[0].kind, 'CANCELED');

    await until(() => pushedFor(r, o.client_order_id).some((x) => x.kind === 'CANCELED'), 'the cancel push');
    const stream = pushedFor(r, o.client_order_id);
    assert.deepEqual(
      stream.map((x) => x.kind),
      ['ACK', 'TRADE', 'TRADE', 'AMENDED', 'CANCELED'],
    );
    assert.deepEqual(stream[3], am, 'the amend push says what the amend answer said');
    assert.deepEqual(stream[4], (canceled as { reports: VenueReport[] }).reports[0]);
    const streamTrades = trades(stream);
    assert.deepEqual(
      streamTrades.map((t) => [t.qty, t.price, t.liquidity]),
      [
        ['0.003', tick(bid.times('0.95')), 'MAKER'],
        ['0.002', tick(bid.times('0.95')), 'MAKER'],
      ],
    );
    // Maker buy: fee charged in base at the maker rate, positive.
    assert.equal(streamTrades[0].fee, '0.0000024');
    assert.equal(streamTrades[0].fee_ccy, 'BTC');

    const snap = await r.adapter.query(ref(o));
    assert.ok(snap);
    assert.equal(snap.open, false);
    assert.equal(snap.venue_order_id, ordId);
    assert.deepEqual(
      snap.reports.map((x) => x.kind),
      ['ACK', 'TRADE', 'TRADE', 'CANCELED'],
    );
    assert.deepEqual(trades(snap.reports), streamTrades, 'query trades are the pushed trades');
    const fromTrades = (await r.adapter.trades([SYMBOL], since)).filter((m) => m.client_order_id === o.client_order_id).map((m) => m.report);
    assert.deepEqual(fromTrades, streamTrades, 'trades endpoint gives the pushed trades');
    assert.deepEqual(trades(fromTrades).map(fingerprint), streamTrades.map(fingerprint));

    assert.equal(await r.adapter.query(ref(order())), undefined, 'an order OKX never had');
    assert.deepEqual(await r.adapter.openOrders(), []);
  } finally {
    await r.close();
  }
});

test('market, IOC and FOK orders: the answer carries the fills and the end, identical to the pushes', async () => {
  const r = await rig();
  try {
    await r.adapter.start();
    listen(r);
    await until(() => r.statuses.includes(true), 'the stream to log in');
    const asks = bookOf(r.market).asks;

    const market = order({ order_type: 'MARKET', qty: '0.001', tif: 'IOC' });
    const m = await r.adapter.place(market, market.ref_price);
    assert.equal(m.kind, 'answered');
    const mReports = (m as { reports: VenueReport[] }).reports;
    assert.equal(mReports[0].kind, 'ACK');
    assert.ok(trades(mReports).length >= 1);
    assert.equal(
      trades(mReports)
        .reduce((a, t) => a.plus(t.qty), dec(0))
        .eq(dec('0.001')),
      true,
    );
    assert.ok(trades(mReports).every((t) => t.liquidity === 'TAKER'));

    // IOC at the best ask for more than it holds: fills the level, the rest expires.
    const iocQty = asks[0].qty.plus(dec('0.5'));
    const ioc = order({ tif: 'IOC', qty: iocQty.toString(), limit_price: asks[0].price.toString() });
    const i = await r.adapter.place(ioc, ioc.ref_price);
    const iReports = (i as { reports: VenueReport[] }).reports;
    assert.deepEqual(
      iReports.map((x) => x.kind),
      ['ACK', 'TRADE', 'EXPIRED'],
    );
    assert.equal(trades(iReports)[0].qty, asks[0].qty.toString());
    assert.match((iReports[2] as { reason: string }).reason, /IOC/);

    // FOK for more than the level holds: nothing fills, the order expires.
    const fok = order({ tif: 'FOK', qty: iocQty.toString(), limit_price: asks[0].price.toString() });
    const f = await r.adapter.place(fok, fok.ref_price);
    const fReports = (f as { reports: VenueReport[] }).reports;
    assert.deepEqual(
      fReports.map((x) => x.kind),
      ['ACK', 'EXPIRED'],
    );
    assert.match((fReports[1] as { reason: string }).reason, /FOK/);

    for (const [o, answer] of [
      [market, mReports],
      [ioc, iReports],
      [fok, fReports],
    ] as const) {
      const last = answer[answer.length - 1].kind;
      await until(() => pushedFor(r, o.client_order_id).some((x) => x.kind === last || (last === 'TRADE' && x.kind === 'TRADE')), `pushes of ${o.client_order_id}`);
      await until(() => trades(pushedFor(r, o.client_order_id)).length === trades(answer).length, 'every trade pushed');
      assert.deepEqual(trades(pushedFor(r, o.client_order_id)), trades(answer));
    }
    const since = Date.now() - 60_000;
    const all = await r.adapter.trades([SYMBOL], since);
    for (const t of [...trades(mReports), ...trades(iReports)])
      assert.equal(all.filter((x) => x.report.kind === 'TRADE' && x.report.trade_id === t.trade_id && fingerprint(x.report) === fingerprint(t)).length, 1);
  } finally {
    await r.close();
  }
});

test('a dropped stream: the fills made while it was down are all found by trades(since), each once', async () => {
  const r = await rig();
  try {
    await r.adapter.start();
    listen(r);
    await until(() => r.statuses.includes(true), 'the stream to log in');
    const since = Date.now() - 1;
    const bid = bookOf(r.market).bids[0].price;
    const o = order({ qty: '0.01', limit_price: tick(bid.times('0.9')) });
    await r.adapter.place(o, o.ref_price);
    await r.admin('fill', { client_order_id: o.client_order_id, qty: '0.001' });
    await until(() => trades(pushedFor(r, o.client_order_id)).length === 1, 'the first fill pushed');

    await r.admin('ws-drop', {});
    await r.admin('fill', { client_order_id: o.client_order_id, qty: '0.002' });
    await r.admin('fill', { client_order_id: o.client_order_id, qty: '0.003' });
    await until(() => r.statuses.filter((s) => s).length >= 2, 'the stream to reconnect');
    assert.ok(r.statuses.includes(false), 'the drop was reported');
    await r.admin('fill', { client_order_id: o.client_order_id, qty: '0.004' });
    await until(() => pushedFor(r, o.client_order_id).some((x) => x.kind === 'TRADE' && x.qty === '0.004'), 'a fill after reconnecting');

    const recovered = await r.adapter.trades([SYMBOL], since);
    const byId = new Map<string, VenueReport>();
    for (const m of [...r.pushed, ...recovered]) if (m.client_order_id === o.client_order_id && m.report.kind === 'TRADE') byId.set(m.report.trade_id, m.report);
    const held = r.emu.exchange.get({ client_order_id: o.client_order_id })!;
    assert.equal(byId.size, held.trades.length);
    assert.deepEqual([...byId.values()].map((t) => (t as { qty: string }).qty).sort(), ['0.001', '0.002', '0.003', '0.004']);
    // trades(since) alone has every fill exactly once, identical to whatever the stream did deliver.
    assert.equal(recovered.filter((m) => m.client_order_id === o.client_order_id).length, 4);
    for (const p of trades(pushedFor(r, o.client_order_id))) assert.deepEqual(byId.get(p.trade_id), p);
  } finally {
    await r.close();
  }
});

test("OKX's clOrdId rule: refused while an order with it is pending (51016, the adapter recovers that order), free again once it is closed", async () => {
  const r = await rig();
  try {
    await r.adapter.start();
    const bid = bookOf(r.market).bids[0].price;
    const o = order({ qty: '0.01', limit_price: tick(bid.times('0.9')) });
    const first = await r.adapter.place(o, o.ref_price);
    const again = await r.adapter.place(o, o.ref_price);
    assert.equal(again.kind, 'answered');
    assert.equal((again as { recovered?: boolean }).recovered, true);
    assert.deepEqual((again as { reports: VenueReport[] }).reports, (first as { reports: VenueReport[] }).reports, 'the held order: its ACK');
    assert.equal(r.emu.exchange.placementRequests.get(o.client_order_id), 2);
    assert.equal(r.emu.exchange.placements.get(o.client_order_id), 1);
    const refused = r.emu.requests.filter((q) => q.method === 'POST' && q.path === '/api/v5/trade/order');
    assert.equal(refused.length, 2);

    // Closed (canceled): OKX accepts the same clOrdId for a new order. This is why a placement
    // without an answer is queried before anything is sent again, never re-sent blindly.
    await r.adapter.cancel(ref(o), o.ref_price);
    const reused = await r.adapter.place({ ...o, qty: '0.02' }, o.ref_price);
    const newAck = (reused as { reports: VenueReport[] }).reports[0];
    assert.equal(newAck.kind, 'ACK');
    assert.notEqual((newAck as { venue_order_id: string }).venue_order_id, ((first as { reports: VenueReport[] }).reports[0] as { venue_order_id: string }).venue_order_id);
    assert.equal(r.emu.exchange.placements.get(o.client_order_id), 2);
  } finally {
    await r.close();
  }
});

test('no answer after OKX accepted: unknown; the query finds the order; a second place is refused by the pending-id rule and recovered', async () => {
  const r = await rig({ config: { timeout_ms: 500 }, hangMs: 3_000 });
  try {
    await r.adapter.start();
    r.emu.faults.timeout_after_accept = 1;
    const bid = bookOf(r.market).bids[0].price;
    const o = order({ qty: '0.01', limit_price: tick(bid.times('0.9')) });
    const answer = await r.adapter.place(o, o.ref_price);
    assert.equal(answer.kind, 'unknown');
    assert.match((answer as { reason: string }).reason, /trade\/order/);

    const found = await r.adapter.query(ref(o));
    assert.ok(found);
    assert.equal(found.open, true);
    assert.deepEqual(
      found.reports.map((x) => x.kind),
      ['ACK'],
    );

    const second = await r.adapter.place(o, o.ref_price);
    assert.equal(second.kind, 'answered');
    assert.equal((second as { recovered?: boolean }).recovered, true);
    assert.deepEqual((second as { reports: VenueReport[] }).reports, found.reports);
    assert.equal(r.emu.exchange.placements.get(o.client_order_id), 1);
    assert.equal(r.emu.exchange.placementRequests.get(o.client_order_id), 2);
  } finally {
    await r.close();
  }
});
