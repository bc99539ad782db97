// `fillstream run` when a server it journals or projects into is missing, away or hanging: a
// fault only a person fixes stops it at once with the fix named (exit 78); SIGTERM stops it within
// 5 s whatever its adapters are doing, and a second signal at once; --until-idle gives up after
// --idle-timeout (exit 75) and a later run resumes exactly.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Summary } from '../../src/projections/view.js';
import { CLI, cliJson, requireBuild, tempDir, writeIntents } from '../helpers/cli.js';
import { OwnClickHouse } from '../helpers/clickhouse.js';

let work: string;
let intents: string;
let clean: Summary;
const INTENTS = 400;

before(() => {
  requireBuild();
  work = tempDir('faults');
  intents = writeIntents(work, { count: INTENTS, seed: 41, badRatio: 0.02, duplicateRatio: 0.02, idPrefix: 'fx' });
  clean = cliJson<Summary>(['run', '--data-dir', join(work, 'clean'), '--intents', intents, '--until-idle']);
});

interface Exit {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** ms from the first signal sent (or from start, without one) to the exit. */
  ms: number;
}

/** `fillstream run` with `env` on top; `signals` are sent at the given ms after start (or once stderr matches). */
function run(args: string[], env: Record<string, string>, o: { signals?: { at: number | RegExp; sig: NodeJS.Signals }[]; killAfterMs?: number } = {}): Promise<Exit> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, 'run', ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let from = performance.now();
    let signalled = false;
    const send = (sig: NodeJS.Signals) => {
      if (!signalled) from = performance.now();
      signalled = true;
      child.kill(sig);
    };
    const pending = [...(o.signals ?? [])];
    for (const s of pending) if (typeof s.at === 'number') setTimeout(() => send(s.sig), s.at);
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      for (let i = 0; i < pending.length; i++) {
        const s = pending[i];
        if (s.at instanceof RegExp && s.at.test(stderr)) {
          pending.splice(i--, 1);
          send(s.sig);
        }
      }
    });
    const killer = setTimeout(() => child.kill('SIGKILL'), o.killAfterMs ?? 120_000);
    child.on('exit', (status, signal) => {
      clearTimeout(killer);
      resolve({ status, signal, stdout, stderr, ms: performance.now() - from });
    });
  });
}

/** A TCP server that takes connections and never answers: a server that hangs. */
async function hangingServer(): Promise<{ url: (scheme: string) => string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    url: (scheme) => `${scheme}://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

/** A local port nothing listens on: connections are refused, as when a server is down. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

async function rows(url: string, sql: string): Promise<string> {
  // POST: a GET is read-only to ClickHouse.
  const r = await fetch(url, { method: 'POST', body: sql });
  assert.ok(r.ok, await r.clone().text());
  return (await r.text()).trim();
}

const ch = new OwnClickHouse();
after(() => ch.stop());

test('a ClickHouse without the journal stops run at once with the fix named (exit 78); --migrate then journals everything once', async () => {
  await ch.start();
  const dir = join(work, 'nojournal');
  const first = await run(['--data-dir', dir, '--intents', intents, '--until-idle', '--json'], { CLICKHOUSE_URL: ch.url }, { killAfterMs: 60_000 });
  assert.equal(first.status, 78, first.stderr);
  assert.match(first.stderr, /Database fillstream doesn't exist.*fillstream audit migrate.*--migrate/);
  assert.ok(first.ms < 30_000, `stopped after ${Math.round(first.ms)} ms instead of retrying`);

  const again = await run(['--data-dir', dir, '--intents', intents, '--until-idle', '--json', '--migrate'], { CLICKHOUSE_URL: ch.url });
  assert.equal(again.status, 0, again.stderr);
  const s = JSON.parse(again.stdout) as Summary;
  assert.equal(s.state_hash, clean.state_hash, 'nothing lost or doubled by the stop');
  const [n, unique] = (await rows(ch.url, 'SELECT count(), uniqExact(log_topic, log_partition, log_offset) FROM fillstream.audit_events')).split('\t').map(Number);
  assert.equal(n, s.events - s.intents, 'every event journaled');
  assert.equal(unique, n, 'none twice');
});

test('--until-idle with ClickHouse down gives up after --idle-timeout (exit 75) naming what is pending; a later run resumes exactly', async () => {
  const dir = join(work, 'down');
  const down = await run(['--data-dir', dir, '--intents', intents, '--until-idle', '--json', '--idle-timeout', '3'], { CLICKHOUSE_URL: `http://127.0.0.1:${await closedPort()}` });
  assert.equal(down.status, 75, down.stderr);
  assert.match(down.stderr, /nothing moved for 3 s with work pending \(audit: \d+ records/);
  assert.match(down.stderr, /ClickHouse http:\/\/127\.0\.0\.1:\d+: .*ECONNREFUSED.*attempt \d+ in \d+ ms/);
  assert.equal(down.stdout, '');

  // The stages went on without the journal: the pipeline's own work is all there already.
  const local = cliJson<Summary>(['state', '--data-dir', dir]);
  assert.equal(local.state_hash, clean.state_hash, 'intents became orders while ClickHouse was down');

  // `state` says which sink is behind and by how much, or why it cannot tell.
  const away = stateWith(dir, { CLICKHOUSE_URL: `http://127.0.0.1:${await closedPort()}` });
  assert.equal(away.sinks.length, 1);
  assert.equal(away.sinks[0].sink, 'audit');
  assert.match(away.sinks[0].error ?? '', /ECONNREFUSED/);
  // The server's journal holds the first test's log; this data dir's log is another one.
  await rows(ch.url, 'TRUNCATE TABLE fillstream.audit_events');
  await rows(ch.url, 'TRUNCATE TABLE fillstream.audit_checksums');
  const behind = stateWith(dir, { CLICKHOUSE_URL: ch.url });
  assert.deepEqual(behind.sinks, [{ sink: 'audit', store: `ClickHouse ${ch.url}`, behind: local.events - local.intents }]);
  const up = await run(['--data-dir', dir, '--until-idle', '--json'], { CLICKHOUSE_URL: ch.url });
  assert.equal(up.status, 0, up.stderr);
  const s = JSON.parse(up.stdout) as Summary;
  assert.equal(s.state_hash, clean.state_hash);
  const [n, unique] = (await rows(ch.url, 'SELECT count(), uniqExact(log_topic, log_partition, log_offset) FROM fillstream.audit_events')).split('\t').map(Number);
  assert.equal(n, s.events - s.intents, 'the journal caught up with every event');
  assert.equal(unique, n, 'none twice');
  assert.equal(stateWith(dir, { CLICKHOUSE_URL: ch.url }).sinks[0].behind, 0);
});

