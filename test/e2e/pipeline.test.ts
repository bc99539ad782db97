// End to end through the real CLI: 10,000 intents, rerun, replay, dead letters, SIGKILL and restart.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { cli, cliJson, logBytes, requireBuild, ROOT, runUntil, tempDir, writeIntents } from '../helpers/cli.js';
import { assertVenueRequests, venuePlacements } from '../helpers/venue.js';
import { openLogReadOnly } from '../../src/assembly/run.js';
import { ALL_TOPICS, TOPICS } from '../../src/domain/events.js';
import type { Summary } from '../../src/projections/view.js';
import { SIM_JOURNAL_FILE } from '../../src/venues/sim/index.js';

const N = 10_000;
let work: string;
let intents: string;

before(() => {
  requireBuild();
  work = tempDir('e2e');
  intents = writeIntents(work, { count: N, seed: 11, badRatio: 0.02, duplicateRatio: 0.02 });
});

const runArgs = (dir: string) => ['run', '--data-dir', dir, '--intents', intents, '--until-idle'];
const plainRunArgs = runArgs;

test('10,000 intents through the CLI: every intent is accounted for exactly once', async () => {
  const dir = join(work, 'full');
  const s = cliJson<Summary>(runArgs(dir));
  assert.equal(s.intents, N, 'every line was read');
  assert.equal(s.pending, 0, 'nothing left in flight');
  assert.equal(s.dlq + s.duplicates + s.accepted + s.rejected, N);
  assert.ok(s.dlq >= 100 && s.dlq <= 400, `about 2% dead letters, got ${s.dlq}`);
  assert.ok(s.duplicates >= 100, `duplicates are counted, got ${s.duplicates}`);
  // One order per accepted intent, or one per venue where the router split a bare symbol's intent.
  assert.ok(s.orders >= s.accepted, `at least one order per accepted intent: ${s.orders} for ${s.accepted}`);
  assert.ok(s.fills >= s.orders_by_status.FILLED, 'filled orders have fills');
  assert.ok(s.orders_by_status.FILLED > N / 3, `most orders fill: ${JSON.stringify(s.orders_by_status)}`);
  assert.equal(s.orders_by_status.NEW + s.orders_by_status.SUBMITTED, 0, 'every order reached its venue and got an answer');
  assert.equal(s.open_orders, s.orders_by_status.ACKED + s.orders_by_status.PARTIALLY_FILLED, 'open orders are the resting ones');
  assert.equal(s.anomalies, 0);
  assert.match(s.state_hash, /^[0-9a-f]{64}$/);

  // Rerunning with the same file resumes: nothing is read or processed twice.
  const again = cliJson<Summary>(runArgs(dir));
  assert.deepEqual({ ...again, elapsed_s: 0 }, { ...s, elapsed_s: 0 });

  // Replay rebuilds the same state from the log alone.
  const replay = cliJson<Summary & { events_per_sec: number }>(['replay', '--data-dir', dir]);
  assert.equal(replay.state_hash, s.state_hash);
  assert.equal(replay.events, s.events);
  assert.ok(replay.events_per_sec > 0);

  // The blotter has every accepted intent's orders, none twice; a split's children never add up to more than the intent.
  const orders = cliJson<{ order: { intent_id: string; client_order_id: string; venue: string; qty: string; leg: number }; status: string }[]>(['orders', '--data-dir', dir]);
  assert.equal(orders.length, s.orders);
  assert.equal(new Set(orders.map((o) => o.order.client_order_id)).size, orders.length, 'no client order id twice');
  assert.equal(new Set(orders.map((o) => o.order.intent_id)).size, s.accepted, 'every accepted intent has its orders');
  const byIntent = new Map<string, typeof orders>();
  for (const o of orders) byIntent.set(o.order.intent_id, [...(byIntent.get(o.order.intent_id) ?? []), o]);
  const splits = [...byIntent.values()].filter((os) => os.length > 1);
  for (const os of splits) assert.equal(new Set(os.map((o) => o.order.venue)).size, os.length, 'a split gives each venue one child');

  // Every dead letter carries the raw input and a reason.
  const dlq = cli(['events', '--data-dir', dir, '--topic', 'exec.dlq']);
  assert.equal(dlq.status, 0, dlq.stderr);
  const letters = dlq.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.equal(letters.length, s.dlq);
  for (const l of letters) {
    assert.equal(l.type, 'DeadLetter');
    assert.ok(l.data.reason.length > 10, l.data.reason);
    assert.ok(l.data.raw.length > 0);
    assert.equal(l.data.source.topic, 'exec.intents');
  }
  assert.ok(Object.keys(s.dlq_by_code).length >= 4, `several kinds of bad input: ${JSON.stringify(s.dlq_by_code)}`);

  // Nothing interrupted these runs: every order reached the venue once and none was sent again.
  await assertVenueRequests({ dataDir: dir, orders: s.orders, interrupted: false });
});

