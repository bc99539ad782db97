// The broker goes away mid-stream and comes back (infra/dev/kafka.sh restart: same ports, same data
// dir) while each stage runs as its own process. Like a supervisor, the test starts again any stage
// process that exits with an error. The pipeline must settle in the embedded log's state, with each
// client order placed once on the venue, and every stage must then stop promptly on SIGTERM.
// The broker is always one this test starts (its own run dir, free ports) and stops: the one in
// KAFKA_BROKERS may serve others, and restarting it would pull it from under them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { appendFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { TOPICS } from '../../src/domain/events.js';
import { accountKey } from '../../src/assembly/run.js';
import type { Summary } from '../../src/projections/view.js';
import { CLI, ROOT, cli, cliJson, requireBuild, tempDir, writeIntents } from '../helpers/cli.js';
import { assertVenueRequests } from '../helpers/venue.js';

const KAFKA_SH = join(ROOT, 'infra/dev/kafka.sh');
/** How long a stage may take to exit on SIGTERM once the pipeline settled. */
const STOP_WITHIN_MS = 5_000;
let work: string;
let kafka: Kafka;
/** This test's own broker: its run dir (outside the one `make test`'s broker lives in) and port. */
const broker = { runRoot: '', port: 0, stopped: false };
const kafkaSh = (args: string[]) => run(KAFKA_SH, args, { KAFKA_RUN_ROOT: broker.runRoot });

before(async () => {
  requireBuild();
  work = tempDir('kafka-restart');
  broker.runRoot = join(work, 'kafka-run');
  // Stopped whatever happens: by `after`, or on the way out if the file never gets there.
  process.once('exit', () => {
    if (broker.port !== 0 && !broker.stopped) spawnSync(KAFKA_SH, ['stop', String(broker.port)], { env: { ...process.env, KAFKA_RUN_ROOT: broker.runRoot }, stdio: 'ignore' });
  });
  const started = await kafkaSh(['start']);
  const url = /^KAFKA_BROKERS=(127\.0\.0\.1:(\d+))$/m.exec(started.stdout);
  assert.ok(started.code === 0 && url, `infra/dev/kafka.sh start failed: ${started.stderr}`);
  broker.port = Number(url[2]);
  // Every CLI and stage process this file starts inherits it.
  process.env.KAFKA_BROKERS = url[1];
  kafka = new Kafka({ clientId: 'fillstream-test', brokers: [url[1]], logLevel: logLevel.NOTHING });
});

after(async () => {
  if (broker.port === 0) return;
  const stopped = await kafkaSh(['stop', String(broker.port)]);
  broker.stopped = stopped.code === 0;
  assert.equal(stopped.code, 0, `infra/dev/kafka.sh stop ${broker.port} failed: ${stopped.stderr}`);
});

const SAME = ['intents', 'dlq', 'duplicates', 'accepted', 'rejected', 'orders', 'fills', 'open_orders', 'pending'] as const;
type StageName = 'normalizer' | 'risk' | 'router' | 'gateway';
const STAGES: StageName[] = ['normalizer', 'risk', 'router', 'gateway'];

