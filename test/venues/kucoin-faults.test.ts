// The KuCoin adapter under the emulator's faults: 429 with Retry-After, a ban (418), clock skew,
// wrong credentials, a placement whose reply never comes, KuCoin's clientOid rule, and secrets.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { inspect } from 'node:util';
import { KucoinRest } from '../../src/venues/kucoin/http.js';
import { KEY, order, PASSPHRASE, ref, restingBuyPrice, rig, SECRET, SYMBOL } from './kucoin-helpers.js';

test('429 with Retry-After: nothing reaches the venue inside the wait, then the order goes through', async () => {
  const r = await rig();
  try {
    await r.adapter.start();
    await r.admin('faults', { http_429: 1 });
    const o = order({ side: 'BUY', order_type: 'LIMIT', qty: '0.001', limit_price: restingBuyPrice(r.market) });
    const placing = r.adapter.place(o, '');
    const a = await placing;
    assert.equal(a.kind === 'answered' && a.reports[0].kind, 'ACK');
    const limited = r.emu.requests.findIndex((q) => q.status === 429);
    assert.ok(limited >= 0, 'the venue answered 429');
    const after = r.emu.requests.slice(limited + 1);
    assert.ok(after.length > 0);
    for (const q of after)
      assert.ok(q.at_ms - r.emu.requests[limited].at_ms >= 1_000, `${q.method} ${q.path} came ${q.at_ms - r.emu.requests[limited].at_ms} ms after the 429 (Retry-After: 1)`);
    assert.equal(r.emu.exchange.placements.get(o.client_order_id), 1);
    assert.equal(r.emu.exchange.placementRequests.get(o.client_order_id), 1, 'the 429 was not acted on: one placement request reached the exchange');
  } finally {
    await r.close();
  }
});

test('gw-ratelimit-* headers are read: the adapter waits for the pool to reset instead of running into 429000', async () => {
  const r = await rig({ privateLimit: 4, rateWindowMs: 1_500 });
  try {
    await r.adapter.start();
    assert.ok(r.adapter.health().rate_headroom < 1);
    for (let i = 0; i < 6; i++) assert.equal(await r.adapter.query({ client_order_id: `fsnone${i}`, instrument_id: 'KUCOIN:BTC-USDT', symbol: SYMBOL }), undefined);
    assert.deepEqual(
      r.emu.requests.filter((q) => q.status === 429),
      [],
      'never over the limit',
    );
    const signed = r.emu.requests.filter((q) => !q.path.startsWith('/api/v1/timestamp') && !q.path.startsWith('/api/v2/symbols'));
    assert.equal(signed.length, 8, "start's key check and account balances, then the six queries");
    // At most 4 signed requests in any window of the pool.
    for (const q of signed) assert.ok(signed.filter((x) => x.at_ms >= q.at_ms && x.at_ms < q.at_ms + 1_000).length <= 4);
  } finally {
    await r.close();
  }
});

test('a ban (the emulator 418 switch; KuCoin itself has no 418): halted, nothing sent until resume()', async () => {
  const r = await rig();
  try {
    await r.adapter.start();
    await r.admin('faults', { http_418: true });
    const o = order({ side: 'BUY', order_type: 'LIMIT', qty: '0.001', limit_price: restingBuyPrice(r.market) });
    const a = await r.adapter.place(o, '');
    assert.equal(a.kind, 'halted');
    assert.ok(r.adapter.health().halted);
    await r.admin('faults', { http_418: false });
    const sent = r.emu.requests.length;
    assert.equal((await r.adapter.place(o, '')).kind, 'halted');
    assert.equal((await r.adapter.cancel(ref(o), '')).kind, 'halted');
    await assert.rejects(r.adapter.query(ref(o)), { name: 'VenueHalted' });
    await assert.rejects(r.adapter.trades([SYMBOL], 0), { name: 'VenueHalted' });
    assert.equal(r.emu.requests.length, sent, 'nothing was sent while halted');
    assert.equal(r.emu.exchange.placements.size, 0);
    r.adapter.resume();
    const b = await r.adapter.place(o, '');
    assert.equal(b.kind === 'answered' && b.reports[0].kind, 'ACK');
    assert.equal(r.adapter.health().halted, undefined);
  } finally {
    await r.close();
  }
});

test('the venue clock moves past the 5 s window: 400002, a resync against /api/v1/timestamp, and the order goes through once', async () => {
  const r = await rig();
  try {
    await r.adapter.start();
    // 5 s plus a margin: the offset measured at start (a few ms) must not bring it back inside the window.
    await r.admin('faults', { clock_skew_ms: 5_500 });
    const o = order({ side: 'BUY', order_type: 'LIMIT', qty: '0.001', limit_price: restingBuyPrice(r.market) });
    const start = r.emu.requests.length;
    const a = await r.adapter.place(o, '');
    assert.equal(a.kind === 'answered' && a.reports[0].kind, 'ACK');
    assert.deepEqual(
      r.emu.requests.slice(start).map((q) => `${q.method} ${q.path} ${q.status}`),
      ['POST /api/v1/hf/orders 401', 'GET /api/v1/timestamp 200', 'POST /api/v1/hf/orders 200'],
    );
    assert.equal(r.emu.exchange.placements.get(o.client_order_id), 1);
  } finally {
    await r.close();
  }
});

