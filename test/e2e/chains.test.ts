// Chains end to end on the simulator, through the real CLI: the cascade with a partial fill, paper
// mode, stale and small signals, a rejected leg unwound, the operator commands, and SIGKILL at
// any point of a chain followed by a restart: no leg placed twice, one report per chain.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli, cliJson, logBytes, requireBuild, runUntil, tempDir } from '../helpers/cli.js';
import { assertVenueRequests, venuePlacements } from '../helpers/venue.js';
import type { Summary } from '../../src/projections/view.js';
import type { Event, EventOf } from '../../src/domain/events.js';

let work: string;
let books: string;
const T = (s: number) => new Date(Date.UTC(2026, 2, 1, 12, 0, 0) + s * 1000).toISOString();

before(() => {
  requireBuild();
  work = tempDir('chains');
  books = join(work, 'books.ndjson');
  // The market the simulator fills from: ETHBTC is thinner at 0.05 than the signals' books say.
  writeFileSync(
    books,
    [
      { ts: T(0), instrument_id: 'BINANCE:BTCUSDT', asks: [['60000', '5']], bids: [['59990', '5']] },
      {
        ts: T(0),
        instrument_id: 'BINANCE:ETHBTC',
        asks: [
          ['0.05', '0.2'],
          ['0.06', '10'],
        ],
        bids: [['0.0499', '10']],
      },
      { ts: T(0), instrument_id: 'BINANCE:ETHUSDT', asks: [['3011', '50']], bids: [['3010', '50']] },
    ]
      .map((b) => JSON.stringify(b))
      .join('\n') + '\n',
  );
});

/** A USDT → BTC → ETH → USDT chain on BINANCE, its books as the signal saw them. */
function chain(id: string, o: Record<string, unknown> = {}, ethbtcIncrement?: string): string {
  return JSON.stringify({
    kind: 'chain',
    intent_id: id,
    ts: T(1),
    account: 'arb',
    venue: 'BINANCE',
    primary_quote: 'USDT',
    starting_amount: '1000',
    predicted_bps: '1.5',
    legs: [
      { pair: 'BTCUSDT', side: 'buy', quote_increment: '0.01' },
      { pair: 'ETHBTC', side: 'buy', quote_increment: '0.000001', ...(ethbtcIncrement ? { base_increment: ethbtcIncrement } : {}) },
      { pair: 'ETHUSDT', side: 'sell' },
    ],
    books: [
      { asks: [['60000', '5']], bids: [['59990', '5']] },
      { asks: [['0.05', '10']], bids: [['0.0499', '10']] },
      { asks: [['3011', '50']], bids: [['3010', '50']] },
    ],
    book_ts: T(0),
    labels: { strategy: 'tri' },
    ...o,
  });
}

function gatewayEvents(dir: string): Event[] {
  const r = cli(['events', '--data-dir', dir, '--topic', 'exec.gateway']);
  assert.equal(r.status, 0, r.stderr);
  return r.stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Event);
}
const reports = (events: Event[]) => events.filter((e): e is EventOf<'ChainCompleted'> => e.type === 'ChainCompleted');
const refused = (events: Event[]) => events.filter((e): e is EventOf<'ChainRefused'> => e.type === 'ChainRefused');

