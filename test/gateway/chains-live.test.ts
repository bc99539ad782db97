// Chains on live venue paths through `fillstream run --venues` (signed REST, the venue's own
// matching and balances): USDT → BTC → ETH → USDT on the Binance emulator, each leg placed once;
// each leg waiting for the venue's balance to show the previous leg's output (a SIGKILL during
// the wait included); paper chains checked by the venues' order-test endpoints, nothing placed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, requireBuild, tempDir } from '../helpers/cli.js';
import { binanceTriangle, eventsOf, liveVenue, roundTrip, until, type LiveVenueFixture } from '../helpers/live.js';
import type { VenueName } from '../../src/assembly/venue-factories.js';
import type { Event, EventOf } from '../../src/domain/events.js';

requireBuild();

/** `fillstream run` on these chains against the venue; stopped (SIGTERM, exit 0 expected) or killed by the caller. */
function runChains(fx: LiveVenueFixture, dir: string, chains: Record<string, unknown>[], env: NodeJS.ProcessEnv = {}) {
  const data = join(dir, 'data');
  const intents = join(dir, 'intents.ndjson');
  writeFileSync(intents, chains.map((c) => JSON.stringify(c)).join('\n') + '\n');
  const start = (): { child: ChildProcess; exited: Promise<number | null>; err: () => string } => {
    const child = spawn(process.execPath, [CLI, 'run', '--data-dir', data, '--intents', intents, '--venues', fx.venuesFile, '--fsync', 'off'], {
      env: { ...fx.env, ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    return { child, exited: new Promise((r) => child.on('exit', (code) => r(code))), err: () => err };
  };
  return { data, start };
}

/** A venue's emulator for the life of `body`. */
async function withVenue(venue: VenueName, name: string, o: Parameters<typeof liveVenue>[2], body: (fx: LiveVenueFixture, dir: string) => Promise<void>): Promise<void> {
  const dir = tempDir(name);
  const fx = await liveVenue(venue, dir, o);
  try {
    await body(fx, dir);
  } finally {
    await fx.close();
  }
}

/** `fillstream run` on the chains while `body` looks at its log; then stopped, and it must exit 0. */
async function whileRunning(fx: LiveVenueFixture, dir: string, chains: Record<string, unknown>[], body: (data: string, err: () => string) => Promise<void>): Promise<void> {
  const run = runChains(fx, dir, chains);
  const p = run.start();
  try {
    await body(run.data, p.err);
  } finally {
    p.child.kill('SIGTERM');
    assert.equal(await p.exited, 0, `run stopped cleanly: ${p.err()}`);
  }
}

const ofChain = <T extends Event['type']>(events: Event[], type: T, id: string) => events.filter((e): e is EventOf<T> => e.type === type && e.intent_id === id);
const reportOf = async (data: string, id: string) => until(`the report of ${id}`, async () => ofChain(await eventsOf(data), 'ChainCompleted', id)[0], 30_000);

test('a three-leg chain on the Binance emulator: each leg sized from the last fill, placed once, reported FILLED', async () => {
  await withVenue('BINANCE', 'chain-live', {}, (fx, dir) =>
    whileRunning(fx, dir, [binanceTriangle('live-tri')], async (data, err) => {
      const report = await reportOf(data, 'live-tri');
      assert.equal(report.data.status, 'FILLED', `${report.data.error ?? ''} ${err()}`);
      const events = await eventsOf(data);
      const placed = ofChain(events, 'ChainLegPlaced', 'live-tri');
      const filled = ofChain(events, 'ChainLegFilled', 'live-tri');
      assert.equal(placed.length, 3);
      for (let i = 1; i < 3; i++) assert.equal(placed[i].data.input, filled[i - 1].data.delivered, `leg ${i} is given what leg ${i - 1} delivered`);
      // The emulator took each leg once, by its client order id.
      for (const p of placed) assert.equal(fx.em.exchange.placements.get(p.data.client_order_id), 1, `leg ${p.data.leg} placed once`);
      assert.ok(report.data.legs.every((l) => Number(l.filled_qty) > 0));
    }),
  );
});

test('live venues: each leg waits for the venue balance to show the previous leg’s output (the venue’s balance lags its fills)', async () => {
  // Only USDT at the start: BTC and ETH show once the legs bought them, 300 ms after each trade.
  await withVenue('BINANCE', 'chain-balance', { balances: { USDT: '10000' }, faults: { balance_lag_ms: 300 } }, (fx, dir) =>
    whileRunning(fx, dir, [binanceTriangle('bal-tri')], async (data, err) => {
      const report = await reportOf(data, 'bal-tri');
      assert.equal(report.data.status, 'FILLED', `${report.data.error ?? ''} ${err()}`);
      const events = await eventsOf(data);
      const awaited = ofChain(events, 'ChainBalanceAwaited', 'bal-tri');
      const seen = ofChain(events, 'ChainBalanceSeen', 'bal-tri');
      const filled = ofChain(events, 'ChainLegFilled', 'bal-tri');
      const placed = ofChain(events, 'ChainLegPlaced', 'bal-tri');
      assert.deepEqual(
        awaited.map((a) => [a.data.leg, a.data.asset]),
        [
          [1, 'BTC'],
          [2, 'ETH'],
        ],
      );
      for (const [i, s] of seen.entries()) {
        assert.equal(s.data.met, true, JSON.stringify(s.data));
        assert.equal(s.data.expected, filled[i].data.delivered, 'it waited for what the leg delivered');
        assert.ok(s.data.asks >= 2, `the first read came before the balance moved (${s.data.asks} reads)`);
        assert.ok(s.data.waited_ms >= 150, `waited ${s.data.waited_ms} ms for the lagging balance`);
        const next = placed[i + 1];
        assert.ok(next.data.at_us - filled[i].data.at_us >= 150_000, `leg ${i + 1} went out only once the balance showed`);
        assert.equal(next.data.input, filled[i].data.delivered);
      }
      for (const x of placed) assert.equal(fx.em.exchange.placements.get(x.data.client_order_id), 1, `leg ${x.data.leg} placed once`);
    }),
  );
});

test('stopped (SIGTERM) or SIGKILLed during a balance wait, then restarted: the wait goes on from when it was asked, no leg placed twice', async () => {
  await withVenue('BINANCE', 'chain-balance-kill', { balances: { USDT: '10000' }, faults: { balance_lag_ms: 2_500 } }, async (fx, dir) => {
    const run = runChains(fx, dir, [binanceTriangle('kill-tri')], { FILLSTREAM_CHAIN_BALANCE_WAIT_MS: '8000' });
    const awaiting = (leg: number) =>
      until(`the wait before leg ${leg}`, async () => ofChain(await eventsOf(run.data), 'ChainBalanceAwaited', 'kill-tri').find((a) => a.data.leg === leg));
    // A graceful stop mid-wait decides nothing: the next start waits on.
    const first = run.start();
    await awaiting(1);
    first.child.kill('SIGTERM');
    assert.equal(await first.exited, 0, first.err());
    assert.equal(ofChain(await eventsOf(run.data), 'ChainBalanceSeen', 'kill-tri').length, 0, 'stopped while waiting: no answer written');
    // Killed during the next wait.
    const second = run.start();
    await awaiting(2);
    second.child.kill('SIGKILL');
    await second.exited;
    assert.deepEqual(
      ofChain(await eventsOf(run.data), 'ChainBalanceSeen', 'kill-tri').map((x) => x.data.leg),
      [1],
    );
    const third = run.start();
    try {
      const report = await reportOf(run.data, 'kill-tri');
      assert.equal(report.data.status, 'FILLED', `${report.data.error ?? ''} ${third.err()}`);
      const events = await eventsOf(run.data);
      const seen = ofChain(events, 'ChainBalanceSeen', 'kill-tri');
      assert.deepEqual([...new Set(seen.map((x) => x.data.leg))], [1, 2]);
      assert.ok(seen.every((x) => x.data.met));
      assert.ok(seen[0].data.waited_ms >= 2_000, `counted from when the first process asked (${seen[0].data.waited_ms} ms)`);
      const placed = ofChain(events, 'ChainLegPlaced', 'kill-tri');
      assert.deepEqual(
        placed.map((x) => x.data.leg),
        [0, 1, 2],
      );
      for (const x of placed) assert.equal(fx.em.exchange.placements.get(x.data.client_order_id), 1, `leg ${x.data.leg} placed once`);
      assert.equal(ofChain(events, 'ChainCompleted', 'kill-tri').length, 1);
    } finally {
      third.child.kill('SIGTERM');
      assert.equal(await third.exited, 0, `run stopped cleanly: ${third.err()}`);
    }
  });
});

test('paper chains on venues: every leg checked by the order-test endpoint, filled from its book, nothing placed; a refused test fails the chain', async () => {
  await withVenue('BINANCE', 'chain-paper', {}, async (fx, dir) => {
    const balances = JSON.stringify(Object.fromEntries(fx.em.exchange.balances()));
    await whileRunning(fx, dir, [binanceTriangle('paper-tri', { mode: 'paper' })], async (data, err) => {
      const report = await reportOf(data, 'paper-tri');
      assert.equal(report.data.status, 'FILLED', `${report.data.error ?? ''} ${err()}`);
      const events = await eventsOf(data);
      const tested = ofChain(events, 'OrderTested', 'paper-tri');
      assert.deepEqual(
        tested.map((t) => [t.data.leg, t.data.outcome]),
        [
          [0, 'accepted'],
          [1, 'accepted'],
          [2, 'accepted'],
        ],
      );
      for (const t of tested) assert.equal(fx.em.exchange.orderTests.get(t.data.client_order_id), 1, `leg ${t.data.leg} tested once`);
      assert.equal(fx.em.exchange.placements.size, 0, 'nothing placed');
      assert.equal(ofChain(events, 'OrderRouted', 'paper-tri').length, 0);
      assert.equal(JSON.stringify(Object.fromEntries(fx.em.exchange.balances())), balances, 'the account is as it was');
      assert.ok(report.data.legs.every((l) => Number(l.filled_qty) > 0));
    });
  });
  // KuCoin's /api/v1/hf/orders/test checks the balance too: 500 USDT asked of an account holding 10.
  await withVenue('KUCOIN', 'chain-paper-kucoin', { balances: { USDT: '10' } }, (fx, dir) =>
    whileRunning(fx, dir, [roundTrip('KUCOIN', 'paper-kc', { mode: 'paper' })], async (data, err) => {
      const report = await reportOf(data, 'paper-kc');
      assert.equal(report.data.status, 'FAILED', err());
      assert.match(report.data.error ?? '', /order test refused: 200004/);
      const [t] = ofChain(await eventsOf(data), 'OrderTested', 'paper-kc');
      assert.equal(fx.em.exchange.orderTests.get(t.data.client_order_id), 1);
      assert.equal(fx.em.exchange.placements.size, 0, 'nothing placed');
    }),
  );
});

test('OKX and KuCoin: a two-leg live chain waits for each venue’s lagging balance (its own balance endpoint) and ends FILLED', async () => {
  for (const venue of ['OKX', 'KUCOIN'] as const) {
    const id = `bal-${venue.toLowerCase()}`;
    await withVenue(venue, `chain-balance-${venue.toLowerCase()}`, { balances: { USDT: '10000' }, faults: { balance_lag_ms: 200 } }, (fx, dir) =>
      whileRunning(fx, dir, [roundTrip(venue, id)], async (data, err) => {
        const report = await reportOf(data, id);
        assert.equal(report.data.status, 'FILLED', `${venue}: ${report.data.error ?? ''} ${err()}`);
        const events = await eventsOf(data);
        const [seen] = ofChain(events, 'ChainBalanceSeen', id);
        const [filled] = ofChain(events, 'ChainLegFilled', id);
        assert.equal(seen.data.met, true, `${venue}: ${JSON.stringify(seen.data)}`);
        assert.equal(seen.data.expected, filled.data.delivered);
        assert.ok(seen.data.asks >= 2 && seen.data.waited_ms >= 100, `${venue}: waited for the lagging balance (${seen.data.asks} reads, ${seen.data.waited_ms} ms)`);
        for (const x of ofChain(events, 'ChainLegPlaced', id)) assert.equal(fx.em.exchange.placements.get(x.data.client_order_id), 1, `${venue} leg ${x.data.leg} placed once`);
      }),
    );
  }
});
