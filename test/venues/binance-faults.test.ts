// The Binance adapter under the emulator's faults: a dropped user-data stream, 429 with
// Retry-After, a 418 ban, a skewed venue clock, wrong credentials, an accepted order whose reply
// never comes, and secrets that must never show.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { inspect } from 'node:util';
import { binanceConfig, credentialsFromEnv, redactBinanceConfig } from '../../src/venues/binance/index.js';
import { admin, API_KEY, API_SECRET, order, reportsOf, rig, subscribe, TS, until } from './binance-helpers.js';

const ref = (coid: string) => ({ client_order_id: coid, instrument_id: 'BINANCE:BTCUSDT', symbol: 'BTCUSDT' });

test('user-data stream dropped while fills happen: it reconnects, and trades(since) recovers every fill once', async () => {
  const r = await rig();
  try {
    await r.adapter.start();
    subscribe(r);
    await until('the user-data stream', () => r.adapter.health().connected);
    const since = r.emu.exchange.now() - 1;
    const o = order({ side: 'SELL', order_type: 'LIMIT', qty: '1', limit_price: '50100', tif: 'GTC' });
    await r.adapter.place(o, TS);
    await admin(r.emu, 'ws-drop', {});
    const fills: { trade_id: number }[] = [];
    for (const qty of ['0.1', '0.2', '0.3']) fills.push((await admin(r.emu, 'fill', { client_order_id: o.client_order_id, qty })) as { trade_id: number });
    await until('the stream to come back', () => r.status.includes(false) && r.status.at(-1) === true);
    const listed = await r.adapter.trades(['BTCUSDT'], since);
    const seen = new Map<string, unknown>();
    for (const m of [...reportsOf(r.pushed, o.client_order_id), ...listed.map((x) => x.report)]) if (m.kind === 'TRADE') seen.set(m.trade_id, m);
    assert.deepEqual([...seen.keys()].sort(), fills.map((f) => String(f.trade_id)).sort(), 'every fill, each once');
    assert.equal(listed.length, 3);
    assert.ok(listed.every((m) => m.client_order_id === o.client_order_id));
    // A fill pushed before the drop and listed after it is the same report, field for field.
    for (const m of reportsOf(r.pushed, o.client_order_id)) if (m.kind === 'TRADE') assert.deepEqual(seen.get(m.trade_id), m);
  } finally {
    await r.close();
  }
});

test('429 with Retry-After: nothing reaches the venue inside it, then the order goes through', async () => {
  const r = await rig();
  try {
    await r.adapter.start();
    r.emu.faults.http_429 = 1; // one 429, Retry-After: 1 s
    const o = order({ side: 'BUY', order_type: 'LIMIT', qty: '0.1', limit_price: '49000', tif: 'GTC' });
    const a = await r.adapter.place(o, TS);
    assert.equal(a.kind, 'answered');
    assert.equal(a.kind === 'answered' && a.reports[0].kind, 'ACK');
    const i = r.emu.requests.findIndex((q) => q.status === 429);
    assert.ok(i >= 0);
    const next = r.emu.requests[i + 1];
    assert.ok(next, 'the order was sent again');
    assert.ok(next.at_ms - r.emu.requests[i].at_ms >= 1_000 - 5, `sent ${next.at_ms - r.emu.requests[i].at_ms} ms after the 429`);
    assert.equal(r.emu.requests.length, i + 2);
    assert.equal(r.emu.exchange.placementRequests.get(o.client_order_id), 1, 'the 429 was not acted on');
    assert.equal(r.emu.exchange.placements.get(o.client_order_id), 1);
  } finally {
    await r.close();
  }
});

test('418: the answer is halted, nothing more is sent until resume()', async () => {
  const r = await rig();
  try {
    await r.adapter.start();
    r.emu.faults.http_418 = true;
    const a = await r.adapter.place(order({ side: 'BUY', order_type: 'MARKET', qty: '0.01' }), TS);
    assert.equal(a.kind, 'halted');
    assert.match(a.kind === 'halted' ? a.reason : '', /418/);
    assert.equal(a.kind === 'halted' && a.retry_after_ms, 120_000);
    assert.ok(r.adapter.health().halted);
    const count = r.emu.requests.length;
    r.emu.faults.http_418 = false; // the ban is over at the venue, but no operator resumed yet
    assert.equal((await r.adapter.place(order({ side: 'BUY', order_type: 'MARKET', qty: '0.01' }), TS)).kind, 'halted');
    assert.equal((await r.adapter.cancel(ref('fs0000000000000000000000000000aa'), TS)).kind, 'halted');
    await assert.rejects(r.adapter.query(ref('fs0000000000000000000000000000aa')), /418/);
    assert.equal(r.emu.requests.length, count, 'nothing sent while halted');
    r.adapter.resume();
    assert.equal(r.adapter.health().halted, undefined);
    const after = await r.adapter.place(order({ side: 'BUY', order_type: 'MARKET', qty: '0.01' }), TS);
    assert.equal(after.kind, 'answered');
    assert.equal(r.emu.exchange.placements.size, 1);
  } finally {
    await r.close();
  }
});

