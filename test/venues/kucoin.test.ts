// The KuCoin adapter against the KuCoin emulator over loopback HTTP and WebSocket: the order
// lifecycle, every report through the stream and the same trades from query and trades().
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dec, fmt } from '../../src/domain/decimal.js';
import type { VenueReport } from '../../src/domain/events.js';
import type { VenueMessage } from '../../src/venues/types.js';
import { book, order, ref, restingBuyPrice, rig, SYMBOL, until } from './kucoin-helpers.js';

type Trade = Extract<VenueReport, { kind: 'TRADE' }>;
const tradesOf = (ms: VenueMessage[], coid: string): Trade[] => ms.filter((m) => m.client_order_id === coid && m.report.kind === 'TRADE').map((m) => m.report as Trade);
const kindsOf = (ms: VenueMessage[], coid: string) => ms.filter((m) => m.client_order_id === coid).map((m) => m.report.kind);

test('start: permissions from /api/v1/user/api-key, the clock offset, the rules from /api/v2/symbols', async () => {
  const r = await rig({ permission: 'General,Spot,Transfer' });
  try {
    const s = await r.adapter.start();
    assert.equal(s.can_trade, true);
    assert.equal(s.can_withdraw, true);
    assert.ok(Math.abs(s.clock_offset_ms) < 1_000);
    const btc = s.instruments.find((i) => i.symbol === SYMBOL);
    assert.deepEqual(btc, { symbol: 'BTC-USDT', base: 'BTC', quote: 'USDT', tick_size: '0.1', lot_size: '0.00000001', min_qty: '0.00001', max_qty: '10000', min_notional: '0.1' });
  } finally {
    await r.close();
  }
  const readOnly = await rig({ permission: 'General' });
  try {
    const s = await readOnly.adapter.start();
    assert.equal(s.can_trade, false);
    assert.equal(s.can_withdraw, false);
  } finally {
    await readOnly.close();
  }
});