test('chains on the simulator: a partial fill cascades, paper mode, stale and small signals refused, a rejected leg unwound', () => {
  const dir = join(work, 'run');
  const intents = join(work, 'chains.ndjson');
  const run = () => cliJson<Summary>(['run', '--data-dir', dir, '--books', books, '--intents', intents, '--until-idle']);
  // c1 runs; c2, on the same triangle while c1 is in flight, is isolated.
  writeFileSync(intents, [chain('c1'), chain('c2')].join('\n') + '\n');
  const first = run();
  assert.deepEqual([first.chains.approved, first.chains.filled, first.chains.refused, first.chains.in_flight], [2, 1, 1, 0]);
  let events = gatewayEvents(dir);
  assert.equal(refused(events)[0].data.code, 'ISOLATED');
  const c1 = reports(events)[0];
  assert.equal(c1.data.status, 'FILLED');
  // Leg 1 asked for 0.3326 ETH at 0.05 but the market had 0.2 there: the IOC rest was canceled and leg 2 sold what came.
  assert.deepEqual(
    c1.data.legs.map((l) => [l.filled_qty, l.delivered]),
    [
      ['0.01665', '0.01665'],
      ['0.2', '0.2'],
      ['0.2', '601.398'],
    ],
  );
  const placed = events.filter((e): e is EventOf<'ChainLegPlaced'> => e.type === 'ChainLegPlaced' && e.intent_id === 'c1');
  assert.equal(placed[2].data.input, '0.2', 'the next leg is sized from what was received, not what was asked');
  assert.ok(c1.data.timings.some((t) => t.step === 'leg1_to_leg2' && t.ms >= 0));

  // Then: a paper chain (fills from its own books, no order on the venue), a stale one, one too small,
  // and one whose second leg the venue rejects (the signal's base increment finer than the venue's
  // lot), its BTC sold back to USDT.
  appendFileSync(
    intents,
    [
      chain('p1', { mode: 'paper', book_ts: T(2) }),
      chain('s1', { book_ts: '2026-03-01T11:59:00Z' }),
      chain('m1', { starting_amount: '0.5', book_ts: T(3) }),
      chain('f1', { on_failure: 'unwind', book_ts: T(4) }, '0.00000001'),
    ].join('\n') + '\n',
  );
  const second = run();
  assert.equal(second.orders, first.orders + 3, 'paper legs place nothing; f1: leg 0, the rejected leg 1, the unwind');
  events = gatewayEvents(dir);
  const byId = new Map(reports(events).map((r) => [r.intent_id, r]));
  assert.equal(byId.get('p1')?.data.status, 'FILLED');
  assert.equal(byId.get('p1')?.data.legs[1].filled_qty, '0.3326', 'paper fills from the signal’s own books');
  assert.deepEqual(
    refused(events).map((r) => [r.intent_id, r.data.code]),
    [
      ['c2', 'ISOLATED'],
      ['s1', 'STALE'],
      ['m1', 'BELOW_MINIMUM'],
    ],
  );
  const f1 = byId.get('f1')!;
  assert.equal(f1.data.status, 'FAILED');
  assert.match(f1.data.error ?? '', /rejected: LOT_SIZE/);
  assert.equal(f1.data.unwound?.asset, 'BTC');
  assert.equal(f1.data.unwound?.sold, '0.01665');

  // The CLI: reports one line each, nothing in flight, slots changed by an operator.
  const lines = cli(['chains', 'reports', '--data-dir', dir]);
  assert.equal(lines.status, 0, lines.stderr);
  assert.equal(lines.stdout.trim().split('\n').length, 3);
  assert.match(lines.stdout, /FILLED \| corr=c1 \| triangle=USDT\/BTC\/ETH/);
  const slots = cli(['chains', 'slots', '7', '--reason', 'more room', '--data-dir', dir]);
  assert.equal(slots.status, 0, slots.stderr);
  const list = cliJson<{ settings: { slots: number; paused: boolean }; in_flight: unknown[] }>(['chains', 'list', '--data-dir', dir, '--books', books]);
  assert.deepEqual([list.settings.slots, list.settings.paused, list.in_flight.length], [7, false, 0]);
  cli(['chains', 'pause', '--reason', 'maintenance', '--data-dir', dir]);
  appendFileSync(intents, chain('q1', { book_ts: T(5) }) + '\n');
  run();
  assert.equal(refused(gatewayEvents(dir)).find((r) => r.intent_id === 'q1')?.data.code, 'PAUSED');
});

