import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isoToMicros } from '../../src/domain/time.js';
import { BUILTIN_INSTRUMENTS } from '../../src/market/instruments.js';
import { loadNdjsonMarket, MarketDataError, parseNdjsonMarket } from '../../src/market/ndjson.js';

const snap = (ts: string, id: string, bids: unknown, asks: unknown) => JSON.stringify({ ts, instrument_id: id, bids, asks });
const us = isoToMicros;

function withFile(text: string, fn: (path: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'fs-ndjson-'));
  const path = join(dir, 'books.ndjson');
  writeFileSync(path, text);
  return fn(path).finally(() => rmSync(dir, { recursive: true, force: true }));
}

const FILE = [
  snap(
    '2026-01-02T10:00:00Z',
    'BINANCE:BTCUSDT',
    [
      ['67999.9', '0.5'],
      ['67999.8', 1],
    ],
    [['68000.1', '0.3']],
  ),
  '',
  // out of order and unsorted levels: the loader sorts both
  snap(
    '2026-01-02T10:00:10Z',
    'BINANCE:BTCUSDT',
    [
      [67990, '1'],
      ['67995.5', '2'],
    ],
    [
      ['68010', '1'],
      ['68005', '0.25'],
    ],
  ),
  snap('2026-01-02T10:00:05Z', 'BINANCE:BTCUSDT', [['67998', '1']], [['68002', '1']]),
  snap('2026-01-02T10:00:05Z', 'OKX:ETH-USDT', [['3000.01', '2']], [['3000.02', '3']]),
].join('\n');

test('loads a file and looks up the latest snapshot at or before a time', async () => {
  await withFile(FILE + '\n', async (path) => {
    const m = await loadNdjsonMarket(path);
    assert.equal(m.instruments().length, BUILTIN_INSTRUMENTS.length);
    assert.equal(m.instrument('OKX:ETH-USDT')?.quote, 'USDT');
    const id = 'BINANCE:BTCUSDT';
    assert.equal(m.bookAt(id, us('2026-01-02T09:59:59.999999Z')), undefined);
    assert.equal(m.bookAt(id, us('2026-01-02T10:00:00Z'))?.asks[0].price.toString(), '68000.1');
    assert.equal(m.bookAt(id, us('2026-01-02T10:00:04.999999Z'))?.bids[1].qty.toString(), '1');
    assert.equal(m.bookAt(id, us('2026-01-02T10:00:05Z'))?.bids[0].price.toString(), '67998');
    const later = m.bookAt(id, us('2026-01-02T11:00:00Z'))!;
    assert.equal(later.ts_us, us('2026-01-02T10:00:10Z'));
    assert.deepEqual(
      later.bids.map((l) => l.price.toString()),
      ['67995.5', '67990'],
    );
    assert.deepEqual(
      later.asks.map((l) => l.price.toString()),
      ['68005', '68010'],
    );
    assert.equal(m.bookAt('OKX:ETH-USDT', us('2026-01-02T10:00:04Z')), undefined);
    assert.equal(m.bookAt('OKX:ETH-USDT', us('2026-01-02T10:00:06Z'))?.asks[0].qty.toString(), '3');
    assert.equal(m.bookAt('KUCOIN:BTC-USDT', us('2026-01-02T11:00:00Z')), undefined, 'known instrument without data');
  });
});

test('equal timestamps: the later line wins', () => {
  const m = parseNdjsonMarket(
    [snap('2026-01-02T10:00:00Z', 'BINANCE:ETHUSDT', [['1', '1']], [['2', '1']]), snap('2026-01-02T10:00:00Z', 'BINANCE:ETHUSDT', [['1.5', '1']], [['2', '1']])].join('\n'),
  );
  assert.equal(m.bookAt('BINANCE:ETHUSDT', us('2026-01-02T10:00:00Z'))?.bids[0].price.toString(), '1.5');
});

test('custom instrument list: others are unknown', () => {
  const only = BUILTIN_INSTRUMENTS.filter((s) => s.venue === 'OKX');
  assert.throws(() => parseNdjsonMarket(FILE, { instruments: only }), /unknown instrument "BINANCE:BTCUSDT"/);
});

const bad: [string, string, RegExp][] = [
  ['not json', '{"ts":', /invalid JSON/],
  ['array', '[1,2]', /expected a JSON object/],
  ['missing ts', JSON.stringify({ instrument_id: 'BINANCE:BTCUSDT', bids: [], asks: [] }), /ts must be an RFC 3339 time/],
  ['bad ts', snap('yesterday', 'BINANCE:BTCUSDT', [], []), /ts is not an RFC 3339 time/],
  ['unknown instrument', snap('2026-01-02T10:00:00Z', 'NASDAQ:AAPL', [], []), /unknown instrument "NASDAQ:AAPL"/],
  ['bids not array', snap('2026-01-02T10:00:00Z', 'BINANCE:BTCUSDT', 'x', []), /bids must be an array/],
  ['level not pair', snap('2026-01-02T10:00:00Z', 'BINANCE:BTCUSDT', [['1']], []), /bids\[0\] must be a \[price, qty\] pair/],
  [
    'bad price',
    snap(
      '2026-01-02T10:00:00Z',
      'BINANCE:BTCUSDT',
      [],
      [
        ['1', '1'],
        ['abc', '1'],
      ],
    ),
    /asks\[1\]: price must be a positive decimal/,
  ],
  ['zero qty', snap('2026-01-02T10:00:00Z', 'BINANCE:BTCUSDT', [['1', '0']], []), /bids\[0\]: qty must be a positive decimal/],
  [
    'duplicate level',
    snap(
      '2026-01-02T10:00:00Z',
      'BINANCE:BTCUSDT',
      [
        ['1', '1'],
        ['1.0', '2'],
      ],
      [],
    ),
    /duplicate price level 1/,
  ],
  ['crossed', snap('2026-01-02T10:00:00Z', 'BINANCE:BTCUSDT', [['2', '1']], [['2', '1']]), /crossed book/],
];

for (const [name, line, re] of bad) {
  test(`bad line is a clear error naming the line: ${name}`, async () => {
    await withFile(FILE + '\n' + line + '\n', async (path) => {
      await assert.rejects(loadNdjsonMarket(path), (e: unknown) => {
        assert.ok(e instanceof MarketDataError);
        assert.equal(e.line, 6);
        assert.match(e.message, new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:6: `));
        assert.match(e.message, re);
        return true;
      });
    });
  });
}

test('missing file is an error', async () => {
  await assert.rejects(loadNdjsonMarket('/nonexistent/books.ndjson'), /ENOENT/);
});
