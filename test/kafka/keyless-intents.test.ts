// Producers that do not key by account: kcat sends every intent twice without a key, the first
// copies to partition 0 and the second to partition 1, while two live instances of the normalizer
// (or of the fused decide stage) own one partition each. Each instance learns accepted ids live
// from its own partition only, so a copy decided where it landed would be accepted twice; moved to
// its account's partition first, every copy of an intent_id meets the same seen set.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AssignerProtocol, Kafka, logLevel, Partitioners } from 'kafkajs';
import { Redis } from 'ioredis';
import { TOPICS } from '../../src/domain/events.js';
import { intentAccount } from '../../src/normalizer/decide.js';
import type { Summary } from '../../src/projections/view.js';
import { CLI, cli, cliJson, requireBuild, tempDir, writeIntents, stopAll } from '../helpers/cli.js';
import { assertVenueRequests } from '../helpers/venue.js';
import { kafkaBrokers } from '../helpers/kafka.js';
import { freshRedisPrefix, redisUrl } from '../helpers/redis.js';

const brokers = kafkaBrokers();
// Plain JSON as kcat sends it; the registry's wire format has its own test.
delete process.env.SCHEMA_REGISTRY_URL;
const admin = new Kafka({ clientId: 'fillstream-test', brokers, logLevel: logLevel.NOTHING }).admin();
const murmur2 = Partitioners.DefaultPartitioner();
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const TRACEPARENT = `00-${TRACE_ID}-00f067aa0ba902b7-01`;
const SAME = ['intents', 'dlq', 'duplicates', 'accepted', 'rejected', 'orders', 'fills', 'open_orders', 'pending'] as const;
let work: string;

before(async () => {
  requireBuild();
  work = tempDir('keyless');
  await admin.connect();
});
after(async () => {
  delete process.env.REDIS_URL;
  delete process.env.FILLSTREAM_REDIS_PREFIX;
  await admin.disconnect();
});

interface KcatRecord {
  partition: number;
  offset: number;
  key: string | null;
  payload: string;
  headers?: string[];
}

