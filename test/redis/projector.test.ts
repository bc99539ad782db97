// The Redis projection against a real redis-server: live state equal to the fold of the log,
// exactly once across SIGKILLs, rebuilt after a flush, and fenced against a stale projector.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { TOPICS } from '../../src/domain/events.js';
import { redisKeys } from '../../src/projections/redis/keys.js';
import { clearNamespace, RedisProjector } from '../../src/projections/redis/projector.js';
import { readWatermarks } from '../../src/projections/redis/reader.js';
import { openLogAt } from '../../src/assembly/run.js';
import { createSyntheticMarket } from '../../src/market/synthetic.js';
import type { Summary } from '../../src/projections/view.js';
import { CLI, cli, cliJson, requireBuild, tempDir, writeIntents } from '../helpers/cli.js';
import { freshRedisPrefix, redisUrl } from '../helpers/redis.js';

const url = redisUrl();
const redis = new Redis(url, { lazyConnect: true });
let work: string;

before(async () => {
  requireBuild();
  work = tempDir('redis');
  await redis.connect();
  process.env.REDIS_URL = url;
});
after(async () => {
  delete process.env.REDIS_URL;
  delete process.env.FILLSTREAM_REDIS_PREFIX;
  redis.disconnect();
});

const SAME = ['intents', 'dlq', 'duplicates', 'accepted', 'rejected', 'orders', 'fills', 'open_orders', 'positions', 'events'] as const;

/** Every log partition's end: the watermarks of a projector that applied everything. */
async function logEnds(dir: string): Promise<Record<string, number>> {
  const log = await openLogAt(dir);
  try {
    const out: Record<string, number> = {};
    for (const t of Object.values(TOPICS)) {
      const end = await log.endOffset(t, 0);
      if (end > 0) out[`${t}/0`] = end;
    }
    return out;
  } finally {
    await log.close();
  }
}

test('100,000+ events through the projector, with SIGKILLs mid-stream: Redis holds the fold of the log, each event applied once', async () => {
  const intents = writeIntents(work, { count: 15_000, seed: 51, badRatio: 0.01, duplicateRatio: 0.01, idPrefix: 'rp' });
  const dir = join(work, 'projected');
  // The log first, without Redis; then the projector alone catches up, killed again and again.
  delete process.env.FILLSTREAM_REDIS_PREFIX;
  delete process.env.REDIS_URL;
  const reference = cliJson<Summary>(['run', '--data-dir', dir, '--intents', intents, '--until-idle']);
  process.env.REDIS_URL = url;
  assert.ok(reference.events >= 100_000, `${reference.events} events`);
  const prefix = freshRedisPrefix();
  process.env.FILLSTREAM_REDIS_PREFIX = prefix;
  const k = redisKeys(prefix);
  // Killed as soon as Redis shows progress past a mark, three times, at growing marks.
  const applied = async () => Object.values(await readWatermarks(redis, k)).reduce((a, b) => a + b, 0);
  const seen: number[] = [];
  for (const share of [0.05, 0.35, 0.65]) {
    const child = spawn(process.execPath, [CLI, 'run', '--data-dir', dir, '--until-idle'], { stdio: 'ignore' });
    const exited = new Promise((r) => child.once('exit', r));
    const deadline = Date.now() + 120_000;
    while ((await applied()) < share * reference.events && child.exitCode === null) {
      assert.ok(Date.now() < deadline, `the projector did not reach ${share * 100}%`);
      await new Promise((r) => setTimeout(r, 5));
    }
    child.kill('SIGKILL');
    await exited;
    seen.push(await applied());
  }
  assert.ok(
    seen.some((n) => n > 0 && n < reference.events),
    `a kill landed mid-projection (applied after each kill: ${seen.join(', ')} of ${reference.events})`,
  );
  const live = cliJson<Summary>(['run', '--data-dir', dir, '--until-idle']);
  assert.equal(live.state_hash, reference.state_hash);
  const fromRedis = cliJson<Summary & { source: string }>(['state', '--data-dir', dir]);
  assert.equal(fromRedis.source, 'redis');
  for (const key of SAME) assert.equal(fromRedis[key], reference[key], key);
  assert.equal(fromRedis.state_hash, reference.state_hash, 'Redis state = the fold of the log');
  assert.deepEqual(await readWatermarks(redis, k), await logEnds(dir), 'watermarks at the ends of the log');

  // Lookups an operator makes: by intent id, by client order id, open orders per account.
  const orders = cliJson<{ order: { intent_id: string; client_order_id: string; account: string }; status: string }[]>(['orders', '--data-dir', dir]);
  assert.equal(orders.length, reference.orders);
  const o = orders[17];
  assert.equal(await redis.get(k.intent(o.order.intent_id)), o.order.client_order_id);
  assert.equal(JSON.parse((await redis.get(k.order(o.order.client_order_id)))!).status, o.status);
  const open = orders.filter((x) => !['FILLED', 'CANCELED', 'REJECTED', 'EXPIRED'].includes(x.status));
  let openInRedis = 0;
  for (const a of new Set(orders.map((x) => x.order.account))) openInRedis += await redis.scard(k.open(a));
  assert.equal(openInRedis, open.length);
  assert.equal(open.length, reference.open_orders);

  // Flushed (this test's keys only: REDIS_URL may be a shared server), then rebuilt from the log.
  assert.ok((await clearNamespace(redis, prefix)) > reference.orders);
  assert.notEqual(cliJson<Summary>(['state', '--data-dir', dir]).state_hash, reference.state_hash);
  const rebuilt = cliJson<Summary & { keys_cleared: number }>(['rebuild', '--target', 'redis', '--data-dir', dir]);
  assert.equal(rebuilt.state_hash, reference.state_hash);
  assert.equal(cliJson<Summary>(['state', '--data-dir', dir]).state_hash, reference.state_hash);
  assert.equal(cliJson<Summary>(['state', '--data-dir', dir, '--source', 'log']).state_hash, reference.state_hash);
});

