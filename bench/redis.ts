// The Redis projection: how fast the projector applies events, and how long a full rebuild of
// 1,000,000 events takes (clear the namespace, fold the log, write the state and watermarks).
import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ALL_TOPICS } from '../src/domain/events.js';
import type { EventLog } from '../src/log/types.js';
import { createSyntheticMarket } from '../src/market/synthetic.js';
import { openLogAt } from '../src/assembly/run.js';
import { consumeInto } from '../src/runtime/sink.js';
import { clearNamespace, connectRedis, RedisProjector } from '../src/projections/redis/projector.js';
import { generateIntents } from '../src/tools/generate.js';

type Emit = (o: Record<string, unknown>) => void;

const TARGET_EVENTS = Number(process.env.BENCH_REDIS_EVENTS ?? 1_000_000);
/** Records per intent on this generator's mix (intent + accepted + approved + ~4.4 on exec.gateway). */
const RECORDS_PER_INTENT = 7.3;

async function projectAll(log: EventLog, url: string, prefix: string): Promise<{ seconds: number; cleared: number }> {
  const redis = connectRedis(url);
  await redis.connect();
  try {
    const t0 = performance.now();
    const cleared = await clearNamespace(redis, prefix);
    const projector = await RedisProjector.open({ redisUrl: url, prefix, log, market: createSyntheticMarket({ seed: 1 }) });
    const c = consumeInto(log, projector);
    while (c.lag() > 0 || c.busy()) await Promise.race([c.done, new Promise((r) => setTimeout(r, 5))]);
    const seconds = (performance.now() - t0) / 1000;
    await c.stop();
    await c.done;
    return { seconds, cleared };
  } finally {
    redis.disconnect();
  }
}

export async function redisProjection(work: string, emit: Emit): Promise<void> {
  const url = process.env.REDIS_URL!;
  const dataDir = join(work, 'redis');
  rmSync(dataDir, { recursive: true, force: true });
  const file = join(work, 'redis-intents.ndjson');
  const intents = Math.ceil(TARGET_EVENTS / RECORDS_PER_INTENT);
  writeFileSync(file, [...generateIntents({ count: intents, seed: 9, stepMs: 10 })].join('\n') + '\n');
  // The log to project, written once (durability is not what this part measures) by a child
  // process, as a projector runs beside the pipeline: the pipeline's heap and code would otherwise
  // weigh on the projector's GC and JIT here.
  const cli = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
  const run = spawnSync(process.execPath, [cli, 'run', '--data-dir', dataDir, '--intents', file, '--until-idle', '--no-audit', '--fsync', 'off'], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, CLICKHOUSE_URL: '', REDIS_URL: '' },
  });
  if (run.status !== 0) throw new Error(`fillstream run exited with ${run.status}`);
  const log = await openLogAt(dataDir, 'off');
  try {
    let events = 0;
    for (const t of ALL_TOPICS) events += await log.endOffset(t, 0);
    const prefix = `fsbench:${process.pid}:`;
    // First pass into an empty namespace: the projector's own rate. Second: a rebuild, which also
    // clears what the first pass wrote.
    const first = await projectAll(log, url, prefix);
    emit({ bench: 'redis_projector', events, seconds: +first.seconds.toFixed(3), redis_events_per_sec: Math.round(events / first.seconds) });
    const rebuild = await projectAll(log, url, prefix);
    emit({
      bench: 'redis_rebuild',
      events,
      keys_cleared: rebuild.cleared,
      redis_rebuild_1m_s: +((rebuild.seconds * 1_000_000) / events).toFixed(2),
      seconds: +rebuild.seconds.toFixed(3),
    });
    const redis = connectRedis(url);
    await redis.connect();
    await clearNamespace(redis, prefix);
    redis.disconnect();
  } finally {
    await log.close();
  }
}