for (const skew of [-5_000, 5_000]) {
  test(`venue clock ${skew > 0 ? 'ahead' : 'behind'} by 5 s: -1021, the adapter resyncs and the order goes through`, async () => {
    // At exactly recvWindow behind, Binance still accepts: a 2 s window makes 5 s ahead a sure refusal.
    const r = await rig({ recvWindowMs: 2_000 });
    try {
      await r.adapter.start();
      r.emu.faults.clock_skew_ms = skew;
      const o = order({ side: 'BUY', order_type: 'LIMIT', qty: '0.1', limit_price: '49000', tif: 'GTC' });
      const a = await r.adapter.place(o, TS);
      assert.equal(a.kind === 'answered' && a.reports[0].kind, 'ACK', JSON.stringify(a));
      const posts = r.emu.requests.filter((q) => q.path === '/api/v3/order');
      assert.deepEqual(
        posts.map((q) => q.status),
        [400, 200],
      );
      assert.ok(r.emu.requests.some((q) => q.path === '/api/v3/time' && q.at_ms >= posts[0].at_ms));
      assert.equal(r.emu.exchange.placements.get(o.client_order_id), 1);
      // And the user-data subscription signs with the resynced clock.
      subscribe(r);
      await until('the user-data stream', () => r.adapter.health().connected);
    } finally {
      await r.close();
    }
  });
}

test('wrong secret or wrong key: a clear error naming the venue error, no secret in it, no order placed', async () => {
  for (const [creds, code, text] of [
    [{ secret: 'not-the-secret-0123456789' }, '-1022', 'Signature for this request is not valid.'],
    [{ key: 'not-the-key-0123456789' }, '-2015', 'Invalid API-key, IP, or permissions for action.'],
  ] as const) {
    const r = await rig(creds);
    try {
      const e = await r.adapter.start().then(
        () => undefined,
        (x: unknown) => x as Error,
      );
      assert.ok(e instanceof Error, 'start() refused');
      assert.ok(e.message.includes(code) && e.message.includes(text), e.message);
      for (const s of [API_SECRET, 'not-the-secret-0123456789', API_KEY]) assert.ok(!e.message.includes(s));
      const a = await r.adapter.place(order({ side: 'BUY', order_type: 'MARKET', qty: '0.01' }), TS);
      const rej = a.kind === 'answered' ? a.reports[0] : undefined;
      assert.ok(rej?.kind === 'REJECTED' && rej.code === code, JSON.stringify(a));
      assert.equal(r.emu.exchange.placements.size, 0);
      assert.equal(r.emu.exchange.placementRequests.size, 0);
    } finally {
      await r.close();
    }
  }
});

test('timeout after accept: unknown; the query finds it; placing again is refused as a duplicate and answered recovered', async () => {
  const r = await rig({ timeoutMs: 600 });
  try {
    await r.adapter.start();
    r.emu.faults.timeout_after_accept = 1;
    const o = order({ side: 'BUY', order_type: 'LIMIT', qty: '0.1', limit_price: '49000', tif: 'GTC' });
    const a = await r.adapter.place(o, TS);
    assert.equal(a.kind, 'unknown');
    const snap = await r.adapter.query(ref(o.client_order_id));
    assert.ok(snap);
    assert.equal(snap.open, true);
    assert.deepEqual(
      snap.reports.map((x) => x.kind),
      ['ACK'],
    );
    const again = await r.adapter.place(o, TS);
    assert.equal(again.kind, 'answered');
    assert.equal(again.kind === 'answered' && again.recovered, true);
    assert.deepEqual(again.kind === 'answered' && again.reports, snap.reports);
    assert.equal(r.emu.exchange.placements.get(o.client_order_id), 1);
    assert.equal(r.emu.exchange.placementRequests.get(o.client_order_id), 2);
  } finally {
    await r.close();
  }
});