function kcat(args: string[], input?: string): string {
  const r = spawnSync('kcat', ['-b', brokers.join(','), ...args], { input, encoding: 'utf8', maxBuffer: 1 << 26, timeout: 60_000 });
  const error: NodeJS.ErrnoException | undefined = r.error;
  if (error?.code === 'ENOENT') throw new Error('kcat not found: `make test` installs it (infra/dev/services.sh up)');
  if (r.error) throw r.error;
  assert.equal(r.status, 0, `kcat ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

const consumeAll = (topic: string): KcatRecord[] =>
  kcat(['-C', '-t', topic, '-e', '-q', '-J'])
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as KcatRecord);

/** kcat -J lists headers as [name, value, name, value, …]. */
function header(r: KcatRecord, name: string): string | undefined {
  const h = r.headers ?? [];
  for (let i = 0; i + 1 < h.length; i += 2) if (h[i] === name) return h[i + 1];
  return undefined;
}

const homeOf = (account: string) => murmur2({ topic: 't', partitionMetadata: [{ partitionId: 0 }, { partitionId: 1 }] as never, message: { key: account } as never });

for (const shape of ['normalizer', 'decide'] as const) {
  test(`keyless copies of each intent on both partitions, two live ${shape} instances: one IntentAccepted and one order per intent, the embedded run's state`, async () => {
    const lines = readFileSync(writeIntents(work, { count: 200, seed: 43, badRatio: 0.05, duplicateRatio: 0.03, idPrefix: `kl-${shape}` }), 'utf8')
      .split('\n')
      .filter((l) => l !== '');
    for (const l of lines) assert.ok(!/[\t\r]/.test(l), l);
    const homes = new Set(lines.map((l) => intentAccount(Buffer.from(l))).flatMap((a) => (a === null ? [] : [homeOf(a)])));
    assert.deepEqual(
      [...homes].sort((x, y) => x - y),
      [0, 1],
      'accounts live on both partitions, so both instances move intents',
    );
    const movable = lines.filter((l) => intentAccount(Buffer.from(l)) !== null).length;
    assert.ok(movable < lines.length, 'some lines have no account (bad JSON) and stay where they land');

    // The embedded log gets the same intents in the same order: every line, then every line again.
    const twice = join(work, `${shape}-twice.ndjson`);
    writeFileSync(twice, [...lines, ...lines].join('\n') + '\n');
    const embedded = cliJson<Summary>(['run', '--data-dir', join(work, `${shape}-emb`), '--intents', twice, '--until-idle']);
    assert.ok(embedded.duplicates >= movable / 2 && embedded.accepted > 0, JSON.stringify(embedded));

    const prefix = `kl${randomUUID().slice(0, 8)}.`;
    process.env.FILLSTREAM_TOPIC_PREFIX = prefix;
    assert.equal(cli(['topics', 'create', '--partitions', '2']).status, 0);
    const redisPrefix = freshRedisPrefix();
    const procs = new Map<string, ChildProcess>();
    const start = (id: string, name: string, env: NodeJS.ProcessEnv = {}) => procs.set(id, spawnStage(name, join(work, `${shape}-${id}`), env));
    const gatewayDir = join(work, `${shape}-gateway`);
    try {
      start('a', shape);
      start('b', shape);
      if (shape === 'normalizer') {
        start('risk', 'risk');
        start('router', 'router');
      }
      start('gateway', 'gateway');
      // The live Redis projection reads exec.intents too.
      start('projector', 'projector', { REDIS_URL: redisUrl(), FILLSTREAM_REDIS_PREFIX: redisPrefix });
      await ownOnePartitionEach(prefix + shape, prefix + TOPICS.intents);

      // First copies to partition 0, all decided before the second copies go to partition 1: an
      // account's intents keep their order, as in the embedded run.
      kcat(['-P', '-t', prefix + TOPICS.intents, '-p', '0', '-H', `traceparent=${TRACEPARENT}`], lines.join('\n') + '\n');
      await settled(lines.length, gatewayDir);
      kcat(['-P', '-t', prefix + TOPICS.intents, '-p', '1', '-H', `traceparent=${TRACEPARENT}`], lines.join('\n') + '\n');
      const s = await settled(2 * lines.length, gatewayDir);
      for (const k of SAME) assert.equal(s[k], embedded[k], `${k}: ${JSON.stringify(s)}`);
      assert.equal(s.state_hash, embedded.state_hash);

      // One IntentAccepted per intent id, each a child of the producer's trace.
      const accepted = new Map<string, number>();
      for (const r of consumeAll(prefix + TOPICS.risk)) {
        if (header(r, 'type') !== 'IntentAccepted') continue;
        const id = header(r, 'intent_id')!;
        accepted.set(id, (accepted.get(id) ?? 0) + 1);
        assert.equal(header(r, 'traceparent')?.split('-')[1], TRACE_ID, 'the moved copy kept the producer trace');
      }
      for (const [id, n] of accepted) assert.equal(n, 1, `intent ${id} accepted ${n} times`);
      assert.equal(accepted.size, embedded.accepted + embedded.rejected);

      // Each intent with an account had exactly one copy off its account's partition (the first
      // or the second), and that one was moved: the same bytes and trace, keyed by account,
      // naming the record it copies. Records without an account never move.
      const intents = consumeAll(prefix + TOPICS.intents);
      const at = new Map(intents.map((r) => [`${r.partition}/${r.offset}`, r]));
      const copies = intents.filter((r) => header(r, 'forwarded_from') !== undefined);
      assert.equal(copies.length, movable);
      assert.equal(intents.length, 2 * lines.length + movable);
      for (const c of copies) {
        const [topic, partition, offset] = header(c, 'forwarded_from')!.split('/');
        assert.equal(topic, TOPICS.intents);
        const original = at.get(`${partition}/${offset}`);
        assert.ok(original, `the copy names a record of exec.intents: ${header(c, 'forwarded_from')}`);
        assert.equal(original.key, null);
        assert.equal(header(original, 'forwarded_from'), undefined);
        assert.equal(c.payload, original.payload);
        assert.equal(header(c, 'traceparent'), TRACEPARENT);
        const account = intentAccount(Buffer.from(c.payload))!;
        assert.equal(c.key, account);
        assert.equal(c.partition, homeOf(account));
        assert.notEqual(c.partition, original.partition);
      }

      // Redis, fed by its own process from all six topics, holds the same state.
      process.env.REDIS_URL = redisUrl();
      process.env.FILLSTREAM_REDIS_PREFIX = redisPrefix;
      const deadline = Date.now() + 60_000;
      for (;;) {
        const live = cliJson<Summary>(['state', '--data-dir', gatewayDir]);
        if (live.state_hash === embedded.state_hash && live.events === s.events) {
          assert.equal(live.intents, embedded.intents);
          break;
        }
        assert.ok(Date.now() < deadline, `Redis did not reach the embedded state: ${JSON.stringify(live)}`);
        await new Promise((r) => setTimeout(r, 500));
      }
    } finally {
      delete process.env.REDIS_URL;
      delete process.env.FILLSTREAM_REDIS_PREFIX;
      await stopAll(procs);
      const redis = new Redis(redisUrl());
      const keys = await redis.keys(`${redisPrefix}*`);
      if (keys.length > 0) await redis.del(...keys);
      redis.disconnect();
    }
    await assertVenueRequests({ dataDir: gatewayDir, bus: 'kafka', orders: embedded.orders, interrupted: false });
  });
}

