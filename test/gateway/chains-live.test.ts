// A chain on a live venue path: USDT → BTC → ETH → USDT on the Binance emulator through
// `fillstream run --venues` (signed REST, the venue's own matching), each leg placed once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, requireBuild, tempDir } from '../helpers/cli.js';
import { eventsOf, liveVenue, until } from '../helpers/live.js';
import type { EventOf } from '../../src/domain/events.js';
import { fmt } from '../../src/domain/decimal.js';
import { createSyntheticMarket } from '../../src/market/synthetic.js';

requireBuild();

test('a three-leg chain on the Binance emulator: each leg sized from the last fill, placed once, reported FILLED', async () => {
  const dir = tempDir('chain-live');
  const fx = await liveVenue('BINANCE', dir);
  const data = join(dir, 'data');
  try {
    // The signal's books: the venue's market now, asks a little above and bids a little below (a
    // signal a moment old), so each buy's limit clears the book and each sell fills.
    const market = createSyntheticMarket({ seed: 1 });
    const now = Date.now();
    const book = (symbol: string) => {
      const b = market.bookAt(`BINANCE:${symbol}`, now * 1000)!;
      return { asks: [[fmt(b.asks[0].price.times('1.002')), '100']], bids: [[fmt(b.bids[0].price.times('0.998')), '100']] };
    };
    const ts = new Date(now).toISOString();
    const chain = {
      kind: 'chain',
      intent_id: 'live-tri',
      ts,
      account: 'acct',
      venue: 'BINANCE',
      primary_quote: 'USDT',
      starting_amount: '500',
      legs: [
        { pair: 'BTCUSDT', side: 'buy', quote_increment: '0.01' },
        { pair: 'ETHBTC', side: 'buy', quote_increment: '0.00000001' },
        { pair: 'ETHUSDT', side: 'sell' },
      ],
      books: [book('BTCUSDT'), book('ETHBTC'), book('ETHUSDT')],
      book_ts: ts,
      env: 'staging',
    };
    const intents = join(dir, 'intents.ndjson');
    writeFileSync(intents, JSON.stringify(chain) + '\n');
    const child = spawn(process.execPath, [CLI, 'run', '--data-dir', data, '--intents', intents, '--venues', fx.venuesFile, '--fsync', 'off'], {
      env: fx.env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    try {
      const report = await until('the chain report', async () =>
        (await eventsOf(data)).find((e): e is EventOf<'ChainCompleted'> => e.type === 'ChainCompleted' && e.intent_id === 'live-tri'),
      );
      assert.equal(report.data.status, 'FILLED', `${report.data.error ?? ''} ${err}`);
      const events = await eventsOf(data);
      const placed = events.filter((e): e is EventOf<'ChainLegPlaced'> => e.type === 'ChainLegPlaced' && e.intent_id === 'live-tri');
      const filled = events.filter((e): e is EventOf<'ChainLegFilled'> => e.type === 'ChainLegFilled' && e.intent_id === 'live-tri');
      assert.equal(placed.length, 3);
      for (let i = 1; i < 3; i++) assert.equal(placed[i].data.input, filled[i - 1].data.delivered, `leg ${i} is given what leg ${i - 1} delivered`);
      // The emulator took each leg once, by its client order id.
      for (const p of placed) assert.equal(fx.em.exchange.placements.get(p.data.client_order_id), 1, `leg ${p.data.leg} placed once`);
      assert.ok(report.data.legs.every((l) => Number(l.filled_qty) > 0));
    } finally {
      child.kill('SIGTERM');
      assert.equal(await exited, 0, `run stopped cleanly: ${err}`);
    }
  } finally {
    await fx.close();
  }
});