test('strategies outside ASCII and accounts with quotes and backslashes round-trip through the projection', () => {
  const dir = join(work, 'unicode');
  const file = join(work, 'unicode.ndjson');
  // Accounts are printable ASCII by the intent schema; strategy labels are free text.
  const strategies = ['désk-é', 'トレーダー', 'emoji-😀', 'plain'];
  const accounts = ['a"1', 'b\\2', 'c:3', 'd-4'];
  writeFileSync(
    file,
    strategies
      .map((n, i) =>
        JSON.stringify({
          intent_id: `u-${i}`,
          ts: `2026-01-02T10:00:0${i}.000000Z`,
          account: accounts[i],
          instrument_id: 'BINANCE:BTCUSDT',
          side: 'BUY',
          size: { type: 'notional', value: '1000' },
          labels: { strategy: n },
          env: 'sim',
        }),
      )
      .join('\n') + '\n',
  );
  const prefix = freshRedisPrefix();
  process.env.FILLSTREAM_REDIS_PREFIX = prefix;
  const run = cliJson<Summary>(['run', '--data-dir', dir, '--intents', file, '--until-idle']);
  assert.equal(run.orders, strategies.length, JSON.stringify(run));
  const fromRedis = cliJson<Summary & { source: string }>(['state', '--data-dir', dir]);
  assert.equal(fromRedis.source, 'redis');
  assert.equal(fromRedis.state_hash, cliJson<Summary>(['state', '--data-dir', dir, '--source', 'log']).state_hash);
  const orders = cliJson<{ order: { account: string; strategy: string } }[]>(['orders', '--data-dir', dir]);
  assert.deepEqual(orders.map((o) => o.order.strategy).sort(), [...strategies].sort());
  assert.deepEqual(orders.map((o) => o.order.account).sort(), [...accounts].sort());
  delete process.env.FILLSTREAM_REDIS_PREFIX;
});

test('a projector whose watermarks moved under it is fenced: its write is refused and changes nothing; a batch already applied is not applied again', async () => {
  const intents = writeIntents(work, { count: 300, seed: 52, idPrefix: 'fe' });
  const dir = join(work, 'fenced');
  delete process.env.REDIS_URL;
  cliJson<Summary>(['run', '--data-dir', dir, '--intents', intents, '--until-idle']);
  process.env.REDIS_URL = url;
  const prefix = freshRedisPrefix();
  const log = await openLogAt(dir);
  const market = createSyntheticMarket({ seed: 1 });
  const a = await RedisProjector.open({ redisUrl: url, prefix, log, market });
  const b = await RedisProjector.open({ redisUrl: url, prefix, log, market });
  const c = await RedisProjector.open({ redisUrl: url, prefix, log, market });
  try {
    const parts = [{ topic: TOPICS.gateway, partition: 0 }];
    assert.deepEqual(await a.positions(parts), [{ topic: TOPICS.gateway, partition: 0, offset: 0 }]);
    await b.positions(parts);
    await c.positions(parts);
    const batch = await log.read(TOPICS.gateway, 0, 0, 100);
    await b.write(batch);
    await b.flush();
    const k = redisKeys(prefix);
    const before = await redis.hgetall(k.applied);
    assert.equal(before[`${TOPICS.gateway}/0`], '100');
    const orders = await redis.keys(`${prefix}order:*`);
    // A write's script runs while the next batch folds: its refusal surfaces by the next flush.
    await assert.rejects(
      (async () => {
        await a.write(batch.slice(0, 50));
        await a.flush();
      })(),
      /FENCED .*gateway\/0 is at 100, this projector expected 0/,
    );
    assert.deepEqual(await redis.hgetall(k.applied), before, 'nothing applied by the stale projector');
    // The same batch again (as a client resends a script whose answer a dropped connection lost):
    // its result is there already, so it is taken as applied, and the next batch goes on from it.
    await c.write(batch);
    await c.flush();
    assert.deepEqual(await redis.hgetall(k.applied), before);
    assert.equal((await redis.keys(`${prefix}order:*`)).length, orders.length);
    await c.write(await log.read(TOPICS.gateway, 0, 100, 100));
    await c.flush();
    assert.equal((await redis.hgetall(k.applied))[`${TOPICS.gateway}/0`], '200');
  } finally {
    await a.close();
    await b.close();
    await c.close();
    await log.close();
  }
});

test('rebuild without REDIS_URL fails clearly', () => {
  delete process.env.REDIS_URL;
  const r = cli(['rebuild', '--target', 'redis', '--data-dir', join(work, 'fenced')]);
  process.env.REDIS_URL = url;
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /REDIS_URL/);
});