function spawnStage(name: string, dataDir: string, env: NodeJS.ProcessEnv): ChildProcess {
  const child = spawn(process.execPath, [CLI, 'stage', name, '--data-dir', dataDir], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } });
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  child.on('exit', (code, signal) => {
    if (signal !== 'SIGTERM' && code !== 0) console.error(`stage ${name} exited ${code}: ${err}`);
  });
  return child;
}

/** Until the group's two members own one partition of `topic` each (groups carry the topic prefix: `group` is the physical name). */
async function ownOnePartitionEach(group: string, topic: string): Promise<void> {
  const deadline = Date.now() + 90_000;
  for (;;) {
    const { groups } = await admin.describeGroups([group]);
    const owned = (groups[0]?.state === 'Stable' ? groups[0].members : [])
      .map((m) => AssignerProtocol.MemberAssignment.decode(m.memberAssignment)?.assignment[topic] ?? [])
      .filter((ps) => ps.length > 0);
    if (owned.length === 2 && owned.every((ps) => ps.length === 1)) return;
    assert.ok(Date.now() < deadline, `group ${group} did not split ${topic} between two members: ${JSON.stringify(owned)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * Until `n` records of exec.intents are accounted for and every order has its venue's answer, or,
 * when intents were decided more than once (more outcomes than orders can match), until the log
 * stops growing: the caller's checks then fail with the state as it ended.
 */
async function settled(n: number, dataDir: string): Promise<Summary> {
  const deadline = Date.now() + 180_000;
  let last = -1;
  let still = 0;
  for (;;) {
    const s = cliJson<Summary>(['replay', '--bus', 'kafka', '--data-dir', dataDir]);
    const quiet = s.orders_by_status.NEW + s.orders_by_status.SUBMITTED === 0;
    if (s.intents === n && s.pending === 0 && s.routed_intents === s.accepted && quiet) return s;
    still = s.events === last ? still + 1 : 0;
    last = s.events;
    if (s.intents === n && s.pending <= 0 && quiet && still >= 5) return s;
    assert.ok(Date.now() < deadline, `pipeline did not settle: ${JSON.stringify(s)}`);
    await new Promise((r) => setTimeout(r, 1_000));
  }
}
