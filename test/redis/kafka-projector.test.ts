// The projector on Kafka: the same Redis state as on the embedded log, from `run --bus kafka` and
// from `stage projector` as a process of its own that is SIGKILLed and restarted.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { redisKeys } from '../../src/projections/redis/keys.js';
import { readWatermarks } from '../../src/projections/redis/reader.js';
import type { Summary } from '../../src/projections/view.js';
import { CLI, cli, cliJson, requireBuild, tempDir, writeIntents } from '../helpers/cli.js';
import { kafkaBrokers } from '../helpers/kafka.js';
import { freshRedisPrefix, redisUrl } from '../helpers/redis.js';

kafkaBrokers();
const url = redisUrl();
const redis = new Redis(url, { lazyConnect: true });
let work: string;

before(async () => {
  requireBuild();
  work = tempDir('redis-kafka');
  await redis.connect();
});
after(() => {
  delete process.env.REDIS_URL;
  delete process.env.FILLSTREAM_REDIS_PREFIX;
  redis.disconnect();
});

test('on Kafka: the projector in run, then as its own process killed mid-stream, ends in the embedded state', async () => {
  const intents = writeIntents(work, { count: 3_000, seed: 61, badRatio: 0.02, duplicateRatio: 0.02, idPrefix: 'kp' });
  delete process.env.REDIS_URL;
  const embedded = cliJson<Summary>(['run', '--data-dir', join(work, 'emb'), '--intents', intents, '--until-idle']);
  process.env.FILLSTREAM_TOPIC_PREFIX = `rk${randomUUID().slice(0, 8)}.`;
  assert.equal(cli(['topics', 'create', '--partitions', '3']).status, 0);

  process.env.REDIS_URL = url;
  process.env.FILLSTREAM_REDIS_PREFIX = freshRedisPrefix();
  const dir = join(work, 'kafka');
  const run = cliJson<Summary>(['run', '--bus', 'kafka', '--data-dir', dir, '--intents', intents, '--until-idle']);
  assert.equal(run.state_hash, embedded.state_hash);
  assert.equal(cliJson<Summary>(['state', '--data-dir', dir]).state_hash, embedded.state_hash, 'Redis holds the embedded state');

  // A second projection of the same topics, by `stage projector`, killed once it has started.
  const prefix = freshRedisPrefix();
  process.env.FILLSTREAM_REDIS_PREFIX = prefix;
  const k = redisKeys(prefix);
  const applied = async () => Object.values(await readWatermarks(redis, k)).reduce((a, b) => a + b, 0);
  const first = spawn(process.execPath, [CLI, 'stage', 'projector', '--data-dir', dir], { stdio: 'ignore' });
  const deadline = Date.now() + 60_000;
  while ((await applied()) === 0) {
    assert.ok(Date.now() < deadline, 'the projector applied nothing');
    await new Promise((r) => setTimeout(r, 20));
  }
  first.kill('SIGKILL');
  await new Promise((r) => first.once('exit', r));
  const second = spawn(process.execPath, [CLI, 'stage', 'projector', '--data-dir', dir], { stdio: 'ignore' });
  try {
    for (;;) {
      const s = cliJson<Summary>(['state', '--data-dir', dir]);
      if (s.state_hash === embedded.state_hash) break;
      assert.ok(Date.now() < deadline + 60_000, `the restarted projector did not catch up: ${JSON.stringify(s)}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  } finally {
    second.kill('SIGTERM');
    await new Promise((r) => second.once('exit', r));
  }
  assert.equal(cliJson<Summary>(['state', '--data-dir', dir]).events, run.events, 'every record applied once');
});
