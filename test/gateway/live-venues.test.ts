// The gateway against each venue's emulator, through `fillstream run --venues`: real processes,
// the venue's real protocol on loopback. Every placement request the emulator received is counted,
// so a re-send cannot hide behind the emulator.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, cli, requireBuild, tempDir } from '../helpers/cli.js';
import { eventsOf, liveIntent, liveVenue, LIVE_VENUES, until, type LiveVenueFixture } from '../helpers/live.js';
import type { Event, EventOf } from '../../src/domain/events.js';

requireBuild();

/** `fillstream run` following an intents file, with the venue's keys in its environment. */
function startRun(dataDir: string, intents: string, fx: LiveVenueFixture, extra: string[] = []): { child: ChildProcess; stderr: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [CLI, 'run', '--data-dir', dataDir, '--intents', intents, '--venues', fx.venuesFile, '--fsync', 'off', ...extra], {
    env: fx.env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return { child, stderr: () => err, exited };
}

async function stop(run: { child: ChildProcess; exited: Promise<number | null>; stderr: () => string }): Promise<void> {
  run.child.kill('SIGTERM');
  const code = await run.exited;
  assert.equal(code, 0, `run stopped cleanly: ${run.stderr()}`);
}

const order = (events: Event[], intent: string) => {
  const types = events.filter((e) => e.intent_id === intent).map((e) => e.type);
  return types;
};
const last = <T extends Event['type']>(events: Event[], type: T, intent?: string) =>
  events.filter((e): e is EventOf<T> => e.type === type && (intent === undefined || e.intent_id === intent)).at(-1);

for (const { venue, symbol } of LIVE_VENUES) {
  const opts = {};

  test(`${venue}: orders trade on the emulator; fills pushed later are recorded once; cancel and amend; a prod order never reaches staging keys`, opts, async () => {
    const dir = tempDir(`live-${venue}`);
    const fx = await liveVenue(venue, dir);
    const intents = join(dir, 'intents.ndjson');
    writeFileSync(intents, '');
    const run = startRun(join(dir, 'data'), intents, fx);
    try {
      const add = (...xs: object[]) => appendFileSync(intents, xs.map((x) => JSON.stringify(x)).join('\n') + '\n');
      add(liveIntent('m1', venue, symbol), liveIntent('g1', venue, symbol, { limit: '30000' }), liveIntent('p1', venue, symbol, { env: 'prod' }));
      const data = join(dir, 'data');
      await until('the market order filled and the limit order acked', async () => {
        const ev = await eventsOf(data);
        return last(ev, 'OrderFilled', 'm1')?.data.status === 'FILLED' && last(ev, 'OrderAcked', 'g1') !== undefined && last(ev, 'OrderRejected', 'p1') !== undefined;
      });
      const rejected = last(await eventsOf(data), 'OrderRejected', 'p1')!;
      assert.equal(rejected.data.code, 'NO_GATEWAY', 'a prod order is never carried by staging keys');

      // A counterparty trades against the resting order twice: the fills come over the user-data stream.
      const coid = last(await eventsOf(data), 'OrderAcked', 'g1')!.data.client_order_id;
      fx.em.exchange.fillResting({ client_order_id: coid }, '0.0005');
      fx.em.exchange.fillResting({ client_order_id: coid }, '0.0005');
      await until('two partial fills', async () => (await eventsOf(data)).filter((e) => e.type === 'OrderFilled' && e.intent_id === 'g1').length === 2);

      add({ kind: 'amend', intent_id: 'a1', ts: new Date().toISOString(), account: 'acct', target_intent_id: 'g1', qty: '0.0015', limit_price: '30001' });
      await until('the amend', async () => last(await eventsOf(data), 'OrderAmended', 'g1'));
      // Venues that amend by cancel/replace (Binance) now hold the order under a new id: the one open order is it.
      const [replaced] = fx.em.exchange.open(symbol);
      fx.em.exchange.fillResting({ seq: replaced.seq }, '0.0002');
      await until('a fill after the amend', async () => (await eventsOf(data)).filter((e) => e.type === 'OrderFilled' && e.intent_id === 'g1').length === 3);
      add({ kind: 'cancel', intent_id: 'c1', ts: new Date().toISOString(), account: 'acct', target_intent_id: 'g1' });
      await until('the cancel', async () => last(await eventsOf(data), 'OrderCanceled', 'g1'));

      const ev = await eventsOf(data);
      const fills = ev.filter((e): e is EventOf<'OrderFilled'> => e.type === 'OrderFilled' && e.intent_id === 'g1');
      assert.deepEqual(
        fills.map((f) => f.data.fill.qty),
        ['0.0005', '0.0005', '0.0002'],
      );
      assert.equal(fills.at(-1)!.data.cum_qty, '0.0012');
      assert.equal(new Set(fills.map((f) => f.data.fill.fingerprint)).size, 3);
      assert.ok(order(ev, 'g1').includes('OrderSubmitted'));
      const stats = fx.em.exchange.placementRequests;
      assert.equal(stats.get(coid), 1, 'the resting order was placed once');
      assert.equal(fx.em.exchange.placements.get(last(ev, 'OrderSubmitted', 'm1')!.data.client_order_id), 1);
      assert.ok(ev.some((e) => e.type === 'VenueReady'));
    } finally {
      await stop(run).finally(() => fx.close());
    }
  });

  test(`${venue}: SIGKILL between send and answer; after restart the venue is asked first and no second order exists`, opts, async () => {
    const dir = tempDir(`live-kill-${venue}`);
    const fx = await liveVenue(venue, dir, { faults: { timeout_after_accept: 1 }, timeoutMs: 30_000 });
    const intents = join(dir, 'intents.ndjson');
    writeFileSync(intents, JSON.stringify(liveIntent('k1', venue, symbol, { limit: '30000' })) + '\n');
    const data = join(dir, 'data');
    try {
      const run = startRun(data, intents, fx);
      await until('the placement on the venue', () => fx.em.exchange.placementRequests.size === 1);
      run.child.kill('SIGKILL');
      await run.exited;
      const before = await eventsOf(data);
      assert.equal(last(before, 'OrderSubmitted', 'k1'), undefined, 'killed before the answer was committed');

      const again = startRun(data, intents, fx);
      try {
        const submitted = await until('the order recovered', async () => last(await eventsOf(data), 'OrderSubmitted', 'k1'));
        assert.equal(submitted.data.recovered, true, 'found on the venue, not sent again');
        await until('the ack', async () => last(await eventsOf(data), 'OrderAcked', 'k1'));
      } finally {
        await stop(again);
      }
      const coid = last(await eventsOf(data), 'OrderSubmitted', 'k1')!.data.client_order_id;
      assert.equal(fx.em.exchange.placementRequests.get(coid), 1, 'one placement request reached the venue');
      assert.equal(fx.em.exchange.placements.get(coid), 1);
    } finally {
      await fx.close();
    }
  });

  test(`${venue}: no answer makes the order UNKNOWN; the venue is asked after its deadline and the order resolved, never re-sent`, opts, async () => {
    const dir = tempDir(`live-unknown-${venue}`);
    // The user-data stream is muted: only a query can tell the gateway what happened.
    const fx = await liveVenue(venue, dir, { faults: { timeout_after_accept: 1, mute_user_stream: true }, timeoutMs: 800, settleMs: 300 });
    const intents = join(dir, 'intents.ndjson');
    writeFileSync(intents, JSON.stringify(liveIntent('u1', venue, symbol)) + '\n');
    const data = join(dir, 'data');
    const run = startRun(data, intents, fx);
    try {
      await until('the order UNKNOWN', async () => last(await eventsOf(data), 'OrderUnknown', 'u1'));
      await until('the order resolved from the venue', async () => last(await eventsOf(data), 'OrderFilled', 'u1')?.data.status === 'FILLED');
      const ev = await eventsOf(data);
      const coid = last(ev, 'OrderUnknown', 'u1')!.data.client_order_id;
      assert.equal(fx.em.exchange.placementRequests.get(coid), 1, 'asked about, never sent again');
      assert.ok(
        ev.some((e) => e.type === 'VenueReportReceived' && e.data.source !== 'stream' && e.intent_id === 'u1'),
        'found by a query',
      );
    } finally {
      await stop(run).finally(() => fx.close());
    }
  });

  test(`${venue}: a market order whose pushes are lost is not left open: asked about after settle_ms, its fill recorded once`, opts, async () => {
    const dir = tempDir(`live-quiet-${venue}`);
    // The stream stays up but says nothing: the placement answer is all the gateway hears.
    const fx = await liveVenue(venue, dir, { faults: { mute_user_stream: true }, settleMs: 300 });
    const intents = join(dir, 'intents.ndjson');
    writeFileSync(intents, JSON.stringify(liveIntent('s1', venue, symbol)) + '\n');
    const data = join(dir, 'data');
    const run = startRun(data, intents, fx);
    try {
      await until('the fill', async () => last(await eventsOf(data), 'OrderFilled', 's1')?.data.status === 'FILLED');
      await new Promise((r) => setTimeout(r, 800));
      const ev = await eventsOf(data);
      assert.equal(ev.filter((e) => e.type === 'OrderFilled' && e.intent_id === 's1').length, 1, 'one fill, recorded once');
      const coid = last(ev, 'OrderSubmitted', 's1')!.data.client_order_id;
      assert.equal(fx.em.exchange.placementRequests.get(coid), 1, 'sent once');
    } finally {
      await stop(run).finally(() => fx.close());
    }
  });

  test(`${venue}: the user-data stream drops while fills happen; each fill is recorded once after it reconnects`, opts, async () => {
    const dir = tempDir(`live-drop-${venue}`);
    const fx = await liveVenue(venue, dir);
    const intents = join(dir, 'intents.ndjson');
    writeFileSync(intents, JSON.stringify(liveIntent('d1', venue, symbol, { limit: '30000', qty: '0.003' })) + '\n');
    const data = join(dir, 'data');
    const run = startRun(data, intents, fx);
    try {
      const acked = await until('the ack', async () => last(await eventsOf(data), 'OrderAcked', 'd1'));
      const coid = acked.data.client_order_id;
      fx.em.faults.mute_user_stream = true;
      fx.em.exchange.fillResting({ client_order_id: coid }, '0.001');
      fx.em.exchange.fillResting({ client_order_id: coid }, '0.001');
      await fetch(`${fx.em.url}/__emulator/ws-drop`, { method: 'POST' });
      fx.em.faults.mute_user_stream = false;
      fx.em.exchange.fillResting({ client_order_id: coid }, '0.001');
      await until('every fill', async () => last(await eventsOf(data), 'OrderFilled', 'd1')?.data.status === 'FILLED');
      const fills = (await eventsOf(data)).filter((e) => e.type === 'OrderFilled' && e.intent_id === 'd1');
      assert.equal(fills.length, 3, 'three fills, each once');
    } finally {
      await stop(run).finally(() => fx.close());
    }
  });

  test(`${venue}: an order on the venue that fillstream did not place quarantines the account; an operator clears it`, opts, async () => {
    const dir = tempDir(`live-orphan-${venue}`);
    const fx = await liveVenue(venue, dir);
    fx.em.exchange.place({ client_order_id: 'manual1', symbol, side: 'BUY', type: 'LIMIT', tif: 'GTC', qty: '0.002', price: '30000' });
    const intents = join(dir, 'intents.ndjson');
    writeFileSync(intents, JSON.stringify(liveIntent('q1', venue, symbol)) + '\n');
    const data = join(dir, 'data');
    let run = startRun(data, intents, fx);
    try {
      const q = await until('the quarantine', async () => last(await eventsOf(data), 'AccountQuarantined'));
      assert.match(q.data.reason, /did not place/);
      const rejected = await until('the order refused', async () => last(await eventsOf(data), 'OrderRejected', 'q1'));
      assert.equal(rejected.data.code, 'QUARANTINED');
      await stop(run);
      const state = cli(['state', '--data-dir', data]);
      assert.match(state.stdout, new RegExp(`venue staging:${venue} .*QUARANTINED`));
      fx.em.exchange.cancel({ client_order_id: 'manual1' });
      const cleared = cli(['venues', 'clear-quarantine', '--venue', venue, '--env', 'staging', '--account', 'acct', '--reason', 'reviewed: a manual order', '--data-dir', data]);
      assert.equal(cleared.status, 0, cleared.stderr);
      appendFileSync(intents, JSON.stringify(liveIntent('q2', venue, symbol)) + '\n');
      run = startRun(data, intents, fx);
      await until('trading again', async () => last(await eventsOf(data), 'OrderFilled', 'q2'));
      assert.equal(
        fx.em.exchange.placementRequests.get(last(await eventsOf(data), 'OrderRejected', 'q1')!.data.client_order_id),
        undefined,
        'the refused order never reached the venue',
      );
    } finally {
      await stop(run).finally(() => fx.close());
    }
  });

  test(`${venue}: a wrong secret stops the gateway at start with the venue's own error, and nothing is placed`, opts, async () => {
    const dir = tempDir(`live-badkey-${venue}`);
    const fx = await liveVenue(venue, dir, { secret: 'not-the-secret' });
    const intents = join(dir, 'intents.ndjson');
    writeFileSync(intents, JSON.stringify(liveIntent('b1', venue, symbol)) + '\n');
    try {
      const run = startRun(join(dir, 'data'), intents, fx, ['--until-idle']);
      const code = await run.exited;
      assert.notEqual(code, 0);
      assert.match(run.stderr(), new RegExp(venue === 'BINANCE' ? '-1022|-2015|-2014' : venue === 'OKX' ? '5011[1-3]' : '40000[35]'));
      assert.ok(!run.stderr().includes('not-the-secret'), 'the secret never printed');
      assert.equal(fx.em.exchange.placementRequests.size, 0);
    } finally {
      await fx.close();
    }
  });
}

/** Where each venue takes new orders. */
const PLACE_PATH: Record<string, RegExp> = { BINANCE: /^\/api\/v3\/order(\?|$)/, OKX: /^\/api\/v5\/trade\/order$/, KUCOIN: /^\/api\/v1\/hf\/orders$/ };

for (const { venue, symbol } of LIVE_VENUES) {
  test(`${venue}: a 5xx on placement; the venue has no such order once its deadline passed, so it is sent again, once`, async () => {
    const dir = tempDir(`live-5xx-${venue}`);
    const fx = await liveVenue(venue, dir, { faults: { http_5xx: 1 }, settleMs: 300 });
    const intents = join(dir, 'intents.ndjson');
    writeFileSync(intents, JSON.stringify(liveIntent('x1', venue, symbol)) + '\n');
    const data = join(dir, 'data');
    const run = startRun(data, intents, fx);
    try {
      await until('the order filled', async () => last(await eventsOf(data), 'OrderFilled', 'x1')?.data.status === 'FILLED');
      const ev = await eventsOf(data);
      assert.ok(last(ev, 'OrderUnknown', 'x1'), 'no answer first');
      assert.ok(last(ev, 'VenueOrderMissing', 'x1'), 'asked, and the venue did not have it');
      const coid = last(ev, 'OrderUnknown', 'x1')!.data.client_order_id;
      const posts = fx.em.requests.filter((r) => r.method === 'POST' && PLACE_PATH[venue].test(r.path));
      assert.deepEqual(
        posts.map((r) => r.status),
        [503, 200],
        'the refused request and the one re-send',
      );
      assert.equal(fx.em.exchange.placements.get(coid), 1, 'one order on the venue');
      assert.deepEqual(
        ev.filter((e) => e.intent_id === 'x1' && e.type === 'OrderSubmitted').map((e) => e.event_id.split('/').at(-1)),
        ['submitted', 'resubmitted'],
      );
    } finally {
      await stop(run).finally(() => fx.close());
    }
  });

  test(`${venue}: a ban (418) halts the venue: the order is refused, nothing more is sent until an operator resumes it`, async () => {
    const dir = tempDir(`live-418-${venue}`);
    const fx = await liveVenue(venue, dir);
    const intents = join(dir, 'intents.ndjson');
    writeFileSync(intents, '');
    const data = join(dir, 'data');
    let run = startRun(data, intents, fx);
    try {
      await until('the venue ready', async () => last(await eventsOf(data), 'VenueReady'));
      fx.em.faults.http_418 = true;
      const seen = fx.em.exchange.placementRequests.size;
      appendFileSync(intents, [liveIntent('h1', venue, symbol), liveIntent('h2', venue, symbol)].map((x) => JSON.stringify(x)).join('\n') + '\n');
      const refused = await until('both refused', async () => {
        const ev = await eventsOf(data);
        const a = last(ev, 'OrderRejected', 'h1');
        const b = last(ev, 'OrderRejected', 'h2');
        return a && b ? [a, b] : undefined;
      });
      assert.deepEqual(
        refused.map((r) => r.data.code),
        ['VENUE_HALTED', 'VENUE_HALTED'],
      );
      assert.ok(last(await eventsOf(data), 'VenueHalted'), 'the halt is an event');
      assert.equal(fx.em.exchange.placementRequests.size, seen, 'nothing reached the venue');
      await stop(run);
      assert.match(cli(['state', '--data-dir', data]).stdout, new RegExp(`venue staging:${venue} +HALTED`));
      fx.em.faults.http_418 = false;
      const resumed = cli(['venues', 'resume', '--venue', venue, '--env', 'staging', '--reason', 'ban over', '--data-dir', data]);
      assert.equal(resumed.status, 0, resumed.stderr);
      appendFileSync(intents, JSON.stringify(liveIntent('h3', venue, symbol)) + '\n');
      run = startRun(data, intents, fx);
      await until('trading again', async () => last(await eventsOf(data), 'OrderFilled', 'h3'));
    } finally {
      await stop(run).finally(() => fx.close());
    }
  });
}

for (const { venue, symbol } of LIVE_VENUES) {
  test(`${venue}: production keys that may withdraw stop the gateway before anything is sent; without that permission prod trades`, async () => {
    const dir = tempDir(`live-prod-${venue}`);
    const fx = await liveVenue(venue, dir, { env: 'prod', withdrawals: true });
    const intents = join(dir, 'intents.ndjson');
    writeFileSync(intents, JSON.stringify(liveIntent('w1', venue, symbol, { env: 'prod' })) + '\n');
    try {
      const run = startRun(join(dir, 'data'), intents, fx, ['--until-idle']);
      assert.equal(await run.exited, 78, run.stderr());
      assert.match(run.stderr(), /can withdraw funds; refusing to start with production keys/);
      assert.equal(fx.em.exchange.placementRequests.size, 0);
    } finally {
      await fx.close();
    }
    const ok = await liveVenue(venue, tempDir(`live-prod-ok-${venue}`), { env: 'prod' });
    const data = join(dir, 'data-ok');
    const run = startRun(data, intents, ok);
    try {
      await until('the prod order filled', async () => last(await eventsOf(data), 'OrderFilled', 'w1'));
    } finally {
      await stop(run).finally(() => ok.close());
    }
  });

  test(`${venue}: an open order past its expire_at is canceled on the venue and recorded as expired`, async () => {
    const dir = tempDir(`live-expiry-${venue}`);
    const fx = await liveVenue(venue, dir);
    const intents = join(dir, 'intents.ndjson');
    writeFileSync(intents, JSON.stringify(liveIntent('e1', venue, symbol, { limit: '30000', expireAt: new Date(Date.now() + 1_500).toISOString() })) + '\n');
    const data = join(dir, 'data');
    const run = startRun(data, intents, fx);
    try {
      const expired = await until('the expiry', async () => last(await eventsOf(data), 'OrderExpired', 'e1'));
      assert.match(expired.data.reason, /expire_at .* reached/);
      assert.equal(fx.em.exchange.open(symbol).length, 0, 'nothing left open on the venue');
    } finally {
      await stop(run).finally(() => fx.close());
    }
  });
}
