// The OKX adapter under the emulator's faults, wrong keys, and with its secrets in view.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { inspect } from 'node:util';
import type { VenueReport } from '../../src/domain/events.js';
import { createOkxAdapter, credentialsFromEnv, okxConfig, startOkxEmulator, type OkxConfig } from '../../src/venues/okx/index.js';
import { bookOf, KEY, listen, order, PASSPHRASE, pushedFor, rig, SECRET, stillMarket, tick, trades, until } from './okx-fixture.js';

const restingBuy = (r: { market: Parameters<typeof bookOf>[0] }) => order({ qty: '0.01', limit_price: tick(bookOf(r.market).bids[0].price.times('0.9')) });

test('429 with Retry-After: nothing reaches OKX inside the wait, then the order goes through once', async () => {
  const r = await rig();
  try {
    await r.adapter.start();
    r.emu.faults.http_429 = 1; // one 429, Retry-After: 1 (s)
    const o = restingBuy(r);
    const from = r.emu.requests.length;
    const answer = await r.adapter.place(o, o.ref_price);
    assert.equal(answer.kind, 'answered');
    assert.equal((answer as { reports: VenueReport[] }).reports[0].kind, 'ACK');
    const seen = r.emu.requests.slice(from);
    assert.deepEqual(
      seen.map((q) => q.status),
      [429, 200],
    );
    assert.ok(seen[1].at_ms - seen[0].at_ms >= 1_000, `next request ${seen[1].at_ms - seen[0].at_ms} ms after the 429, inside Retry-After`);
    assert.equal(r.emu.exchange.placementRequests.get(o.client_order_id), 1, 'the 429 was not acted on; the retry was');
    assert.equal(r.emu.exchange.placements.get(o.client_order_id), 1);
    assert.ok(r.adapter.health().rate_headroom < 1, 'the requests sent are counted against OKX limits');
  } finally {
    await r.close();
  }
});

test('418 (no such status on OKX; the emulator bans generically): halted, and nothing is sent until resume()', async () => {
  const r = await rig();
  try {
    await r.adapter.start();
    r.emu.faults.http_418 = true;
    const o = restingBuy(r);
    const answer = await r.adapter.place(o, o.ref_price);
    assert.equal(answer.kind, 'halted');
    assert.ok(r.adapter.health().halted);
    const sent = r.emu.requests.length;
    r.emu.faults.http_418 = false; // the ban is lifted on the venue, but only an operator resumes us
    assert.equal((await r.adapter.place(o, o.ref_price)).kind, 'halted');
    assert.equal((await r.adapter.cancel({ client_order_id: o.client_order_id, instrument_id: o.instrument_id, symbol: o.symbol }, o.ref_price)).kind, 'halted');
    await assert.rejects(r.adapter.query({ client_order_id: o.client_order_id, instrument_id: o.instrument_id, symbol: o.symbol }), /halted/);
    assert.equal(r.emu.requests.length, sent, 'nothing sent while halted');
    assert.equal(r.emu.exchange.placements.size, 0);
    r.adapter.resume();
    assert.equal(r.adapter.health().halted, undefined);
    const after = await r.adapter.place(o, o.ref_price);
    assert.equal(after.kind, 'answered');
    assert.equal(r.emu.exchange.placements.get(o.client_order_id), 1);
  } finally {
    await r.close();
  }
});

test('clock skew: 5 s is inside OKX 30 s window (no refusal); 45 s is refused (50102), the adapter resyncs and the order goes through', async () => {
  const r = await rig();
  try {
    await r.adapter.start();
    r.emu.faults.clock_skew_ms = 5_000;
    const a = restingBuy(r);
    assert.equal((await r.adapter.place(a, a.ref_price)).kind, 'answered');
    assert.equal(r.emu.requests.filter((q) => q.status === 401).length, 0);

    r.emu.faults.clock_skew_ms = 45_000;
    const b = restingBuy(r);
    const from = r.emu.requests.length;
    const answer = await r.adapter.place(b, b.ref_price);
    assert.equal(answer.kind, 'answered');
    assert.equal((answer as { reports: VenueReport[] }).reports[0].kind, 'ACK');
    assert.deepEqual(
      r.emu.requests.slice(from).map((q) => `${q.status} ${q.method} ${q.path.split('?')[0]}`),
      ['401 POST /api/v5/trade/order', '200 GET /api/v5/public/time', '200 POST /api/v5/trade/order'],
    );
    assert.equal(r.emu.exchange.placements.get(b.client_order_id), 1);
    // The stream logs in with the venue's clock too.
    listen(r);
    await until(() => r.statuses.includes(true), 'login with a skewed venue clock');
  } finally {
    await r.close();
  }
});