test('503 (http_5xx): the answer is unknown, nothing was placed', async () => {
  const r = await rig();
  try {
    await r.adapter.start();
    r.emu.faults.http_5xx = 1;
    const o = order({ side: 'BUY', order_type: 'MARKET', qty: '0.01' });
    const a = await r.adapter.place(o, TS);
    assert.equal(a.kind, 'unknown');
    assert.equal(await r.adapter.query(ref(o.client_order_id)), undefined);
    assert.equal(r.emu.exchange.placements.size, 0);
  } finally {
    await r.close();
  }
});

test('secrets never show: JSON, inspect, redaction, and credential errors name the variable only', () => {
  const cfg = binanceConfig({ env: 'prod', rest_url: 'https://api.binance.com', ws_url: 'wss://ws-api.binance.com:443/ws-api/v3', api_key: API_KEY, api_secret: API_SECRET });
  for (const text of [JSON.stringify(cfg), inspect(cfg), JSON.stringify(redactBinanceConfig(cfg)), JSON.stringify({ ...cfg })]) {
    assert.ok(!text.includes(API_SECRET) && !text.includes(API_KEY), text);
  }
  assert.equal(cfg.api_secret, API_SECRET, 'still readable by the adapter');
  assert.match(JSON.stringify(cfg), /"api_secret":"\[redacted\]"/);

  assert.throws(
    () => credentialsFromEnv({ api_key: 'BN_KEY', api_secret: 'BN_SECRET' }, { BN_KEY: 'k' }),
    (e: Error) => e.message.includes('BN_SECRET') && !e.message.includes(' k'),
  );
  const dir = mkdtempSync(join(tmpdir(), 'bn-'));
  writeFileSync(join(dir, 'secret'), `${API_SECRET}\n`);
  const creds = credentialsFromEnv({ api_key: 'BN_KEY', api_secret: 'BN_SECRET' }, { BN_KEY: API_KEY, BN_SECRET_FILE: join(dir, 'secret') });
  assert.equal(creds.api_secret, API_SECRET);
  assert.ok(!JSON.stringify(creds).includes(API_SECRET) && !inspect(creds).includes(API_SECRET));
  assert.throws(() => credentialsFromEnv({ api_key: 'BN_KEY', api_secret: 'BN_SECRET' }, { BN_KEY: 'k', BN_SECRET_FILE: join(dir, 'missing') }), /BN_SECRET_FILE/);
});

test('stream faults: duplicate pushes are identical reports, late pushes come reversed, a muted stream leaves only queries', async () => {
  const r = await rig();
  try {
    await r.adapter.start();
    subscribe(r);
    await until('the user-data stream', () => r.adapter.health().connected);
    const o = order({ side: 'BUY', order_type: 'LIMIT', qty: '1', limit_price: '49000', tif: 'GTC' });
    await r.adapter.place(o, TS);
    await until('the ACK push', () => reportsOf(r.pushed, o.client_order_id).length === 1);

    r.emu.faults.duplicate_fills = true;
    await admin(r.emu, 'fill', { client_order_id: o.client_order_id, qty: '0.1' });
    await until('the doubled fill', () => reportsOf(r.pushed, o.client_order_id).length === 3);
    const [, a, b] = reportsOf(r.pushed, o.client_order_id);
    assert.deepEqual(a, b, 'the same trade twice: one fingerprint for the OMS to dedup');
    r.emu.faults.duplicate_fills = false;

    r.emu.faults.late_reports_ms = 100;
    await admin(r.emu, 'fill', { client_order_id: o.client_order_id, qty: '0.2' });
    await admin(r.emu, 'fill', { client_order_id: o.client_order_id, qty: '0.3' });
    await until('the late fills', () => reportsOf(r.pushed, o.client_order_id).length === 5);
    const late = reportsOf(r.pushed, o.client_order_id).slice(3);
    assert.deepEqual(
      late.map((x) => x.kind === 'TRADE' && x.qty),
      ['0.3', '0.2'],
      'released out of order',
    );
    r.emu.faults.late_reports_ms = 0;

    r.emu.faults.mute_user_stream = true;
    await admin(r.emu, 'fill', { client_order_id: o.client_order_id, qty: '0.4' });
    const snap = await r.adapter.query(ref(o.client_order_id));
    assert.deepEqual(
      snap?.reports.filter((x) => x.kind === 'TRADE').map((x) => x.kind === 'TRADE' && x.qty),
      ['0.1', '0.2', '0.3', '0.4'],
    );
    assert.equal(reportsOf(r.pushed, o.client_order_id).length, 5, 'the muted fill was not pushed');
  } finally {
    await r.close();
  }
});