test("a wrong secret or key: start fails naming KuCoin's code, no secret in the message, no order", async () => {
  const wrongSecret = await rig({ secret: 'not-the-secret-4242' });
  try {
    const e = await wrongSecret.adapter.start().then(
      () => undefined,
      (x: unknown) => x as Error,
    );
    assert.ok(e);
    assert.match(e.message, /KuCoin 400005 signature is wrong: Signature error/);
    assert.ok(!e.message.includes('not-the-secret-4242') && !e.message.includes(PASSPHRASE));
    const a = await wrongSecret.adapter.place(order({ side: 'BUY', order_type: 'MARKET', qty: '0.001' }), '');
    assert.ok(a.kind === 'answered' && a.reports[0].kind === 'REJECTED' && a.reports[0].code === '400005');
    assert.equal(wrongSecret.emu.exchange.placements.size, 0);
  } finally {
    await wrongSecret.close();
  }
  const wrongKey = await rig({ key: 'no-such-key' });
  try {
    await assert.rejects(wrongKey.adapter.start(), /KuCoin 400003 API key does not exist: KC-API-KEY not exists/);
    assert.equal(wrongKey.emu.exchange.placements.size, 0);
  } finally {
    await wrongKey.close();
  }
});

test('the reply never comes: unknown; query finds the order; placing it again is refused by KuCoin (recovered), placed once', async () => {
  const r = await rig();
  try {
    await r.adapter.start();
    await r.admin('faults', { timeout_after_accept: 1 });
    const o = order({ side: 'BUY', order_type: 'LIMIT', qty: '0.001', limit_price: restingBuyPrice(r.market) });
    const a = await r.adapter.place(o, '');
    assert.equal(a.kind, 'unknown');
    const q = await r.adapter.query(ref(o));
    assert.ok(q);
    assert.equal(q.open, true);
    assert.equal(q.reports[0].kind, 'ACK');
    const again = await r.adapter.place(o, '');
    assert.ok(again.kind === 'answered');
    assert.equal(again.recovered, true);
    assert.deepEqual(again.reports, q.reports);
    assert.equal(r.emu.exchange.placements.get(o.client_order_id), 1);
    assert.equal(r.emu.exchange.placementRequests.get(o.client_order_id), 2);
  } finally {
    await r.close();
  }
});

test("KuCoin's clientOid rule: a used clientOid is refused (126044) whether its order is open or closed", async () => {
  const r = await rig();
  try {
    await r.adapter.start();
    const rest = new KucoinRest({ env: 'staging', rest_url: r.emu.url, ws_url: '', api_key: KEY, api_secret: SECRET, passphrase: PASSPHRASE });
    try {
      const body = (coid: string) => ({ clientOid: coid, symbol: SYMBOL, side: 'buy', type: 'limit', price: restingBuyPrice(r.market), size: '0.001' });
      assert.equal((await rest.call('POST', '/api/v1/hf/orders', body('fsdup-open'))).ok, true);
      const open = await rest.call('POST', '/api/v1/hf/orders', body('fsdup-open'));
      assert.deepEqual(open, { ok: false, code: '126044', msg: 'clientOid duplicate', status: 200 });
      assert.equal((await rest.call('DELETE', `/api/v1/hf/orders/client-order/fsdup-open?symbol=${SYMBOL}`)).ok, true);
      const closed = await rest.call('POST', '/api/v1/hf/orders', body('fsdup-open'));
      assert.equal(!closed.ok && closed.code, '126044', 'closed: still refused');
      assert.equal(r.emu.exchange.placements.get('fsdup-open'), 1);
    } finally {
      await rest.close();
    }
    // Through the adapter: a market order that filled, placed again, is the same order, recovered.
    const m = order({ side: 'BUY', order_type: 'MARKET', qty: '0.001' });
    const first = await r.adapter.place(m, '');
    assert.equal(first.kind === 'answered' && first.reports[0].kind, 'ACK');
    const second = await r.adapter.place(m, '');
    assert.ok(second.kind === 'answered' && second.recovered === true);
    assert.deepEqual(
      second.reports.map((x) => x.kind),
      ['ACK', 'TRADE'],
    );
    assert.equal(r.emu.exchange.placements.get(m.client_order_id), 1);
  } finally {
    await r.close();
  }
});

test("secrets stay out of the config's JSON and inspect forms", async () => {
  const r = await rig();
  try {
    for (const text of [JSON.stringify(r.config), inspect(r.config), JSON.stringify({ venue: r.config })]) {
      assert.ok(!text.includes(SECRET) && !text.includes(PASSPHRASE), text);
    }
    assert.equal(r.config.api_secret, SECRET);
  } finally {
    await r.close();
  }
});

test('a 503 on placement is unknown, never retried blindly', async () => {
  const r = await rig();
  try {
    await r.adapter.start();
    await r.admin('faults', { http_5xx: 1 });
    const o = order({ side: 'BUY', order_type: 'LIMIT', qty: '0.001', limit_price: restingBuyPrice(r.market) });
    const a = await r.adapter.place(o, '');
    assert.equal(a.kind, 'unknown');
    assert.equal(r.emu.requests.filter((q) => q.path === '/api/v1/hf/orders').length, 1);
    assert.equal(await r.adapter.query(ref(o)), undefined, 'the 503 was not acted on');
  } finally {
    await r.close();
  }
});