test('a stream login refused for its timestamp (60006) measures the clock again and logs in', async () => {
  const r = await rig();
  try {
    await r.adapter.start();
    r.emu.faults.clock_skew_ms = 45_000;
    const from = r.emu.requests.length;
    listen(r);
    await until(() => r.statuses.includes(true), 'login after the resync');
    assert.deepEqual(
      r.emu.requests.slice(from).map((q) => q.path),
      ['/api/v5/public/time'],
    );
  } finally {
    await r.close();
  }
});

test('a skewed venue clock at start is measured before the first signed request', async () => {
  const r = await rig({ faults: { clock_skew_ms: -40_000 } });
  try {
    const s = await r.adapter.start();
    assert.ok(s.clock_offset_ms < -39_000 && s.clock_offset_ms > -41_000, `offset ${s.clock_offset_ms}`);
    assert.equal(r.emu.requests.filter((q) => q.status === 401).length, 0);
  } finally {
    await r.close();
  }
});

test('wrong secret, key, passphrase or environment: start fails naming OKX code, no secret in the message, no order placed', async () => {
  const cases: [Partial<OkxConfig>, RegExp][] = [
    [{ api_secret: 'WRONG-SECRET-000' }, /50113/],
    [{ api_key: 'not-the-key' }, /50111/],
    [{ passphrase: 'wrong-pass' }, /50105/],
    [{ env: 'prod' }, /50101.*environment/],
  ];
  for (const [config, code] of cases) {
    const r = await rig({ config });
    try {
      await assert.rejects(r.adapter.start(), (e: Error) => {
        assert.match(e.message, code);
        assert.match(e.message, /^OKX http:\/\/127\.0\.0\.1:\d+: /);
        for (const secret of [SECRET, PASSPHRASE, 'WRONG-SECRET-000', 'wrong-pass']) assert.ok(!e.message.includes(secret), 'no secret in the error');
        return true;
      });
      const o = order({ env: config.env ?? 'staging', qty: '0.01', limit_price: tick(bookOf(r.market).bids[0].price.times('0.9')) });
      const answer = await r.adapter.place(o, o.ref_price);
      assert.equal(answer.kind, 'answered');
      const rejected = (answer as { reports: VenueReport[] }).reports[0];
      assert.equal(rejected.kind, 'REJECTED');
      assert.match((rejected as { code: string }).code, /^50(113|111|105|101)$/);
      assert.equal(r.emu.exchange.placements.size, 0);
      assert.equal(r.emu.exchange.placementRequests.size, 0);
    } finally {
      await r.close();
    }
  }
});

test('refusals carry OKX code: below the minimum size (51020), off the lot grid (51121), unknown instrument (51001), cancel of a closed order (51400)', async () => {
  const r = await rig();
  try {
    await r.adapter.start();
    const px = tick(bookOf(r.market).bids[0].price.times('0.9'));
    const code = async (o: ReturnType<typeof order>) =>
      ((await r.adapter.place(o, o.ref_price)) as { reports: VenueReport[] }).reports[0] as { kind: string; code: string; reason: string };
    assert.deepEqual(await code(order({ qty: '0.000001', limit_price: px })).then((x) => [x.kind, x.code]), ['REJECTED', '51020']);
    assert.deepEqual(await code(order({ qty: '0.000010001', limit_price: px })).then((x) => [x.kind, x.code]), ['REJECTED', '51121']);
    const unknown = await code(order({ symbol: 'DOGE-USDT', instrument_id: 'OKX:DOGE-USDT', limit_price: '0.1' }));
    assert.equal(unknown.code, '51001');
    assert.match(unknown.reason, /^OKX 51001: Instrument ID/);
    const o = order({ limit_price: px });
    await r.adapter.place(o, o.ref_price);
    const ref = { client_order_id: o.client_order_id, instrument_id: o.instrument_id, symbol: o.symbol };
    assert.equal(((await r.adapter.cancel(ref, '')) as { reports: VenueReport[] }).reports[0].kind, 'CANCELED');
    const again = ((await r.adapter.cancel(ref, '')) as { reports: VenueReport[] }).reports[0] as { kind: string; code: string };
    assert.deepEqual([again.kind, again.code], ['REJECTED', '51400']);
    const local = ((await r.adapter.place(order({ client_order_id: 'has-dash', limit_price: px }), '')) as { reports: VenueReport[] }).reports[0] as { code: string };
    assert.equal(local.code, 'CLIENT_ORDER_ID');
    assert.equal(r.emu.exchange.placementRequests.has('has-dash'), false);
  } finally {
    await r.close();
  }
});

test('503 on a placement: unknown, never re-sent; the query says OKX has no such order', async () => {
  const r = await rig();
  try {
    await r.adapter.start();
    r.emu.faults.http_5xx = 1;
    const o = restingBuy(r);
    const answer = await r.adapter.place(o, o.ref_price);
    assert.equal(answer.kind, 'unknown');
    assert.equal(r.emu.requests.filter((q) => q.path === '/api/v5/trade/order').length, 1);
    assert.equal(await r.adapter.query({ client_order_id: o.client_order_id, instrument_id: o.instrument_id, symbol: o.symbol }), undefined);
  } finally {
    await r.close();
  }
});