const size = (path: string) => (existsSync(path) ? statSync(path).size : 0);
const venueBytes = (dir: string) => size(join(dir, 'venue-sim', SIM_JOURNAL_FILE));

/** Where a data dir stands between runs: intents read, records in all topics, orders placed on the venue. */
async function progress(dir: string): Promise<{ intents: number; events: number; placed: number }> {
  if (!existsSync(join(dir, 'log'))) return { intents: 0, events: 0, placed: 0 };
  const log = await openLogReadOnly(dir);
  try {
    let events = 0;
    for (const t of ALL_TOPICS) events += await log.endOffset(t, 0);
    return { intents: await log.endOffset(TOPICS.intents, 0), events, placed: venuePlacements(dir) };
  } finally {
    await log.close();
  }
}

test('SIGKILL at several points with every risk rule on, then restart: nothing lost, nothing doubled, same state hash', async (t) => {
  // Every native rule of examples/policy-full.json decides, and folds the gateway's fills, through the kills.
  const runArgs = (d: string) => [...plainRunArgs(d), '--policy', join(ROOT, 'examples/policy-full.json')];
  const referenceDir = join(work, 'reference');
  const reference = cliJson<Summary>(runArgs(referenceDir));
  assert.ok(reference.rejected > 0 && reference.accepted > reference.rejected, `the rules decide both ways (${reference.accepted} approved, ${reference.rejected} rejected)`);
  const dir = join(work, 'crashy');
  // Kill points by progress, measured against the uninterrupted run: the first while intents still
  // come in (the log a few % along), the others at growing shares of the orders on the venue.
  const points = [
    { at: 'log 3%', due: () => logBytes(dir) >= 0.03 * logBytes(referenceDir) },
    ...[0.2, 0.45, 0.7, 0.9].map((share) => ({ at: `venue ${share * 100}%`, due: () => venueBytes(dir) >= share * venueBytes(referenceDir) })),
  ];
  const kills: string[] = [];
  let before = await progress(dir);
  for (const p of points) {
    // The journal written inline this time, so the kills land in it too.
    const r = await runUntil([...runArgs(dir), '--journal-inline'], p.due);
    const now = await progress(dir);
    const where = `killed at ${p.at}: ${JSON.stringify(before)} -> ${JSON.stringify(now)} of ${reference.events} events, ${reference.orders} orders`;
    assert.ok(r.killed, `the run ended before its kill point (${p.at})`);
    assert.ok(now.events > before.events || now.placed > before.placed, `some progress before the kill; ${where}`);
    assert.ok(now.events < reference.events && now.placed < reference.orders, `not all of it; ${where}`);
    kills.push(`${p.at} (${now.intents} intents, ${now.events} events, ${now.placed} orders)`);
    before = now;
  }
  t.diagnostic(`killed at ${kills.join(', ')}`);
  const after = cliJson<Summary>([...runArgs(dir), '--journal-inline']);
  assert.equal(after.state_hash, reference.state_hash);
  for (const k of ['intents', 'dlq', 'duplicates', 'accepted', 'rejected', 'orders', 'fills', 'events'] as const) {
    assert.equal(after[k], reference[k], k);
  }
  const orders = cliJson<{ order: { intent_id: string; client_order_id: string } }[]>(['orders', '--data-dir', dir]);
  assert.equal(new Set(orders.map((o) => o.order.intent_id)).size, after.accepted, 'every accepted intent has exactly one order');

  // The simulated venue's own journal: each client order id placed exactly once; re-sends only
  // for orders whose commit a kill cut off, answered as in the uninterrupted run.
  const venue = await assertVenueRequests({ dataDir: dir, orders: after.orders, interrupted: true, reference: referenceDir });
  t.diagnostic(`venue: ${venue.placed} orders placed, ${venue.resends} re-sends of ${venue.resentOrders} orders whose commit a kill cut off`);
  assert.equal(cliJson<Summary>(['replay', '--data-dir', dir]).state_hash, reference.state_hash);

  // The audit journal (files in the data dir) went through the same kills: every event once.
  const journal = cli([
    'audit',
    'sql',
    '--data-dir',
    dir,
    '--format',
    'JSONEachRow',
    'SELECT count() AS n, uniqExact(log_topic, log_offset) AS distinct_offsets FROM fillstream.audit_events',
  ]);
  assert.equal(journal.status, 0, journal.stderr);
  const row = JSON.parse(journal.stdout.trim()) as { n: string | number; distinct_offsets: string | number };
  assert.equal(Number(row.n), after.events - after.intents, 'one journal row per event');
  assert.equal(Number(row.distinct_offsets), Number(row.n), 'no event twice');
  assert.equal(cliJson<{ events: number }>(['audit', 'catch-up', '--data-dir', dir, '--json']).events, 0, 'the inline journal held every event already');
});

