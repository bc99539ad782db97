// The CLI's other inputs: intents on stdin, order books from an NDJSON file, the positions view.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli, cliJson, requireBuild, tempDir } from '../helpers/cli.js';
import type { Summary } from '../../src/projections/view.js';
import type { MarkToMarket } from '../../src/positions/positions.js';

let work: string;
before(() => {
  requireBuild();
  work = tempDir('cli-inputs');
});

const intent = (id: string, side: 'BUY' | 'SELL', qty: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ intent_id: id, ts: '2026-03-01T12:00:05Z', instrument_id: 'BINANCE:BTCUSDT', side, size: { type: 'quantity', value: qty }, env: 'sim', ...extra });

test('intents on stdin with books from an NDJSON file: fills walk the given levels exactly', () => {
  const books = join(work, 'books.ndjson');
  writeFileSync(
    books,
    [
      {
        ts: '2026-03-01T12:00:00Z',
        instrument_id: 'BINANCE:BTCUSDT',
        bids: [
          ['59990', '1'],
          ['59980', '2'],
        ],
        asks: [
          ['60010', '0.5'],
          ['60020', '2'],
        ],
      },
      { ts: '2026-03-01T12:01:00Z', instrument_id: 'BINANCE:BTCUSDT', bids: [['61000', '1']], asks: [['61010', '1']] },
    ]
      .map((b) => JSON.stringify(b))
      .join('\n') + '\n',
  );
  const dir = join(work, 'stdin-books');
  const input = [intent('s1', 'BUY', '1'), intent('s2', 'SELL', '0.5'), intent('s1', 'BUY', '1'), 'not json'].join('\n') + '\n';
  const s = cliJson<Summary>(['run', '--data-dir', dir, '--books', books, '--intents', '-', '--until-idle'], input);
  assert.equal(s.intents, 4);
  assert.equal(s.duplicates, 1);
  assert.equal(s.dlq, 1);
  assert.equal(s.orders, 2);
  assert.equal(s.orders_by_status.FILLED, 2);

  const orders = cliJson<{ order: { intent_id: string }; avg_price: string; filled_qty: string; fees: string }[]>(['orders', '--data-dir', dir, '--books', books]);
  const buy = orders.find((o) => o.order.intent_id === 's1')!;
  // 0.5 @ 60010 + 0.5 @ 60020 = 60015 average; taker fee 0.1% of 60015.
  assert.equal(buy.filled_qty, '1');
  assert.equal(buy.avg_price, '60015');
  assert.equal(buy.fees, '60.015');
  const sell = orders.find((o) => o.order.intent_id === 's2')!;
  assert.equal(sell.avg_price, '59990');

  // Positions: long 0.5 at 60015 average after selling 0.5 at 59990; marked at the book mid (60000).
  const mtm = cliJson<MarkToMarket>(['positions', '--data-dir', dir, '--books', books]);
  assert.equal(mtm.positions.length, 1);
  const p = mtm.positions[0];
  assert.equal(p.qty, '0.5');
  assert.equal(p.avg_cost, '60015');
  assert.equal(p.realized_pnl, '-12.5');
  assert.equal(p.mark, '60000');
  assert.equal(p.unrealized_pnl, '-7.5');
  assert.equal(mtm.totals.USDT.fees, '90.01', 'fees of both fills: 60.015 + 29.995');

  // The data dir is bound to its books: other market data is refused with a clear error.
  const other = cli(['run', '--data-dir', dir, '--seed', '5', '--until-idle']);
  assert.notEqual(other.status, 0);
  assert.match(other.stderr, /was run with market .*ndjson/);
});

test('a staging intent with no staging gateway is rejected NO_GATEWAY, never simulated and never marked submitted', () => {
  const dir = join(work, 'staging');
  const line = JSON.stringify({
    intent_id: 'stg1',
    ts: '2026-01-02T10:00:00Z',
    instrument_id: 'BINANCE:BTCUSDT',
    side: 'BUY',
    size: { type: 'notional', value: '1000' },
    env: 'staging',
  });
  const s = cliJson<Summary>(['run', '--data-dir', dir, '--intents', '-', '--until-idle'], line + '\n');
  assert.equal(s.orders, 1);
  assert.equal(s.orders_by_status.REJECTED, 1);
  assert.equal(s.fills, 0);
  const events = cli(['events', '--data-dir', dir, '--topic', 'exec.gateway'])
    .stdout.trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.deepEqual(
    events.map((e) => e.type),
    ['OrderRouted', 'OrderRejected'],
  );
  assert.equal(events[1].data.code, 'NO_GATEWAY');
  assert.match(events[1].data.reason, /no staging gateway is configured for BINANCE/);
});

test('following an intents file that cannot be read fails at once instead of waiting for a signal', () => {
  // Before the fix this waited for SIGINT forever; the helper kills it after a minute.
  const r = cli(['run', '--data-dir', join(work, 'follow-missing'), '--intents', join(work, 'no-such-file.ndjson')], undefined, 60_000);
  assert.equal(r.status, 1, 'exits on its own with an error');
  assert.match(r.stderr, /ENOENT|no such file/);
});

test('inspecting a folder that is not a data dir fails clearly and creates nothing', () => {
  const r = cli(['events', '--data-dir', join(work, 'nothing-here'), '--topic', 'exec.dlq']);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /is not a fillstream data dir/);
});

test('an intent before the first book is dead-lettered with NO_MARKET_DATA, and the pipeline goes on', () => {
  const books = join(work, 'late-books.ndjson');
  writeFileSync(books, JSON.stringify({ ts: '2026-03-01T13:00:00Z', instrument_id: 'BINANCE:BTCUSDT', bids: [['1', '1']], asks: [['2', '1']] }) + '\n');
  const dir = join(work, 'late');
  const s = cliJson<Summary>(['run', '--data-dir', dir, '--books', books, '--intents', '-', '--until-idle'], intent('early', 'BUY', '1') + '\n');
  assert.equal(s.dlq, 1);
  assert.deepEqual(s.dlq_by_code, { NO_MARKET_DATA: 1 });
  const letter = JSON.parse(cli(['events', '--data-dir', dir, '--topic', 'exec.dlq']).stdout.trim());
  assert.match(letter.data.reason, /no order book for BINANCE:BTCUSDT at or before 2026-03-01T12:00:05/);
  assert.equal(readFileSync(books, 'utf8').length > 0, true);
});