test('LIMIT GTC: rests, two partial fills, amend (qty and price), cancel; stream, query and trades() agree', async () => {
  const r = await rig({ subscribe: true });
  try {
    await r.adapter.start();
    const since = Date.now() - 1;
    const o = order({ side: 'BUY', order_type: 'LIMIT', qty: '0.01', limit_price: restingBuyPrice(r.market), tif: 'GTC' });
    const placed = await r.adapter.place(o, new Date().toISOString());
    assert.equal(placed.kind, 'answered');
    assert.equal(placed.kind === 'answered' && placed.reports[0].kind, 'ACK');
    const firstId = placed.kind === 'answered' && placed.reports[0].kind === 'ACK' ? placed.reports[0].venue_order_id : '';
    assert.match(firstId, /^[0-9a-f]{24}$/);

    await r.admin('fill', { client_order_id: o.client_order_id, qty: '0.003' });
    await r.admin('fill', { client_order_id: o.client_order_id, qty: '0.002' });
    await until(() => tradesOf(r.pushed, o.client_order_id).length === 2, 'both fills are pushed');

    const newPrice = fmt(dec(o.limit_price!).plus('0.1'));
    const amended = await r.adapter.amend({ ...ref(o), filled_qty: '0.005', order: o }, { qty: '0.02', limit_price: newPrice }, new Date().toISOString());
    assert.equal(amended.kind, 'answered');
    const am = amended.kind === 'answered' ? amended.reports[0] : undefined;
    assert.equal(am?.kind, 'AMENDED');
    assert.ok(am?.kind === 'AMENDED');
    assert.equal(am.qty, '0.02');
    assert.equal(am.limit_price, newPrice);
    assert.notEqual(am.venue_order_id, firstId, 'alter is cancel + new on KuCoin: a new order id');

    await r.admin('fill', { client_order_id: o.client_order_id, qty: '0.004' });
    const canceled = await r.adapter.cancel(ref(o), new Date().toISOString());
    assert.equal(canceled.kind === 'answered' && canceled.reports[0].kind, 'CANCELED');
    await until(() => kindsOf(r.pushed, o.client_order_id).includes('CANCELED') && tradesOf(r.pushed, o.client_order_id).length === 3, 'the third fill and the cancel are pushed');
    assert.deepEqual(kindsOf(r.pushed, o.client_order_id), ['ACK', 'TRADE', 'TRADE', 'AMENDED', 'TRADE', 'CANCELED']);
    const pushedAmend = r.pushed.find((m) => m.report.kind === 'AMENDED')!.report;
    assert.deepEqual({ ...pushedAmend, ts: '' }, { ...am, ts: '' });

    const pushedTrades = tradesOf(r.pushed, o.client_order_id);
    assert.deepEqual(
      pushedTrades.map((t) => [t.qty, t.price, t.liquidity, t.fee_ccy]),
      [
        ['0.003', o.limit_price, 'MAKER', 'USDT'],
        ['0.002', o.limit_price, 'MAKER', 'USDT'],
        ['0.004', newPrice, 'MAKER', 'USDT'],
      ],
    );
    // KuCoin's fee: quote currency, qty × price × the maker rate (0.001 here).
    assert.equal(pushedTrades[0].fee, fmt(dec('0.003').times(o.limit_price!).times('0.001')));
    assert.equal(pushedTrades[0].venue_order_id, firstId);
    assert.equal(pushedTrades[2].venue_order_id, am.venue_order_id);

    const q = await r.adapter.query(ref(o));
    assert.ok(q);
    assert.equal(q.open, false);
    assert.equal(q.venue_order_id, am.venue_order_id);
    assert.deepEqual(
      tradesOf(
        q.reports.map((report) => ({ client_order_id: o.client_order_id, report })),
        o.client_order_id,
      ),
      pushedTrades,
    );
    assert.equal(q.reports.at(-1)?.kind, 'CANCELED');
    const all = await r.adapter.trades([SYMBOL], since);
    assert.deepEqual(tradesOf(all, o.client_order_id), pushedTrades);
  } finally {
    await r.close();
  }
});

test('MARKET fills at once; LIMIT IOC fills in part and expires; FOK expires unfilled', async () => {
  const r = await rig({ subscribe: true });
  try {
    await r.adapter.start();
    const since = Date.now() - 1;
    const b = book(r.market);
    const mkt = order({ side: 'BUY', order_type: 'MARKET', qty: '0.001', tif: 'IOC' });
    const a1 = await r.adapter.place(mkt, new Date().toISOString());
    assert.equal(a1.kind === 'answered' && a1.reports[0].kind, 'ACK');

    const twoLevels = fmt(b.asks[0].qty.plus(b.asks[1].qty));
    const ioc = order({ side: 'BUY', order_type: 'LIMIT', qty: twoLevels, limit_price: fmt(b.asks[0].price), tif: 'IOC' });
    await r.adapter.place(ioc, new Date().toISOString());
    const fok = order({ side: 'BUY', order_type: 'LIMIT', qty: twoLevels, limit_price: fmt(b.asks[0].price), tif: 'FOK' });
    await r.adapter.place(fok, new Date().toISOString());

    await until(() => kindsOf(r.pushed, mkt.client_order_id).includes('TRADE'), 'the market fill is pushed');
    await until(() => kindsOf(r.pushed, ioc.client_order_id).includes('EXPIRED'), 'the IOC remainder expires');
    await until(() => kindsOf(r.pushed, fok.client_order_id).includes('EXPIRED'), 'the FOK expires');
    assert.deepEqual(kindsOf(r.pushed, mkt.client_order_id), ['ACK', 'TRADE']);
    assert.deepEqual(kindsOf(r.pushed, ioc.client_order_id), ['ACK', 'TRADE', 'EXPIRED']);
    assert.deepEqual(kindsOf(r.pushed, fok.client_order_id), ['ACK', 'EXPIRED']);
    const iocTrade = tradesOf(r.pushed, ioc.client_order_id)[0];
    assert.equal(iocTrade.qty, fmt(b.asks[0].qty));
    assert.equal(iocTrade.liquidity, 'TAKER');
    assert.equal(tradesOf(r.pushed, mkt.client_order_id)[0].qty, '0.001');

    const all = await r.adapter.trades([SYMBOL], since);
    for (const o of [mkt, ioc, fok]) {
      const q = await r.adapter.query(ref(o));
      assert.ok(q);
      assert.equal(q.open, false);
      const queried = tradesOf(
        q.reports.map((report) => ({ client_order_id: o.client_order_id, report })),
        o.client_order_id,
      );
      assert.deepEqual(queried, tradesOf(r.pushed, o.client_order_id), `query trades of ${o.tif} ${o.order_type}`);
      assert.deepEqual(tradesOf(all, o.client_order_id), queried, `trades() of ${o.tif} ${o.order_type}`);
    }
    assert.equal((await r.adapter.query(ref(mkt)))!.reports.at(-1)?.kind, 'TRADE', 'a filled order has no terminal report beyond its trades');
    assert.equal((await r.adapter.query(ref(ioc)))!.reports.at(-1)?.kind, 'EXPIRED');
    assert.equal(await r.adapter.query({ client_order_id: 'fsneverplaced', instrument_id: 'KUCOIN:BTC-USDT', symbol: SYMBOL }), undefined);
  } finally {
    await r.close();
  }
});