test('SIGKILL at any point of a chain, then restart: every leg placed once, every admitted chain reported once, each leg sized from the last', async (t) => {
  const dir = join(work, 'crashy');
  const intents = join(work, 'many.ndjson');
  const N = 60;
  // The chains come 100 ms apart (the books a little newer each time, none stale) while a
  // following `run` takes them in and is SIGKILLed every so often, mid-chain.
  writeFileSync(intents, '');
  let fed = 0;
  const feeder = setInterval(() => {
    if (fed < N) appendFileSync(intents, chain(`k${fed}`, { book_ts: T(10 + fed) }) + '\n');
    fed++;
  }, 100);
  const follow = ['run', '--data-dir', dir, '--books', books, '--intents', intents];
  const kills: string[] = [];
  // Each leg's answer comes 60 ms after the venue took it, so a chain spans many kill points.
  process.env.FILLSTREAM_SIM_LATENCY_MS = '60';
  try {
    for (const [i, at] of [8, 16, 24, 32, 40, 48].entries()) {
      // Killed once the feed reached `at` and this run did something of its own: took a leg on the
      // venue (killed inside the venue's 60 ms round trip: between a leg's send and its answer), or,
      // every other time, wrote to the log (a leg decided or filled: between legs).
      const placed0 = venuePlacements(dir);
      const log0 = logBytes(dir);
      const r = await runUntil(follow, () => fed >= at && (i % 2 === 0 ? venuePlacements(dir) > placed0 : logBytes(dir) > log0));
      if (r.killed) kills.push(`${i % 2 === 0 ? 'between send and answer' : 'on a log write'} after ${at} fed`);
    }
    while (fed < N) await new Promise((r) => setTimeout(r, 20));
  } finally {
    clearInterval(feeder);
    delete process.env.FILLSTREAM_SIM_LATENCY_MS;
  }
  assert.ok(kills.length >= 5, `the kills landed mid-run (${kills.join(', ')})`);
  t.diagnostic(`killed ${kills.join(', ')}`);
  const s = cliJson<Summary>([...follow, '--until-idle']);
  assert.equal(s.pending, 0);
  assert.equal(s.chains.in_flight, 0, 'every admitted chain ended');
  assert.equal(s.chains.approved, N);
  assert.equal(s.chains.approved, s.chains.refused + s.chains.filled + s.chains.failed + s.chains.aborted);
  // How many get in depends on the machine's speed (isolation refuses those that come while one is
  // in flight); what must hold whatever the timing is below.
  assert.ok(s.chains.filled >= 1, `chains completed across the kills: ${JSON.stringify(s.chains)}`);

  const events = gatewayEvents(dir);
  const started = events.filter((e) => e.type === 'ChainStarted').map((e) => e.intent_id);
  const done = reports(events).map((e) => e.intent_id);
  assert.equal(new Set(started).size, started.length, 'no chain started twice');
  assert.deepEqual([...done].sort(), [...started].sort(), 'one report per started chain');
  // The cascade, as the log says it: each leg was given what the previous leg delivered.
  const delivered = new Map<string, string>();
  for (const e of events) {
    if (e.type === 'ChainLegFilled') delivered.set(`${e.intent_id}/${e.data.leg}`, e.data.delivered);
    if (e.type === 'ChainLegPlaced' && e.data.leg > 0 && e.data.leg < 3)
      assert.equal(e.data.input, delivered.get(`${e.intent_id}/${e.data.leg - 1}`), `${e.intent_id} leg ${e.data.leg}`);
  }
  // The venue's own journal: each leg's client order id placed exactly once.
  const venue = await assertVenueRequests({ dataDir: dir, orders: s.orders, interrupted: true });
  // A chain whose start and report are far apart in wall time went through a restart (a chain
  // alone takes tens of ms here; a restart hundreds).
  const at = (e: Event) => Date.parse(e.recorded_at);
  const startedAt = new Map(events.filter((e) => e.type === 'ChainStarted').map((e) => [e.intent_id, at(e)]));
  const across = reports(events).filter((r) => at(r) - (startedAt.get(r.intent_id) ?? at(r)) > 250).length;
  assert.ok(venue.resends >= 1, 'a kill landed between a leg sent and its answer: the restart found it on the venue');
  assert.ok(across >= 1, 'a chain went on across a restart');
  t.diagnostic(
    `${s.chains.filled} chains filled, ${s.chains.refused} refused (${JSON.stringify(s.chains.refused_by_code)}), ${across} across a restart; venue: ${venue.placed} orders placed, ${venue.resends} re-sends of orders whose commit a kill cut off`,
  );
});