test('duplicate and late pushes: a fill pushed twice is the same report; late pushes arrive out of order, none lost', async () => {
  const r = await rig({ faults: { duplicate_fills: true } });
  try {
    await r.adapter.start();
    listen(r);
    await until(() => r.statuses.includes(true), 'the stream to log in');
    const o = restingBuy(r);
    await r.adapter.place(o, o.ref_price);
    await r.admin('fill', { client_order_id: o.client_order_id, qty: '0.001' });
    await until(() => trades(pushedFor(r, o.client_order_id)).length === 2, 'the fill twice');
    const [a, b] = trades(pushedFor(r, o.client_order_id));
    assert.deepEqual(a, b);

    r.emu.faults.duplicate_fills = false;
    r.emu.faults.late_reports_ms = 200;
    await r.admin('fill', { client_order_id: o.client_order_id, qty: '0.002' });
    await r.adapter.cancel({ client_order_id: o.client_order_id, instrument_id: o.instrument_id, symbol: o.symbol }, '');
    await until(() => pushedFor(r, o.client_order_id).some((x) => x.kind === 'CANCELED'), 'the held pushes');
    const tail = pushedFor(r, o.client_order_id).slice(-2);
    assert.deepEqual(
      tail.map((x) => x.kind),
      ['CANCELED', 'TRADE'],
      'released newest first',
    );
  } finally {
    await r.close();
  }
});

test('secrets stay out of JSON, inspection and errors', async () => {
  const cfg: OkxConfig = { env: 'staging', rest_url: 'http://127.0.0.1:1', ws_url: 'ws://127.0.0.1:1/ws/v5/private', api_key: KEY, api_secret: SECRET, passphrase: PASSPHRASE };
  const safe = okxConfig(cfg);
  for (const text of [JSON.stringify(safe), inspect(safe), JSON.stringify(createOkxAdapter(cfg)), inspect(createOkxAdapter(cfg), { depth: 10 })]) {
    assert.ok(!text.includes(SECRET), text);
    assert.ok(!text.includes(PASSPHRASE), text);
  }
  assert.equal(safe.api_secret, SECRET, 'code that names the field still reads it');
  assert.match(JSON.stringify(safe), /\[redacted\]/);

  // Nothing listens on port 1: the failure names the place, not the keys.
  const adapter = createOkxAdapter({ ...cfg, timeout_ms: 500 });
  await assert.rejects(adapter.start(), (e: Error) => !e.message.includes(SECRET) && !e.message.includes(PASSPHRASE));
  await adapter.close();

  assert.throws(
    () => credentialsFromEnv({ api_key: 'T_OKX_KEY', api_secret: 'T_OKX_SECRET', passphrase: 'T_OKX_PASS' }, { T_OKX_KEY: 'key-value-xyz', T_OKX_PASS: 'pass-value-xyz' }),
    (e: Error) => e.message.includes('missing environment variable T_OKX_SECRET') && !e.message.includes('key-value-xyz') && !e.message.includes('pass-value-xyz'),
  );
  const dir = mkdtempSync(join(tmpdir(), 'okx-cred-'));
  writeFileSync(join(dir, 'secret'), `${SECRET}\n`);
  const creds = credentialsFromEnv(
    { api_key: 'T_OKX_KEY', api_secret: 'T_OKX_SECRET', passphrase: 'T_OKX_PASS' },
    { T_OKX_KEY: 'k', T_OKX_SECRET_FILE: join(dir, 'secret'), T_OKX_PASS: 'p' },
  );
  assert.deepEqual(creds, { api_key: 'k', api_secret: SECRET, passphrase: 'p' });
});

test('the emulator refuses a login with a wrong signature on the private WebSocket (60007)', async () => {
  const emu = await startOkxEmulator({ apiKey: KEY, apiSecret: SECRET, passphrase: PASSPHRASE, market: stillMarket(), demo: true });
  try {
    const { default: WebSocket } = await import('ws');
    const ws = new WebSocket(emu.wsUrl);
    await new Promise((resolve) => ws.once('open', resolve));
    const answer = new Promise<string>((resolve) => ws.once('message', (d: Buffer) => resolve(d.toString())));
    ws.send(JSON.stringify({ op: 'login', args: [{ apiKey: KEY, passphrase: PASSPHRASE, timestamp: String(Math.floor(Date.now() / 1000)), sign: 'bm90IGEgc2lnbg==' }] }));
    assert.deepEqual(JSON.parse(await answer), { event: 'error', code: '60007', msg: 'Invalid sign', connId: '00000001' });
    ws.terminate();
  } finally {
    await emu.close();
  }
});
