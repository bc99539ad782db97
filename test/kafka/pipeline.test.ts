// The pipeline on a real Kafka broker through the CLI: all stages in one process, then each stage
// as its own process with SIGKILLs mid-stream. Both must end in the state the embedded log gives.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { TOPICS } from '../../src/domain/events.js';
import { accountKey } from '../../src/assembly/run.js';
import type { Summary } from '../../src/projections/view.js';
import { CLI, cli, cliJson, requireBuild, tempDir, writeIntents, stopAll } from '../helpers/cli.js';
import { kafkaBrokers, unframed } from '../helpers/kafka.js';
import { assertVenueRequests, venuePlacements } from '../helpers/venue.js';
import { SIM_JOURNAL_FILE } from '../../src/venues/sim/index.js';

const brokers = kafkaBrokers();
const admin = new Kafka({ clientId: 'fillstream-test', brokers, logLevel: logLevel.NOTHING }).admin();
let work: string;

before(async () => {
  requireBuild();
  work = tempDir('kafka-e2e');
  await admin.connect();
});
after(() => admin.disconnect());

/** A fresh set of topics for one test: the CLI finds them through FILLSTREAM_TOPIC_PREFIX. */
function freshTopics(partitions: number): string {
  const prefix = `e${randomUUID().slice(0, 8)}.`;
  process.env.FILLSTREAM_TOPIC_PREFIX = prefix;
  const r = cli(['topics', 'create', '--partitions', String(partitions)]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(
    r.stdout
      .trim()
      .split('\n')
      .filter((l) => l.endsWith('\tcreated')).length,
    7,
    r.stdout,
  );
  return prefix;
}

const SAME = ['intents', 'dlq', 'duplicates', 'accepted', 'rejected', 'orders', 'fills', 'open_orders', 'pending'] as const;

/**
 * `fillstream run` on Kafka, with whether its gateway was rebuilt after a failed commit (a broker
 * hiccup): then, and only then, a re-send to the venue has a cause.
 */
function runOnKafka(args: string[]): { summary: Summary; gatewayRebuilt: boolean } {
  const r = cli([...args, '--json']);
  assert.equal(r.status, 0, r.stderr);
  return { summary: JSON.parse(r.stdout) as Summary, gatewayRebuilt: r.stderr.includes('stage gateway failed') };
}

test('all stages in one process on Kafka: the same state as the embedded log, fused or split, replayable, and a rerun processes nothing twice', async () => {
  const intents = writeIntents(work, { count: 2_000, seed: 21, badRatio: 0.02, duplicateRatio: 0.02 });
  const embedded = cliJson<Summary>(['run', '--data-dir', join(work, 'emb-1'), '--intents', intents, '--until-idle']);
  // The stages one by one on Kafka (four transactions per intent).
  freshTopics(3);
  const splitRun = runOnKafka([
    'run',
    '--bus',
    'kafka',
    '--stages',
    'normalizer,risk,router,gateway',
    '--data-dir',
    join(work, 'kafka-split'),
    '--intents',
    intents,
    '--until-idle',
  ]);
  const split = splitRun.summary;
  for (const k of SAME) assert.equal(split[k], embedded[k], k);
  assert.equal(split.state_hash, embedded.state_hash);
  // Nobody interrupted it: each order reached the venue once, none again.
  await assertVenueRequests({ dataDir: join(work, 'kafka-split'), bus: 'kafka', orders: embedded.orders, interrupted: splitRun.gatewayRebuilt });
  // The default on Kafka: normalizer, risk and router fused into the decide stage (two transactions).
  freshTopics(3);
  const args = ['run', '--bus', 'kafka', '--data-dir', join(work, 'kafka-1'), '--intents', intents, '--until-idle'];
  const fused = runOnKafka(args);
  const onKafka = fused.summary;
  for (const k of SAME) assert.equal(onKafka[k], embedded[k], k);
  assert.equal(onKafka.state_hash, embedded.state_hash);
  assert.equal(onKafka.events, split.events, 'the fused stage writes every event the three stages write');
  await assertVenueRequests({ dataDir: join(work, 'kafka-1'), bus: 'kafka', orders: embedded.orders, interrupted: fused.gatewayRebuilt });

  const replay = cliJson<Summary>(['replay', '--bus', 'kafka', '--data-dir', join(work, 'kafka-1')]);
  assert.equal(replay.state_hash, embedded.state_hash, 'reading the topics from offset 0 gives the live state');

  // The intake position committed with the intents: the same file again adds nothing.
  const again = cliJson<Summary>(args);
  for (const k of SAME) assert.equal(again[k], embedded[k], k);
  assert.equal(again.state_hash, embedded.state_hash);
});

test('10,000 intents with each stage as its own process, SIGKILLs mid-stream: one venue order per accepted intent, same state hash', async (t) => {
  const N = 10_000;
  const intents = writeIntents(work, { count: N, seed: 23, badRatio: 0.01, duplicateRatio: 0.01, idPrefix: 'mp' });
  const embeddedDir = join(work, 'emb-2');
  const embedded = cliJson<Summary>(['run', '--data-dir', embeddedDir, '--intents', intents, '--until-idle']);
  const prefix = freshTopics(4);
  const dirs = { normalizer: join(work, 'mp-normalizer'), risk: join(work, 'mp-risk'), router: join(work, 'mp-router'), gateway: join(work, 'mp-gateway') };
  const procs = new Map<string, ChildProcess>();
  const startStage = (name: keyof typeof dirs) => procs.set(name, spawnStage(name, dirs[name]));
  // How far each killed stage got, by its own input: offsets its group committed (markers
  // included), or for the gateway the orders its venue placed. Each is killed about a third of the
  // way through, whichever order that comes in, and restarted half a second later.
  const venueBytes = (dir: string) => statSync(join(dir, 'venue-sim', SIM_JOURNAL_FILE), { throwIfNoEntry: false })?.size ?? 0;
  const kills = {
    // Groups carry the topic prefix on the broker.
    normalizer: { done: () => committedOffsets(prefix + 'normalizer', prefix + TOPICS.intents), due: (n: number) => n >= 0.3 * N },
    router: { done: () => committedOffsets(prefix + 'router', prefix + TOPICS.router), due: (n: number) => n >= 0.3 * (embedded.accepted + embedded.rejected) },
    gateway: { done: async () => venueBytes(dirs.gateway), due: (bytes: number) => bytes >= 0.3 * venueBytes(embeddedDir) },
  };
  const progressAtKill: Partial<Record<keyof typeof kills, number>> = {};
  try {
    for (const name of Object.keys(dirs) as (keyof typeof dirs)[]) startStage(name);
    const lines = readFileSync(intents, 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '');
    assert.equal(lines.length, N);
    await produceIntents(prefix, lines);

    const restarts: Promise<unknown>[] = [];
    const deadline = Date.now() + 120_000;
    while (Object.keys(progressAtKill).length < Object.keys(kills).length) {
      for (const [name, k] of Object.entries(kills) as [keyof typeof kills, (typeof kills)[keyof typeof kills]][]) {
        if (name in progressAtKill || !k.due(await k.done())) continue;
        await killHard(procs.get(name)!, name);
        progressAtKill[name] = name === 'gateway' ? venuePlacements(dirs.gateway) : await k.done();
        restarts.push(new Promise((r) => setTimeout(r, 500)).then(() => startStage(name)));
      }
      assert.ok(Date.now() < deadline, `not every stage reached its kill point within 120 s: killed ${JSON.stringify(progressAtKill)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    await Promise.all(restarts);

    const s = await settled(N, dirs.gateway);
    for (const k of SAME) assert.equal(s[k], embedded[k], k);
    assert.equal(s.state_hash, embedded.state_hash);
    // Each kill landed mid-stream: its stage had done some of its input, not all.
    const ends = { normalizer: await highWatermarks(prefix + TOPICS.intents), router: await highWatermarks(prefix + TOPICS.router), gateway: embedded.orders };
    t.diagnostic(
      `killed at (progress of input): ${Object.entries(progressAtKill)
        .map(([n, p]) => `${n} ${p} of ${ends[n as keyof typeof ends]}`)
        .join(', ')}`,
    );
    for (const name of Object.keys(kills) as (keyof typeof kills)[]) {
      const p = progressAtKill[name]!;
      assert.ok(p > 0 && p < ends[name], `${name} killed mid-stream: ${p} of ${ends[name]}`);
    }
  } finally {
    await stopAll(procs);
  }
  // The venue's own journal: each client order id placed exactly once across the gateway's
  // restart; re-sent only if the kill cut off its commit, answered as in the embedded run.
  const venue = await assertVenueRequests({ dataDir: dirs.gateway, bus: 'kafka', orders: embedded.orders, interrupted: true, reference: embeddedDir });
  t.diagnostic(`venue: ${venue.placed} orders placed, ${venue.resends} re-sends of ${venue.resentOrders} orders whose commit the kill cut off`);
});

test('poison messages from upstream go to exec.dlq with a reason and never block their partition', async () => {
  const prefix = freshTopics(2);
  const good = (id: string) =>
    JSON.stringify({
      intent_id: id,
      ts: '2026-01-02T10:00:00Z',
      account: 'a1',
      instrument_id: 'BINANCE:BTCUSDT',
      side: 'BUY',
      size: { type: 'quantity', value: '0.01' },
      constraints: { tif: 'IOC' },
      env: 'sim',
    });
  const huge = JSON.stringify({ intent_id: 'huge', ts: '2026-01-02T10:00:00Z', account: 'a1', pad: 'x'.repeat(900_000) });
  const producer = new Kafka({ clientId: 'agent', brokers, logLevel: logLevel.NOTHING }).producer();
  await producer.connect();
  // One key: everything lands in one partition, the poison between good intents.
  await producer.send({
    topic: prefix + TOPICS.intents,
    messages: [good('p1'), '{"intent_id": "broken', JSON.stringify({ intent_id: 'p2', side: 'HOLD' }), huge, '', good('p3')].map((value) => ({ key: 'a1', value })),
  });
  await producer.disconnect();
  const s = cliJson<Summary>(['run', '--bus', 'kafka', '--data-dir', join(work, 'poison'), '--until-idle']);
  assert.equal(s.intents, 6);
  assert.equal(s.accepted, 2, 'the good intents after the poison were processed');
  assert.equal(s.orders, 2);
  assert.equal(s.dlq, 4);
  const letters: { data: { code: string; reason: string; raw: string; raw_bytes: number } }[] = [];
  const consumer = new Kafka({ clientId: 'dlq-reader', brokers, logLevel: logLevel.NOTHING }).consumer({ groupId: `${prefix}dlq-check` });
  await consumer.connect();
  await consumer.subscribe({ topics: [prefix + TOPICS.dlq], fromBeginning: true });
  await consumer.run({ eachMessage: async ({ message }) => void letters.push(JSON.parse(unframed(message.value!).toString())) });
  const deadline = Date.now() + 30_000;
  while (letters.length < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  await consumer.disconnect();
  assert.deepEqual(letters.map((l) => l.data.code).sort(), ['MALFORMED_JSON', 'MALFORMED_JSON', 'OVERSIZED', 'SCHEMA'], JSON.stringify(letters.map((l) => l.data.code)));
  for (const l of letters) assert.ok(l.data.reason.length > 10, l.data.reason);
  const big = letters.find((l) => l.data.raw_bytes > 800_000)!;
  assert.ok(big, 'the huge payload is dead-lettered');
  assert.ok(big.data.raw.length <= 64 * 1024, 'with its raw input cut at 64 KiB');
});

test('two instances of the stateful stages, rebalanced twice mid-stream: no intent accepted twice, same state hash', async () => {
  const N = 6_000;
  const REPEATS = 600;
  const generated = readFileSync(writeIntents(work, { count: N, seed: 29, idPrefix: 'rb' }), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '');
  // The intents sent while both instances ran come again at the very end, after the first
  // instance died: the survivor must know them (they were accepted by the other one).
  const lines = [...generated, ...generated.slice(N - REPEATS, N)];
  const file = join(work, 'rb-intents.ndjson');
  writeFileSync(file, lines.join('\n') + '\n');
  const embedded = cliJson<Summary>(['run', '--data-dir', join(work, 'emb-rb'), '--intents', file, '--until-idle']);
  assert.equal(embedded.duplicates, REPEATS);
  const prefix = freshTopics(4);
  const procs = new Map<string, ChildProcess>();
  const start = (id: string, name: string) => procs.set(id, spawnStage(name, join(work, `rb-${id}`)));
  try {
    for (const [id, name] of [
      ['normalizer-a', 'normalizer'],
      ['risk-a', 'risk'],
      ['router', 'router'],
      ['gateway', 'gateway'],
    ])
      start(id, name);
    await produceIntents(prefix, lines.slice(0, N / 2));
    await waitForRecords(prefix + TOPICS.risk, 1_000);
    // A second normalizer and risk join: both groups rebalance while intents flow.
    start('normalizer-b', 'normalizer');
    start('risk-b', 'risk');
    await produceIntents(prefix, lines.slice(N / 2, N));
    await waitForRecords(prefix + TOPICS.router, N - 200);
    // The first ones die: the survivors take every partition over, fencing the dead writers.
    await killHard(procs.get('normalizer-a')!, 'normalizer-a');
    await killHard(procs.get('risk-a')!, 'risk-a');
    await produceIntents(prefix, lines.slice(N));
    const s = await settled(lines.length, join(work, 'rb-gateway'));
    for (const k of SAME) assert.equal(s[k], embedded[k], k);
    assert.equal(s.duplicates, REPEATS, 'every repeated intent id is caught, whichever instance accepted it first');
    assert.equal(s.state_hash, embedded.state_hash);
  } finally {
    await stopAll(procs);
  }
});

test('the fused decide stage as its own process: a second instance joins mid-stream, the first is SIGKILLed; one order per accepted intent, same state hash', async () => {
  const N = 6_000;
  const intents = writeIntents(work, { count: N, seed: 31, badRatio: 0.01, duplicateRatio: 0.02, idPrefix: 'fd' });
  const embedded = cliJson<Summary>(['run', '--data-dir', join(work, 'emb-fd'), '--intents', intents, '--until-idle']);
  const prefix = freshTopics(4);
  const lines = readFileSync(intents, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '');
  const procs = new Map<string, ChildProcess>();
  const start = (id: string, name: string) => procs.set(id, spawnStage(name, join(work, `fd-${id}`)));
  gatewayRebuilt = false;
  try {
    start('decide-a', 'decide');
    start('gateway', 'gateway');
    await produceIntents(prefix, lines.slice(0, N / 2));
    await waitForRecords(prefix + TOPICS.gateway, 1_000);
    start('decide-b', 'decide');
    await produceIntents(prefix, lines.slice(N / 2));
    await waitForRecords(prefix + TOPICS.router, N / 2 + 500);
    await killHard(procs.get('decide-a')!, 'decide-a');
    const s = await settled(N, join(work, 'fd-gateway'));
    for (const k of SAME) assert.equal(s[k], embedded[k], k);
    assert.equal(s.state_hash, embedded.state_hash);
  } finally {
    await stopAll(procs);
  }
  // Only decide was killed: the gateway, never interrupted, re-sends nothing (unless a failed commit
  // made it rebuild, which it says on stderr).
  await assertVenueRequests({ dataDir: join(work, 'fd-gateway'), bus: 'kafka', orders: embedded.orders, interrupted: gatewayRebuilt });
});

/** Set once a gateway stage process says it was rebuilt after a failure (a broker hiccup). */
let gatewayRebuilt = false;

function spawnStage(name: string, dataDir: string): ChildProcess {
  const child = spawn(process.execPath, [CLI, 'stage', name, '--data-dir', dataDir], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d) => {
    err += d;
    if (name === 'gateway' && err.includes('stage gateway failed')) gatewayRebuilt = true;
  });
  child.on('exit', (code, signal) => {
    if (signal !== 'SIGKILL' && signal !== 'SIGTERM' && code !== 0) console.error(`stage ${name} exited ${code}: ${err}`);
  });
  return child;
}

async function killHard(child: ChildProcess, name: string): Promise<void> {
  child.kill('SIGKILL');
  if (child.exitCode === null && child.signalCode === null) await new Promise((r) => child.once('exit', r));
  assert.equal(child.signalCode, 'SIGKILL', `${name} was alive when killed`);
}

/** An upstream agent producing plain JSON intents, keyed by account. */
async function produceIntents(prefix: string, lines: string[]): Promise<void> {
  const producer = new Kafka({ clientId: 'agent', brokers, logLevel: logLevel.NOTHING }).producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  for (let i = 0; i < lines.length; i += 500) {
    // Lines without a key (not JSON) get a fixed partition: spread round-robin, a retried send
    // could place them differently and the idempotent producer would see out-of-order sequences.
    const messages = lines.slice(i, i + 500).map((l) => {
      const key = accountKey(Buffer.from(l));
      return key === null ? { key, value: l, partition: 0 } : { key, value: l };
    });
    await producer.send({ topic: prefix + TOPICS.intents, messages, acks: -1 });
  }
  await producer.disconnect();
}

/** Waits until every intent read is accounted for and every order got its venue's answer. */
async function settled(n: number, dataDir: string): Promise<Summary> {
  const deadline = Date.now() + 240_000;
  for (;;) {
    const s = cliJson<Summary>(['replay', '--bus', 'kafka', '--data-dir', dataDir]);
    if (s.intents === n && s.pending === 0 && s.routed_intents === s.accepted && s.orders_by_status.NEW + s.orders_by_status.SUBMITTED === 0) return s;
    assert.ok(Date.now() < deadline, `pipeline did not settle: ${JSON.stringify(s)}`);
    await new Promise((r) => setTimeout(r, 2_000));
  }
}

/** Offsets a consumer group committed on a topic, summed over its partitions. */
async function committedOffsets(group: string, topic: string): Promise<number> {
  const [t] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
  return t.partitions.reduce((n, p) => n + Math.max(0, Number(p.offset)), 0);
}

async function highWatermarks(topic: string): Promise<number> {
  return (await admin.fetchTopicOffsets(topic)).reduce((n, p) => n + Number(p.high), 0);
}

async function waitForRecords(topic: string, atLeast: number): Promise<void> {
  const deadline = Date.now() + 120_000;
  while ((await highWatermarks(topic)) < atLeast) {
    if (Date.now() > deadline) throw new Error(`${topic} did not reach ${atLeast} records`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
