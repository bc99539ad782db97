import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseVenuesFile, secretFrom } from '../../src/assembly/venues.js';
import { checkStartup, reconcile, type KnownOrder, type LiveVenue } from '../../src/gateway/live.js';
import { tempDir } from '../helpers/cli.js';
import type { Order } from '../../src/domain/events.js';
import type { VenueAdapter } from '../../src/venues/types.js';

const good = {
  venues: [{ venue: 'BINANCE', env: 'staging', rest_url: 'http://127.0.0.1:1', ws_url: 'ws://127.0.0.1:1/ws-api/v3', credentials: { api_key: 'BN_KEY', api_secret: 'BN_SECRET' } }],
};

test('a venues file parses with defaults; every problem is named with its path', () => {
  const f = parseVenuesFile(JSON.stringify(good));
  assert.equal(f.venues[0].account, 'default');
  assert.throws(() => parseVenuesFile('{'), /venues file: not JSON/);
  const bad = { venues: [{ ...good.venues[0], env: 'live', credentials: { api_key: 'lower-case', api_secret: 'X' } }] };
  assert.throws(
    () => parseVenuesFile(JSON.stringify(bad), 'v.json'),
    (e: Error) => /^v\.json: /.test(e.message) && /venues\.0\.env/.test(e.message) && /venues\.0\.credentials\.api_key: an environment variable name/.test(e.message),
  );
});

test('secrets come from the named variable or its _FILE, and a missing one is named without any value', () => {
  const dir = tempDir('secrets');
  const file = join(dir, 's');
  writeFileSync(file, 'from-file\n');
  assert.equal(secretFrom('A', { A: 'direct' }), 'direct');
  assert.equal(secretFrom('A', { A_FILE: file }), 'from-file');
  assert.throws(
    () => secretFrom('BN_SECRET', { OTHER: 'hunter2' }),
    (e: Error) => /BN_SECRET \(or BN_SECRET_FILE\) is not set/.test(e.message) && !e.message.includes('hunter2'),
  );
  assert.throws(() => secretFrom('A', { A_FILE: join(dir, 'nope') }), /cannot read A_FILE .*ENOENT/);
});

const lv = (env: 'staging' | 'prod'): LiveVenue => ({ venue: 'BINANCE', env, account: 'a', adapter: {} as VenueAdapter });
const startup = (can_trade: boolean, can_withdraw: boolean | undefined) => ({ can_trade, can_withdraw, clock_offset_ms: 0, instruments: [] });

test('unsafe keys never start: no trading, or production keys that may (or may not say whether they) withdraw', () => {
  assert.throws(() => checkStartup(lv('staging'), startup(false, false)), /may not trade/);
  assert.throws(() => checkStartup(lv('prod'), startup(true, true)), /can withdraw funds; refusing to start/);
  assert.throws(() => checkStartup(lv('prod'), startup(true, undefined)), /does not say whether/);
  checkStartup(lv('prod'), startup(true, false));
  checkStartup(lv('staging'), startup(true, true)); // testnet keys may withdraw test coins
});

test('reconcile: every report of a known order goes to the OMS; unknown open orders and trades are orphans; unanswered orders the venue lacks are missing', () => {
  const known = (coid: string): KnownOrder => ({ order: { client_order_id: coid } as Order, partition: 0, finished: false });
  const ack = (v: string) => ({ kind: 'ACK' as const, venue_order_id: v, ts: '2026-01-02T10:00:00.000000Z' });
  const trade = (v: string, t: string) => ({
    kind: 'TRADE' as const,
    venue_order_id: v,
    trade_id: t,
    qty: '1',
    price: '1',
    fee: '0',
    fee_ccy: 'USDT',
    liquidity: 'TAKER' as const,
    ts: '2026-01-02T10:00:00.000000Z',
  });
  const r = reconcile(
    [
      { order: known('a'), snapshot: { client_order_id: 'a', venue_order_id: '1', symbol: 'BTCUSDT', open: true, reports: [ack('1'), trade('1', 't1')] }, status: 'ACKED' },
      { order: known('b'), snapshot: undefined, status: 'UNKNOWN' },
      { order: known('c'), snapshot: undefined, status: 'ACKED' },
    ],
    [
      { client_order_id: 'a', venue_order_id: '1', symbol: 'BTCUSDT', open: true, reports: [] },
      { client_order_id: 'manual-1', venue_order_id: '9', symbol: 'BTCUSDT', open: true, reports: [] },
    ],
    [
      { client_order_id: 'a', report: trade('1', 't1') },
      { client_order_id: 'web-2', report: trade('8', 't8') },
    ],
    (coid) => (coid === 'a' || coid === 'b' || coid === 'c' ? known(coid) : undefined),
  );
  assert.deepEqual(
    r.reports.map((x) => [x.order.order.client_order_id, x.message.report.kind, x.source]),
    [
      ['a', 'ACK', 'reconcile'],
      ['a', 'TRADE', 'reconcile'],
      ['a', 'TRADE', 'trades'],
    ],
  );
  assert.deepEqual(
    r.orphans.map((o) => [o.client_order_id, o.venue_order_id]),
    [
      ['manual-1', '9'],
      ['web-2', '8'],
    ],
  );
  assert.deepEqual(
    r.missing.map((m) => m.order.client_order_id),
    ['b'],
  );
});

test('a bounded map forgets its oldest entries past its cap, and only then', async () => {
  const { BoundedMap } = await import('../../src/venues/transport.js');
  const m = new BoundedMap<string, number>(3);
  m.set('a', 1).set('b', 2).set('c', 3).set('a', 10);
  assert.deepEqual([...m.keys()], ['a', 'b', 'c'], 'updating a key keeps everything');
  m.set('d', 4);
  assert.deepEqual(
    [...m.entries()],
    [
      ['b', 2],
      ['c', 3],
      ['d', 4],
    ],
  );
});