test('open orders, and a refused order keeps the venue code with a clear reason', async () => {
  const r = await rig();
  try {
    await r.adapter.start();
    const resting = order({ side: 'BUY', order_type: 'LIMIT', qty: '0.001', limit_price: restingBuyPrice(r.market), tif: 'GTC' });
    await r.adapter.place(resting, new Date().toISOString());
    const open = await r.adapter.openOrders();
    assert.deepEqual(
      open.map((s) => [s.client_order_id, s.open, s.reports.map((x) => x.kind).join()]),
      [[resting.client_order_id, true, 'ACK']],
    );
    const offTick = await r.adapter.place(order({ side: 'BUY', order_type: 'LIMIT', qty: '0.001', limit_price: fmt(dec(restingBuyPrice(r.market)).plus('0.05')) }), '');
    assert.ok(offTick.kind === 'answered' && offTick.reports[0].kind === 'REJECTED');
    assert.equal(offTick.reports[0].code, '400100');
    assert.match(offTick.reports[0].reason, /KuCoin 400100 parameter error: Price increment invalid/);
    const tiny = await r.adapter.place(order({ side: 'BUY', order_type: 'LIMIT', qty: '0.000001', limit_price: restingBuyPrice(r.market) }), '');
    assert.ok(tiny.kind === 'answered' && tiny.reports[0].kind === 'REJECTED');
    assert.match(tiny.reports[0].reason, /below the minimum/);
    const unknown = await r.adapter.place(order({ side: 'BUY', order_type: 'MARKET', qty: '1', symbol: 'DOGE-USDT' }), '');
    assert.ok(unknown.kind === 'answered' && unknown.reports[0].kind === 'REJECTED');
    assert.equal(unknown.reports[0].code, '900001');
    const cancelUnknown = await r.adapter.cancel({ client_order_id: 'fsnosuchorder', instrument_id: 'KUCOIN:BTC-USDT', symbol: SYMBOL }, '');
    assert.ok(cancelUnknown.kind === 'answered' && cancelUnknown.reports[0].kind === 'REJECTED');
    assert.match(cancelUnknown.reports[0].reason, /order_not_exist/);
    const badId = await r.adapter.place(order({ side: 'BUY', order_type: 'MARKET', qty: '0.001', client_order_id: 'has space' }), '');
    assert.ok(badId.kind === 'answered' && badId.reports[0].kind === 'REJECTED' && badId.reports[0].code === 'CLIENT_OID');
    assert.equal(r.emu.exchange.placementRequests.get('has space'), undefined, 'an invalid clientOid is never sent');
  } finally {
    await r.close();
  }
});