test('the broker restarts while four stage processes run: the pipeline settles in the embedded state, each client order placed once, each stage stops on SIGTERM', async (t) => {
  const N = 5_000;
  const intents = writeIntents(work, { count: N, seed: 29, badRatio: 0.01, duplicateRatio: 0.01, idPrefix: 'br' });
  const embeddedDir = join(work, 'emb');
  const embedded = cliJson<Summary>(['run', '--data-dir', embeddedDir, '--intents', intents, '--until-idle']);

  const prefix = `r${randomUUID().slice(0, 8)}.`;
  process.env.FILLSTREAM_TOPIC_PREFIX = prefix;
  const created = cli(['topics', 'create', '--partitions', '4']);
  assert.equal(created.status, 0, created.stderr);

  // An upstream agent's intents, keyed by account, all there before the stages start. Lines with
  // no key (bad JSON) get a fixed partition: kafkajs would spread them round-robin, and when it
  // retries a send (a fresh topic can answer the first one with a retriable error) it would then
  // put them elsewhere, so the idempotent producer's resent batches no longer match what the
  // broker already has: OUT_OF_ORDER_SEQUENCE_NUMBER (seen), or the records twice.
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    const lines = readFileSync(intents, 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '');
    assert.equal(lines.length, N);
    for (let i = 0; i < lines.length; i += 500) {
      const messages = lines.slice(i, i + 500).map((l, j) => {
        const key = accountKey(Buffer.from(l));
        return key === null ? { partition: (i + j) % 4, value: l } : { key, value: l };
      });
      await producer.send({ topic: prefix + TOPICS.intents, messages, acks: -1 });
    }
  } finally {
    await producer.disconnect();
  }

  // The supervisor: a stage process that exits with an error is started again after a second.
  const dirs = Object.fromEntries(STAGES.map((s) => [s, join(work, `br-${s}`)])) as Record<StageName, string>;
  const procs = new Map<StageName, ChildProcess>();
  const exits: { stage: StageName; code: number | null; signal: string | null; at_s: number; stderr: string }[] = [];
  const t0 = Date.now();
  let stopping = false;
  // kafkajs's own log (JSON lines, info and up) goes to the stage's log file only, for diagnosis.
  const env = { ...process.env, FILLSTREAM_KAFKA_LOG: 'info' };
  const startStage = (name: StageName) => {
    const child = spawn(process.execPath, [CLI, 'stage', name, '--data-dir', dirs[name]], { stdio: ['ignore', 'ignore', 'pipe'], env });
    let err = '';
    child.stderr.on('data', (d: Buffer) => {
      appendFileSync(`${dirs[name]}.stderr.log`, d);
      const own = d
        .toString()
        .split('\n')
        .filter((l) => l !== '' && !l.includes('"source":"kafkajs"'));
      if (own.length) err = (err + own.join('\n') + '\n').slice(-4_000);
    });
    child.on('exit', (code, signal) => {
      appendFileSync(`${dirs[name]}.stderr.log`, `[test] pid ${child.pid} exited: code ${code} signal ${signal} at ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
      if (stopping) return;
      exits.push({ stage: name, code, signal, at_s: (Date.now() - t0) / 1000, stderr: err.trim() });
      if (code !== 0 && exits.length < 50) setTimeout(() => !stopping && startStage(name), 1_000);
    });
    procs.set(name, child);
  };
  const restarts = () =>
    `${exits.filter((e) => e.code !== 0).length} stage restart(s)${exits.length ? ', exits: ' + JSON.stringify(exits.map(({ stderr, ...e }) => ({ ...e, stderr: stderr.slice(-600) }))) : ''}`;

  const stopProblems: string[] = [];
  const stopTimes: string[] = [];
  let midway: number;
  let s: Summary | undefined;
  try {
    for (const name of STAGES) startStage(name);

    // Orders flow: now take the broker away and bring it back.
    const admin = kafka.admin();
    await admin.connect();
    try {
      const deadline = Date.now() + 120_000;
      while ((midway = await highWatermarks(admin, prefix + TOPICS.gateway)) < 300) {
        assert.ok(Date.now() < deadline, `no gateway records within 120 s; ${restarts()}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    } finally {
      await admin.disconnect();
    }
    for (const name of STAGES) appendFileSync(`${dirs[name]}.stderr.log`, `[test] broker restart begins at ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
    const restarted = await kafkaSh(['restart', String(broker.port)]);
    for (const name of STAGES) appendFileSync(`${dirs[name]}.stderr.log`, `[test] broker back at ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
    const restartLog = restarted.stderr.trim();
    assert.equal(restarted.code, 0, `kafka.sh restart failed: ${restartLog}`);
    t.diagnostic(`restart at ${midway} gateway records: ${restartLog.split('\n').pop()}`);

    // Settled: every intent read is accounted for, and every order got its venue's answer.
    const deadline = Date.now() + 240_000;
    let lastError = '';
    for (;;) {
      const r = cli(['replay', '--bus', 'kafka', '--data-dir', dirs.gateway, '--json']);
      if (r.status === 0) {
        s = JSON.parse(r.stdout) as Summary;
        if (s.intents === N && s.pending === 0 && s.routed_intents === s.accepted && s.orders_by_status.NEW + s.orders_by_status.SUBMITTED === 0) break;
      } else lastError = r.stderr;
      if (Date.now() >= deadline)
        assert.fail(
          `pipeline did not settle within 240 s after the restart: ${JSON.stringify(s)} ${lastError}; ${restarts()}; stages alive: ${[...procs]
            .filter(([, c]) => c.exitCode === null && c.signalCode === null)
            .map(([n]) => n)
            .join(',')}; ${await stageLag(prefix)}`,
        );
      await new Promise((r) => setTimeout(r, 2_000));
    }
  } finally {
    // SIGTERM: each stage finishes the batch in hand and exits 0 within STOP_WITHIN_MS (checked
    // after the correctness checks below). One still running 30 s on is SIGKILLed, as an
    // orchestrator would; how long each took is reported either way.
    stopping = true;
    await Promise.all(
      [...procs].map(async ([name, child]) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        appendFileSync(`${dirs[name]}.stderr.log`, `[test] SIGTERM at ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
        const exited = new Promise((r) => child.once('exit', r));
        const sent = Date.now();
        child.kill('SIGTERM');
        const inTime = await Promise.race([exited.then(() => true), new Promise((r) => setTimeout(() => r(false), 30_000))]);
        const took = ((Date.now() - sent) / 1000).toFixed(1);
        stopTimes.push(`${name} ${took} s`);
        if (!inTime) {
          // What keeps it alive: its open TCP connections (ss, where installed), into its log.
          const ss = spawnSync('ss', ['-tnpH'], { encoding: 'utf8' });
          const mine = (ss.stdout ?? '').split('\n').filter((l) => l.includes(`pid=${child.pid},`));
          appendFileSync(`${dirs[name]}.stderr.log`, `[test] still running 30 s after SIGTERM; its TCP connections:\n${mine.join('\n')}\n`);
          child.kill('SIGKILL');
          await exited;
          stopProblems.push(`${name} (pid ${child.pid}) still running 30 s after SIGTERM, killed`);
        } else if (child.exitCode !== 0) stopProblems.push(`${name} exited ${child.exitCode ?? child.signalCode} ${took} s after SIGTERM`);
        else if (Date.now() - sent > STOP_WITHIN_MS) stopProblems.push(`${name} (pid ${child.pid}) took ${took} s to exit after SIGTERM`);
      }),
    );
  }
  // What the stages said about the outage (their own recoveries, inside the process).
  const failures = STAGES.map(
    (n) =>
      `${n} ${
        readFileSync(`${dirs[n]}.stderr.log`, 'utf8')
          .split('\n')
          .filter((l) => /fail/i.test(l) && !l.includes('"source":"kafkajs"')).length
      }`,
  );
  t.diagnostic(`${restarts()}; stderr lines reporting a failure: ${failures.join(', ')} (logs: ${work}/br-<stage>.stderr.log)`);
  assert.ok(s, 'settled');
  const finalAdmin = kafka.admin();
  await finalAdmin.connect();
  const gatewayRecords = await highWatermarks(finalAdmin, prefix + TOPICS.gateway).finally(() => finalAdmin.disconnect());
  t.diagnostic(`exec.gateway: ${midway} records before the restart, ${gatewayRecords} in the end`);
  assert.ok(midway < gatewayRecords, 'the broker restarted mid-stream');
  for (const k of SAME) assert.equal(s[k], embedded[k], `${k}; ${restarts()}`);
  assert.equal(s.state_hash, embedded.state_hash, `state hash; ${restarts()}`);

  // The venue's own journal: each client order id placed exactly once across the broker's restart;
  // re-sent only where the outage cut off the gateway's commit, answered as in the embedded run.
  const venue = await assertVenueRequests({ dataDir: dirs.gateway, bus: 'kafka', orders: embedded.orders, interrupted: true, reference: embeddedDir });
  t.diagnostic(`venue: ${venue.placed} orders placed, ${venue.resends} re-sends of ${venue.resentOrders} orders whose commit the restart cut off`);

  // Settled, each stage exits 0 within 5 s of SIGTERM.
  t.diagnostic(`exit after SIGTERM: ${stopTimes.join(', ')}`);
  assert.deepEqual(stopProblems, [], `every stage stops with code 0 within ${STOP_WITHIN_MS / 1000} s of SIGTERM (logs: ${work}/br-<stage>.stderr.log)`);
});

/** Each stage's group against its input topic, per partition (committed/high): which stage and partition stalled. */
async function stageLag(prefix: string): Promise<string> {
  const inputs: Record<StageName, string> = { normalizer: TOPICS.intents, risk: TOPICS.risk, router: TOPICS.router, gateway: TOPICS.gateway };
  const admin = kafka.admin();
  await admin.connect();
  try {
    const parts: string[] = [];
    for (const stage of STAGES) {
      const topic = prefix + inputs[stage];
      const high = new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, p.high]));
      const [committed] = await admin.fetchOffsets({ groupId: prefix + stage, topics: [topic] });
      parts.push(`${stage} ${committed.partitions.map((p) => `p${p.partition} ${p.offset}/${high.get(p.partition)}`).join(' ')}`);
    }
    return `committed/high: ${parts.join('; ')}`;
  } catch (e) {
    return `committed offsets unreadable: ${(e as Error).message}`;
  } finally {
    await admin.disconnect();
  }
}

async function highWatermarks(admin: ReturnType<Kafka['admin']>, topic: string): Promise<number> {
  return (await admin.fetchTopicOffsets(topic)).reduce((n, p) => n + Number(p.high), 0);
}

function run(cmd: string, args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((res) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('exit', (code) => res({ code, stdout, stderr }));
  });
}