/** `fillstream state --json` with `env` on top. */
function stateWith(dir: string, env: Record<string, string>): Summary & { sinks: { sink: string; store: string; behind?: number; error?: string }[] } {
  const r = spawnSync(process.execPath, [CLI, 'state', '--data-dir', dir, '--json'], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as Summary & { sinks: { sink: string; store: string; behind?: number; error?: string }[] };
}

for (const state of ['down', 'hanging'] as const) {
  test(`SIGTERM stops run --bus kafka within 5 s while Kafka is ${state}`, async () => {
    const hang = state === 'hanging' ? await hangingServer() : undefined;
    try {
      const brokers = hang ? hang.url('kafka').replace('kafka://', '') : `127.0.0.1:${await closedPort()}`;
      const r = await run(
        ['--bus', 'kafka', '--data-dir', join(work, `term-kafka-${state}`), '--intents', intents, '--json'],
        { KAFKA_BROKERS: brokers },
        { signals: [{ at: 3_000, sig: 'SIGTERM' }] },
      );
      assert.ok(r.ms < 5_000, `exited ${Math.round(r.ms)} ms after SIGTERM: ${r.stderr}`);
      assert.ok(r.status === 0 || r.status === 143, `exit ${r.status} ${r.signal}: ${r.stderr}`);
    } finally {
      await hang?.close();
    }
  });
}

for (const server of ['ClickHouse', 'Redis'] as const) {
  for (const state of ['down', 'hanging'] as const) {
    test(`SIGTERM stops run within 5 s while ${server} is ${state}; a second signal exits at once`, async () => {
      const hang = state === 'hanging' ? await hangingServer() : undefined;
      try {
        const url = hang ? hang.url(server === 'Redis' ? 'redis' : 'http') : `${server === 'Redis' ? 'redis' : 'http'}://127.0.0.1:${await closedPort()}`;
        const env: Record<string, string> = server === 'Redis' ? { REDIS_URL: url } : { CLICKHOUSE_URL: url };
        // Following the intents file (no --until-idle): only a signal ends it.
        const once = await run(['--data-dir', join(work, `term-${server}-${state}`), '--intents', intents, '--json'], env, { signals: [{ at: 3_000, sig: 'SIGTERM' }] });
        assert.ok(once.ms < 5_000, `exited ${Math.round(once.ms)} ms after SIGTERM`);
        assert.ok(once.status === 0 || once.status === 143, `exit ${once.status} ${once.signal}: ${once.stderr}`);

        const twice = await run(['--data-dir', join(work, `term2-${server}-${state}`), '--intents', intents, '--json'], env, {
          signals: [
            { at: 3_000, sig: 'SIGTERM' },
            { at: 3_100, sig: 'SIGTERM' },
          ],
        });
        assert.ok(twice.ms < 1_500, `exited ${Math.round(twice.ms)} ms after the first of two signals`);
        assert.ok(twice.status === 0 || twice.status === 143, `exit ${twice.status}: ${twice.stderr}`);
      } finally {
        await hang?.close();
      }
    });
  }
}
