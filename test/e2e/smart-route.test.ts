// The smart router end to end on the simulator: bare symbols priced on every venue listing them,
// split where cheaper, each child filled from its own venue's book, the decision in exec.audit.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli, cliJson, requireBuild, tempDir } from '../helpers/cli.js';
import type { Summary } from '../../src/projections/view.js';
import type { EventOf } from '../../src/domain/events.js';
import type { OrderState } from '../../src/oms/order.js';
import { parentOf } from '../../src/oms/parent.js';

let work: string;
let books: string;
before(() => {
  requireBuild();
  work = tempDir('smart-route');
  books = join(work, 'books.ndjson');
  const ts = '2026-03-01T12:00:00Z';
  const book = (instrument_id: string, asks: [string, string][], bids: [string, string][]) => JSON.stringify({ ts, instrument_id, asks, bids });
  writeFileSync(
    books,
    [
      book(
        'BINANCE:BTCUSDT',
        [
          ['60000', '0.1'],
          ['60100', '0.1'],
          ['60500', '5'],
        ],
        [
          ['59990', '0.1'],
          ['59500', '5'],
        ],
      ),
      book(
        'OKX:BTC-USDT',
        [
          ['60010', '0.2'],
          ['60050', '1'],
        ],
        [
          ['59980', '0.2'],
          ['59400', '5'],
        ],
      ),
      book(
        'KUCOIN:BTC-USDT',
        [
          ['60020', '0.3'],
          ['60700', '5'],
        ],
        [
          ['59970', '0.3'],
          ['59300', '5'],
        ],
      ),
    ].join('\n') + '\n',
  );
});

const intent = (id: string, qty: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ intent_id: id, ts: '2026-03-01T12:00:05Z', instrument_id: 'BTCUSDT', side: 'BUY', size: { type: 'quantity', value: qty }, env: 'sim', ...extra });

test('a bare symbol splits across the venues where that is cheaper; every child fills on its own book and the intent sums them', () => {
  const dir = join(work, 'run');
  const input = [intent('big', '0.5'), intent('small', '0.05'), intent('picked', '0.05', { constraints: { venues: ['KUCOIN'] } })].join('\n') + '\n';
  const s = cliJson<Summary>(['run', '--data-dir', dir, '--books', books, '--intents', '-', '--until-idle'], input);
  assert.equal(s.accepted, 3);
  assert.equal(s.orders, 5, 'three children for the big one, one each for the others');
  assert.equal(s.orders_by_status.FILLED, 5);

  const orders = cliJson<OrderState[]>(['orders', '--data-dir', dir, '--books', books]);
  const of = (id: string) => orders.filter((o) => o.order.intent_id === id);
  assert.deepEqual(
    of('big')
      .map((o) => [o.order.instrument_id, o.filled_qty, o.avg_price])
      .sort((a, b) => a[0].localeCompare(b[0])),
    [
      ['BINANCE:BTCUSDT', '0.1', '60000'],
      ['KUCOIN:BTC-USDT', '0.2', '60020'],
      ['OKX:BTC-USDT', '0.2', '60010'],
    ],
  );
  const parent = parentOf(of('big').map((o) => ({ status: o.status, qty: o.order.qty, filled_qty: o.filled_qty, avg_price: o.avg_price })));
  assert.deepEqual(parent, { status: 'FILLED', children: 3, open: 0, qty: '0.5', filled_qty: '0.5', avg_price: '60012' });
  assert.deepEqual(
    of('small').map((o) => o.order.instrument_id),
    ['BINANCE:BTCUSDT'],
  );
  assert.deepEqual(
    of('picked').map((o) => o.order.instrument_id),
    ['KUCOIN:BTC-USDT'],
  );

  // The decisions, in the audit topic: every candidate with its cost.
  const printed = cli(['events', '--data-dir', dir, '--topic', 'exec.audit']);
  assert.equal(printed.status, 0, printed.stderr);
  const audit = printed.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as EventOf<'RouteDecided'>)
    .filter((e) => e.type === 'RouteDecided');
  const big = audit.find((e) => e.intent_id === 'big')!;
  assert.equal(big.data.split, true);
  assert.deepEqual(
    big.data.candidates.map((c) => [c.instrument_id, c.qty]),
    [
      ['BINANCE:BTCUSDT', '0.1'],
      ['OKX:BTC-USDT', '0.2'],
      ['KUCOIN:BTC-USDT', '0.2'],
    ],
  );
  for (const c of big.data.candidates) assert.ok(c.cost && c.fee && c.notional && c.filled_qty, `${c.instrument_id} is priced`);
  assert.ok(big.data.cost && big.data.cost_bps, 'the chosen route is priced, in bps of the reference too');
  assert.equal(audit.find((e) => e.intent_id === 'small')?.data.split, false);
});

test('FILLSTREAM_ROUTE_WINDOWS: a venue in its maintenance window is left out of the route; a bad windows file stops run with what is wrong', () => {
  const dir = join(work, 'windows');
  const windows = join(work, 'windows.json');
  writeFileSync(windows, JSON.stringify({ venues: { BINANCE: { closed: [{ from: '2026-03-01T11:00:00Z', to: '2026-03-01T13:00:00Z', reason: 'maintenance' }] } } }));
  process.env.FILLSTREAM_ROUTE_WINDOWS = windows;
  try {
    const s = cliJson<Summary>(['run', '--data-dir', dir, '--books', books, '--intents', '-', '--until-idle'], intent('w', '0.5') + '\n');
    assert.equal(s.orders_by_status.FILLED, s.orders);
    const orders = cliJson<OrderState[]>(['orders', '--data-dir', dir, '--books', books]);
    assert.ok(orders.length > 0 && orders.every((o) => o.order.venue !== 'BINANCE'), 'nothing went to BINANCE while it was closed');
    const audit = cli(['events', '--data-dir', dir, '--topic', 'exec.audit'])
      .stdout.trim()
      .split('\n')
      .map((l) => JSON.parse(l) as EventOf<'RouteDecided'>);
    const binance = audit.find((e) => e.type === 'RouteDecided')!.data.candidates.find((c) => c.instrument_id === 'BINANCE:BTCUSDT')!;
    assert.match(binance.excluded ?? '', /^BINANCE is closed \(maintenance\) from 2026-03-01T11:00:00/);

    writeFileSync(windows, JSON.stringify({ venues: { BINANCE: { open: [{ days: ['sun'], from: '18:00', to: '09:00' }] } } }));
    const bad = cli(['run', '--data-dir', join(work, 'windows-bad'), '--books', books, '--intents', '-', '--until-idle'], intent('x', '0.5') + '\n');
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr, /FILLSTREAM_ROUTE_WINDOWS \(.*windows\.json\): venues\.BINANCE\.open\.0: from must be before to/);
  } finally {
    delete process.env.FILLSTREAM_ROUTE_WINDOWS;
  }
});