test('the journal built on demand: run writes none, audit catch-up SIGKILLed part way and rerun journals every event once', async () => {
  const dir = join(work, 'on-demand');
  const s = cliJson<Summary>(runArgs(dir));
  assert.equal(existsSync(join(dir, 'audit')), false, 'run keeps the journal off its path by default');
  // Killed as soon as its first rows are stored.
  const r = await runUntil(['audit', 'catch-up', '--data-dir', dir], () => size(join(dir, 'audit', 'events-000001.tsv')) > 0);
  assert.ok(r.killed, 'the catch-up was killed before it ended');
  const rest = cliJson<{ events: number }>(['audit', 'catch-up', '--data-dir', dir, '--json']);
  assert.ok(rest.events > 0 && rest.events < s.events - s.intents, `killed mid-way: the rerun resumed after the stored rows (${rest.events} of ${s.events - s.intents} left)`);
  // audit sql catches up first (nothing left now), then queries.
  const journal = cli(['audit', 'sql', '--data-dir', dir, '--json', 'SELECT count() AS n, uniqExact(log_topic, log_offset) AS distinct_offsets FROM fillstream.audit_events']);
  assert.equal(journal.status, 0, journal.stderr);
  const row = JSON.parse(journal.stdout.trim()) as { n: string | number; distinct_offsets: string | number };
  assert.equal(Number(row.n), s.events - s.intents, 'one journal row per event');
  assert.equal(Number(row.distinct_offsets), Number(row.n), 'no event twice');
  const day = cliJson<{ ok: boolean; rows: number }>(['audit', 'verify', '--day', '2026-01-02', '--data-dir', dir, '--json']);
  assert.equal(day.ok, true, 'the chain built on demand verifies');
});

test('while run holds a data dir: a second run is refused clearly, inspection works read-only', async () => {
  const dir = join(work, 'locked');
  const done = cliJson<Summary>(runArgs(dir));
  const { spawn } = await import('node:child_process');
  const { CLI } = await import('../helpers/cli.js');
  // Without --until-idle, run keeps following the file until SIGTERM.
  const holder = spawn(process.execPath, [CLI, 'run', '--data-dir', dir, '--intents', intents], { stdio: 'ignore' });
  try {
    await new Promise((r) => setTimeout(r, 1500));
    const second = cli(runArgs(dir));
    assert.notEqual(second.status, 0);
    assert.match(second.stderr, /in use by pid \d+/);
    const replay = cliJson<Summary>(['replay', '--data-dir', dir]);
    assert.equal(replay.state_hash, done.state_hash, 'a read-only replay beside the running process sees the same state');
    const orders = cliJson<unknown[]>(['orders', '--data-dir', dir]);
    assert.equal(orders.length, done.orders);
  } finally {
    holder.kill('SIGTERM');
    await new Promise((r) => holder.on('exit', r));
  }
  assert.equal(holder.exitCode, 0, 'run stops cleanly on SIGTERM');
});
