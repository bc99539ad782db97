// The smart router on live venues: OKX and KuCoin report their accounts' balances at connect
// (VenueReady), and a venue short of what an order spends is left out of the route, with the reason.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, requireBuild, tempDir } from '../helpers/cli.js';
import { eventsOf, liveVenue, until } from '../helpers/live.js';
import type { EventOf } from '../../src/domain/events.js';

requireBuild();

test('a live venue without the quote to pay is left out of the route; the order goes where the balance is', async () => {
  const dir = tempDir('route-live');
  // KuCoin's account holds BTC but no USDT; OKX's is funded as the emulator funds it by default.
  const okx = await liveVenue('OKX', dir);
  const kucoin = await liveVenue('KUCOIN', tempDir('route-live-kc'), { balances: { BTC: '1' } });
  try {
    const venues = [okx, kucoin].map((f) => JSON.parse(readFileSync(f.venuesFile, 'utf8')) as { venues: unknown[]; settle_ms: number });
    const venuesFile = join(dir, 'both.json');
    writeFileSync(venuesFile, JSON.stringify({ venues: venues.flatMap((v) => v.venues), settle_ms: 500 }));
    const intents = join(dir, 'intents.ndjson');
    const intent = {
      intent_id: 'buy-1',
      ts: new Date().toISOString(),
      account: 'acct',
      instrument_id: 'BTC-USDT',
      side: 'BUY',
      size: { type: 'quantity', value: '0.01' },
      constraints: { venues: ['OKX', 'KUCOIN'], order_type: 'MARKET', tif: 'IOC' },
      env: 'staging',
    };
    writeFileSync(intents, JSON.stringify(intent) + '\n');
    const data = join(dir, 'data');
    const child = spawn(process.execPath, [CLI, 'run', '--data-dir', data, '--intents', intents, '--venues', venuesFile, '--fsync', 'off'], {
      env: { ...okx.env, ...kucoin.env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    const exited = new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    try {
      const filled = await until('the order filled', async () =>
        (await eventsOf(data)).find((e): e is EventOf<'OrderFilled'> => e.type === 'OrderFilled' && e.intent_id === 'buy-1' && e.data.status === 'FILLED'),
      );
      const events = await eventsOf(data);
      const ready = events.filter((e): e is EventOf<'VenueReady'> => e.type === 'VenueReady');
      const kc = ready.find((e) => e.data.venue === 'KUCOIN');
      assert.deepEqual(kc?.data.balances, { BTC: '1' }, 'KuCoin reports what its account holds');
      assert.ok(Number(ready.find((e) => e.data.venue === 'OKX')?.data.balances?.USDT) > 0, 'OKX reports its USDT');
      const decided = events.find((e): e is EventOf<'RouteDecided'> => e.type === 'RouteDecided' && e.intent_id === 'buy-1');
      assert.ok(decided, err);
      const why = new Map(decided.data.candidates.map((c) => [c.instrument_id, c.excluded]));
      assert.equal(why.get('KUCOIN:BTC-USDT'), 'no free USDT on KUCOIN (0)');
      assert.equal(why.get('OKX:BTC-USDT'), undefined);
      assert.equal(filled.data.fill.venue, 'OKX');
      assert.equal(kucoin.em.exchange.placements.size, 0, 'nothing sent to KuCoin');
    } finally {
      child.kill('SIGTERM');
      assert.equal(await exited, 0, `run stopped cleanly: ${err}`);
    }
  } finally {
    await okx.close();
    await kucoin.close();
  }
});