test('the stream drops while fills happen: after the reconnect, trades(since) recovers every fill once', async () => {
  const r = await rig({ subscribe: true });
  try {
    await r.adapter.start();
    const since = Date.now() - 1;
    const o = order({ side: 'BUY', order_type: 'LIMIT', qty: '0.01', limit_price: restingBuyPrice(r.market) });
    await r.adapter.place(o, '');
    await r.admin('fill', { client_order_id: o.client_order_id, qty: '0.001' });
    await until(() => tradesOf(r.pushed, o.client_order_id).length === 1, 'the first fill is pushed');
    const bullets = () => r.emu.requests.filter((q) => q.path === '/api/v1/bullet-private').length;
    const before = bullets();
    await r.admin('ws-drop', {});
    for (const qty of ['0.001', '0.002', '0.001']) await r.admin('fill', { client_order_id: o.client_order_id, qty });
    await until(() => bullets() > before && r.adapter.health().connected, 'the stream reconnects with a fresh token');
    const recovered = await r.adapter.trades([SYMBOL], since);
    const byId = new Map<string, Trade>();
    for (const t of [...tradesOf(r.pushed, o.client_order_id), ...tradesOf(recovered, o.client_order_id)]) {
      const seen = byId.get(t.trade_id);
      if (seen) assert.deepEqual(t, seen, 'one trade, one report, whichever path brought it');
      byId.set(t.trade_id, t);
    }
    const venue = r.emu.exchange.get({ client_order_id: o.client_order_id })!.trades;
    assert.deepEqual([...byId.keys()].sort(), venue.map((t) => String(t.trade_id)).sort());
    assert.equal(byId.size, 4);
    assert.equal(fmt([...byId.values()].reduce((a, t) => a.plus(t.qty), dec('0'))), '0.005');
  } finally {
    await r.close();
  }
});

test('stream faults: a duplicated push gives the same report; held pushes come late, reversed; a muted fill is found by query', async () => {
  const r = await rig({ subscribe: true });
  try {
    await r.adapter.start();
    const o = order({ side: 'BUY', order_type: 'LIMIT', qty: '0.01', limit_price: restingBuyPrice(r.market) });
    await r.adapter.place(o, '');
    await r.admin('faults', { duplicate_fills: true });
    await r.admin('fill', { client_order_id: o.client_order_id, qty: '0.001' });
    await until(() => tradesOf(r.pushed, o.client_order_id).length === 2, 'the fill is pushed twice');
    const [a, b] = tradesOf(r.pushed, o.client_order_id);
    assert.deepEqual(a, b);

    await r.admin('faults', { duplicate_fills: false, mute_user_stream: true });
    await r.admin('fill', { client_order_id: o.client_order_id, qty: '0.002' });
    await r.admin('faults', { mute_user_stream: false, late_reports_ms: 200 });
    await r.admin('fill', { client_order_id: o.client_order_id, qty: '0.003' });
    await r.adapter.cancel(ref(o), '');
    await until(() => kindsOf(r.pushed, o.client_order_id).includes('CANCELED') && tradesOf(r.pushed, o.client_order_id).length === 3, 'the held pushes are released');
    // Released in reverse: the cancel before the fill that preceded it on the venue.
    assert.deepEqual(kindsOf(r.pushed, o.client_order_id), ['ACK', 'TRADE', 'TRADE', 'CANCELED', 'TRADE']);
    const pushedQty = tradesOf(r.pushed, o.client_order_id).map((t) => t.qty);
    assert.deepEqual(pushedQty, ['0.001', '0.001', '0.003'], 'the muted 0.002 fill never came over the stream');
    const q = await r.adapter.query(ref(o));
    assert.deepEqual(
      q?.reports.filter((x) => x.kind === 'TRADE').map((t) => t.kind === 'TRADE' && t.qty),
      ['0.001', '0.002', '0.003'],
    );
  } finally {
    await r.close();
  }
});
