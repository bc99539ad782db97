// Crash tests with real child processes: SIGKILL at random times must never lose or double a record.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { DataDirLockedError, openEmbeddedLog } from '../../src/log/embedded/index.js';
import { readAll, tmpDir } from '../helpers/log-fixtures.js';

const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), '../helpers/log-crash-child.ts');

interface Run {
  child: ChildProcess;
  out: () => string;
  ready: Promise<void>;
  exited: Promise<number | null>;
}

function startChild(args: string[]): Run {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  let onReady: () => void = () => undefined;
  const ready = new Promise<void>((r) => (onReady = r));
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    if (out.includes('ready')) onReady();
  });
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      onReady();
      if (code !== 0 && code !== null) process.stderr.write(`child stderr: ${err}\n`);
      resolve(code);
    }),
  );
  return { child, out: () => out, ready, exited };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

test('consume/commit is exactly once across repeated SIGKILLs', { timeout: 120_000 }, async (t) => {
  const dir = tmpDir(t);
  const n = 40_000;
  let kills = 0;
  const progress: [number, number][] = [];
  for (let round = 0; round < 8; round++) {
    const run = startChild(['copy', dir, String(n), 'always']);
    await run.ready;
    await sleep(10 + Math.floor(Math.random() * 250));
    if (run.out().includes('done')) {
      await run.exited;
      break;
    }
    run.child.kill('SIGKILL');
    const code = await run.exited;
    if (code !== null) break;
    kills++;
    // After every crash: B is an exact copy of the committed prefix of A.
    const log = await openEmbeddedLog({ dir, fsync: 'off' });
    const committed = log.committedNow('copier', 'crash.a', 0);
    const b = await readAll(log, 'crash.b');
    assert.equal(b.length, committed);
    b.forEach((r, i) => assert.equal(r.value.toString(), `b:a-${i}`));
    progress.push([log.endOffsetNow('crash.a', 0), committed]);
    await log.close();
  }
  t.diagnostic(`kills at (A, B) = ${JSON.stringify(progress)}`);
  assert.ok(
    progress.some(([a, b]) => a < n && b > 0),
    'at least one kill landed mid-run',
  );
  const final = startChild(['copy', dir, String(n), 'always']);
  assert.equal(await final.exited, 0);
  assert.match(final.out(), /done/);
  assert.ok(kills >= 3, `only ${kills} kills landed`);

  const log = await openEmbeddedLog({ dir, fsync: 'off' });
  const a = await readAll(log, 'crash.a');
  const b = await readAll(log, 'crash.b');
  assert.equal(a.length, n);
  assert.deepEqual(
    a.map((r) => r.value.toString()),
    Array.from({ length: n }, (_, i) => `a-${i}`),
  );
  assert.equal(b.length, n, 'no duplicates, no gaps');
  b.forEach((r, i) => {
    assert.equal(r.value.toString(), `b:a-${i}`);
    assert.equal(r.headers.src, String(i));
    assert.equal(r.key, `k${i % 7}`);
  });
  assert.equal(log.committedNow('copier', 'crash.a', 0), n);
  await log.close();
});

test('a live process holding the data dir blocks open; once it is killed the stale lock is taken over', { timeout: 30_000 }, async (t) => {
  const dir = tmpDir(t);
  const run = startChild(['hold', dir]);
  await run.ready;
  const pid = run.child.pid!;
  await assert.rejects(openEmbeddedLog({ dir, fsync: 'off' }), (e: unknown) => {
    assert.ok(e instanceof DataDirLockedError);
    assert.equal(e.message, `data dir ${dir} is in use by pid ${pid}`);
    return true;
  });
  run.child.kill('SIGKILL');
  await run.exited;
  const log = await openEmbeddedLog({ dir, fsync: 'off' });
  assert.equal(log.recovered.staleLockTakenOver, true);
  await log.close();
});
