import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { DataDirLockedError, JournalCorruptError, openEmbeddedLog } from '../../src/log/embedded/index.js';
import type { LogRecord } from '../../src/log/types.js';
import { flipByte, readAll, rec, segFiles, tmpDir, values } from '../helpers/log-fixtures.js';

test('append/read round trip across segment rolls, before and after reopen', async (t) => {
  const dir = tmpDir(t);
  const log = await openEmbeddedLog({ dir, fsync: 'off', segmentBytes: 300 });
  const big = Buffer.alloc(1000, 7); // bigger than a segment: gets a segment of its own
  const binary = Buffer.from([0, 255, 1, 254, 0, 0, 10]);
  const sent: { value: Buffer; key: string | null; headers: Record<string, string> }[] = [];
  const t0 = Date.now();
  for (let b = 0; b < 40; b++) {
    const batch = [];
    for (let i = 0; i < (b % 5) + 1; i++) {
      const n = sent.length;
      const value = n === 17 ? big : n === 23 ? binary : Buffer.from(`value-${n}-ünï`);
      const key = n % 3 === 0 ? null : `key-${n % 4}`;
      const headers: Record<string, string> = n % 2 ? { trace: `t${n}`, 'x-ü': 'é' } : {};
      sent.push({ value, key, headers });
      batch.push({ topic: 'rt', key, value: n % 4 === 1 ? value.toString('utf8') : value, headers });
    }
    await log.append(batch);
  }
  const st = log.stats();
  assert.ok(st.segments > 10, `expected many segments, got ${st.segments}`);
  assert.equal(st.frames, 40);
  assert.equal(st.records, sent.length);
  // Segment names are 20-digit base positions that add up.
  let base = 0;
  for (const f of segFiles(dir)) {
    assert.match(path.basename(f), /^\d{20}\.seg$/);
    assert.equal(Number(path.basename(f, '.seg')), base);
    base += fs.statSync(f).size;
  }
  assert.equal(base, st.bytes);

  const check = (got: LogRecord[]): void => {
    assert.equal(got.length, sent.length);
    got.forEach((r, i) => {
      assert.equal(r.topic, 'rt');
      assert.equal(r.partition, 0);
      assert.equal(r.offset, i);
      assert.equal(r.key, sent[i].key);
      assert.deepEqual(r.headers, sent[i].headers);
      assert.ok(r.value.equals(sent[i].value), `value ${i}`);
      assert.ok(r.timestamp >= t0 && r.timestamp <= Date.now());
    });
  };
  check(await readAll(log, 'rt'));
  await log.close();

  const again = await openEmbeddedLog({ dir, fsync: 'off', segmentBytes: 300 });
  assert.equal(again.recovered.truncatedBytes, 0);
  assert.deepEqual(again.stats(), st);
  check(await readAll(again, 'rt'));
  // Reads in the middle, spanning segments.
  const mid = await again.read('rt', 0, 10, 25);
  assert.deepEqual(
    mid.map((r) => r.offset),
    Array.from({ length: 25 }, (_, i) => 10 + i),
  );
  // And appends continue in the last segment.
  const pos = await again.append([rec('rt', 'after')]);
  assert.deepEqual(pos, [{ topic: 'rt', partition: 0, offset: sent.length }]);
  await again.close();
});

test('offsets are consecutive per topic; read bounds; one partition', async (t) => {
  const dir = tmpDir(t);
  const log = await openEmbeddedLog({ dir, fsync: 'off' });
  const p1 = await log.append([rec('a', 'a0'), rec('b', 'b0'), rec('a', 'a1')]);
  const p2 = await log.append([rec('c', 'c0'), rec('a', 'a2')]);
  assert.deepEqual(p1, [
    { topic: 'a', partition: 0, offset: 0 },
    { topic: 'b', partition: 0, offset: 0 },
    { topic: 'a', partition: 0, offset: 1 },
  ]);
  assert.deepEqual(p2, [
    { topic: 'c', partition: 0, offset: 0 },
    { topic: 'a', partition: 0, offset: 2 },
  ]);
  assert.equal(log.endOffsetNow('a', 0), 3);
  assert.equal(log.endOffsetNow('b', 0), 1);
  assert.equal(log.endOffsetNow('nope', 0), 0);
  assert.equal(log.partitions('a'), 1);
  assert.deepEqual(values(await log.read('a', 0, 1, 10)), ['a1', 'a2']);
  assert.deepEqual(values(await log.read('a', 0, 0, 2)), ['a0', 'a1']);
  assert.deepEqual(await log.read('a', 0, 3, 10), []);
  assert.deepEqual(await log.read('a', 0, 99, 10), []);
  assert.deepEqual(await log.read('nope', 0, 0, 10), []);
  assert.throws(() => log.endOffsetNow('a', 1), /1 partition/);
  await assert.rejects(log.endOffset('a', 1), /1 partition/);
  assert.equal(await log.committed('g', 'a', 0), 0);
  await assert.rejects(log.read('a', 1, 0, 1), /1 partition/);
  await assert.rejects(log.read('a', 0, -1, 1), /bad offset/);
  assert.deepEqual(await log.append([]), []);
  assert.equal(log.stats().frames, 2, 'an empty append writes nothing');
  await log.close();
});

test('committed offsets survive reopen, last value wins, opaque topics allowed', async (t) => {
  const dir = tmpDir(t);
  const log = await openEmbeddedLog({ dir, fsync: 'always' });
  assert.equal(log.committedNow('g', 'a', 0), 0);
  await log.commit('g', [{ topic: 'a', partition: 0, offset: 5 }], []);
  await log.commit(
    'g',
    [
      { topic: 'a', partition: 0, offset: 7 },
      { topic: 'source:intake-1.jsonl', partition: 3, offset: 123456789012 },
    ],
    [rec('out', 'x')],
  );
  await log.commit('h', [{ topic: 'a', partition: 0, offset: 2 }], []);
  assert.equal(log.committedNow('g', 'a', 0), 7);
  await log.close();

  const again = await openEmbeddedLog({ dir });
  assert.equal(again.committedNow('g', 'a', 0), 7);
  assert.equal(again.committedNow('g', 'source:intake-1.jsonl', 3), 123456789012);
  assert.equal(again.committedNow('g', 'source:intake-1.jsonl', 0), 0);
  assert.equal(again.committedNow('h', 'a', 0), 2);
  assert.equal(again.committedNow('nobody', 'a', 0), 0);
  assert.deepEqual(values(await readAll(again, 'out')), ['x']);
  await again.close();
});

test('a commit is one frame: a torn commit loses its outputs and its offsets together', async (t) => {
  const dir = tmpDir(t);
  const log = await openEmbeddedLog({ dir, fsync: 'off' });
  await log.append([rec('in', 'i0'), rec('in', 'i1')]);
  await log.commit('stage', [{ topic: 'in', partition: 0, offset: 1 }], [rec('out', 'o0')]);
  const before = log.stats();
  await log.commit('stage', [{ topic: 'in', partition: 0, offset: 2 }], [rec('out', 'o1'), rec('audit', 'x1')]);
  const after = log.stats();
  assert.equal(after.frames, before.frames + 1, 'outputs of two topics and offsets in one frame');
  assert.equal(log.committedNow('stage', 'in', 0), 2);
  await log.close();

  // Cut the last frame in its middle, as a crash during the write would.
  const [seg] = segFiles(dir);
  fs.truncateSync(seg, before.bytes + Math.floor((after.bytes - before.bytes) / 2));
  const again = await openEmbeddedLog({ dir, fsync: 'off' });
  assert.equal(again.recovered.truncatedBytes, Math.floor((after.bytes - before.bytes) / 2));
  assert.equal(again.committedNow('stage', 'in', 0), 1);
  assert.deepEqual(values(await readAll(again, 'out')), ['o0']);
  assert.equal(again.endOffsetNow('audit', 0), 0);
  assert.deepEqual(again.stats(), before);
  await again.close();
});

test('torn tail: garbage or a cut frame is truncated on open, appends continue', async (t) => {
  const dir = tmpDir(t);
  const log = await openEmbeddedLog({ dir, fsync: 'off', segmentBytes: 4096 });
  const ends: number[] = [];
  for (let i = 0; i < 60; i++) {
    await log.append([rec('t', `v${i}`, `k${i}`), rec('u', `u${i}`)]);
    ends.push(log.stats().bytes);
  }
  await log.close();
  const segs = segFiles(dir);
  assert.ok(segs.length >= 2);
  const last = segs[segs.length - 1];

  // 1. Garbage after the last frame.
  fs.appendFileSync(last, Buffer.from('\x07\x00\x00\x00garbage-bytes-here'));
  let l = await openEmbeddedLog({ dir, fsync: 'off', segmentBytes: 4096 });
  assert.equal(l.recovered.truncatedBytes, 22);
  assert.equal(l.endOffsetNow('t', 0), 60);
  await l.close();
  assert.equal(l.stats().bytes, ends[59]);

  // 2. The last frame cut after its header.
  const lastBase = Number(path.basename(last, '.seg'));
  fs.truncateSync(last, ends[58] - lastBase + 10);
  l = await openEmbeddedLog({ dir, fsync: 'off', segmentBytes: 4096 });
  assert.equal(l.recovered.truncatedBytes, 10);
  assert.match(String(l.recovered.reason), /cut/);
  assert.equal(l.endOffsetNow('t', 0), 59);
  assert.equal(l.endOffsetNow('u', 0), 59);
  assert.equal(fs.statSync(last).size, ends[58] - lastBase);

  // 3. Appends after recovery continue the offsets and survive another reopen.
  await l.append([rec('t', 'again')]);
  await l.close();
  l = await openEmbeddedLog({ dir, fsync: 'off', segmentBytes: 4096 });
  assert.equal(l.recovered.truncatedBytes, 0);
  const all = await readAll(l, 't');
  assert.deepEqual(values(all), [...Array.from({ length: 59 }, (_, i) => `v${i}`), 'again']);
  assert.equal(all[59].offset, 59);
  await l.close();

  // 4. A cut inside the 8-byte header.
  const size = fs.statSync(last).size;
  fs.appendFileSync(last, Buffer.from([1, 2, 3]));
  l = await openEmbeddedLog({ dir, fsync: 'off', segmentBytes: 4096 });
  assert.equal(l.recovered.truncatedBytes, 3);
  assert.equal(fs.statSync(last).size, size);
  await l.close();
});

test('crc corruption in the last frame drops that frame only', async (t) => {
  const dir = tmpDir(t);
  const log = await openEmbeddedLog({ dir, fsync: 'off' });
  await log.append([rec('t', 'one')]);
  const mid = log.stats().bytes;
  await log.append([rec('t', 'two')]);
  const end = log.stats().bytes;
  await log.close();
  const [seg] = segFiles(dir);
  flipByte(seg, end - 2); // inside the value of "two"
  const again = await openEmbeddedLog({ dir, fsync: 'off' });
  assert.match(String(again.recovered.reason), /crc/);
  assert.equal(again.recovered.truncatedBytes, end - mid);
  assert.deepEqual(values(await readAll(again, 't')), ['one']);
  await again.close();
});

test('corruption in a middle segment is a clear error, not silent data loss', async (t) => {
  const dir = tmpDir(t);
  const log = await openEmbeddedLog({ dir, fsync: 'off', segmentBytes: 200 });
  for (let i = 0; i < 30; i++) await log.append([rec('t', `value-${i}-${'z'.repeat(50)}`)]);
  await log.close();
  const segs = segFiles(dir);
  assert.ok(segs.length >= 4);
  const victim = segs[1];
  flipByte(victim, 20);
  await assert.rejects(openEmbeddedLog({ dir, fsync: 'off' }), (e: unknown) => {
    assert.ok(e instanceof JournalCorruptError);
    assert.match(e.message, new RegExp(`${path.basename(victim)} is corrupt at byte 0 .*not the last segment`));
    return true;
  });
  assert.ok(!fs.existsSync(path.join(dir, 'LOCK')), 'a failed open releases the lock');
  // The data is untouched: fixing the byte makes the log open again.
  flipByte(victim, 20);
  const l = await openEmbeddedLog({ dir, fsync: 'off' });
  assert.equal(l.endOffsetNow('t', 0), 30);
  await l.close();

  // A missing middle segment is also refused.
  fs.rmSync(segs[2]);
  await assert.rejects(openEmbeddedLog({ dir, fsync: 'off' }), /segment is missing/);
});

test('the data dir lock: second open fails clearly, stale lock is taken over', async (t) => {
  const dir = tmpDir(t);
  const log = await openEmbeddedLog({ dir, fsync: 'off' });
  assert.equal(fs.readFileSync(path.join(dir, 'LOCK'), 'utf8').trim(), String(process.pid));
  await assert.rejects(openEmbeddedLog({ dir, fsync: 'off' }), (e: unknown) => {
    assert.ok(e instanceof DataDirLockedError);
    assert.equal(e.message, `data dir ${dir} is in use by pid ${process.pid}`);
    return true;
  });
  await log.append([rec('t', 'x')]);
  await log.close();
  assert.ok(!fs.existsSync(path.join(dir, 'LOCK')));

  // A lock from a process that has exited.
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  fs.writeFileSync(path.join(dir, 'LOCK'), `${dead.stdout}\n`);
  const l = await openEmbeddedLog({ dir, fsync: 'off' });
  assert.equal(l.recovered.staleLockTakenOver, true);
  assert.equal(fs.readFileSync(path.join(dir, 'LOCK'), 'utf8').trim(), String(process.pid));
  assert.deepEqual(values(await readAll(l, 't')), ['x']);
  await l.close();
});

test('scan visits the given topics in global journal order, up to the end at call time', async (t) => {
  const dir = tmpDir(t);
  const log = await openEmbeddedLog({ dir, fsync: 'off', segmentBytes: 1000, windowRecords: 16 });
  const expected: string[] = [];
  const topics = ['x', 'y', 'z'];
  let n = 0;
  for (let b = 0; b < 50; b++) {
    const batch = [];
    for (let i = 0; i < 1 + (b % 4); i++) {
      const topic = topics[(b * 7 + i * 3) % 3];
      const v = `${topic}-${n++}`;
      batch.push(rec(topic, v));
      if (topic !== 'y') expected.push(v);
    }
    if (b % 3 === 0) await log.commit('g', [{ topic: 'y', partition: 0, offset: b }], batch);
    else await log.append(batch);
  }
  const seen: LogRecord[] = [];
  let appended = false;
  const count = await log.scan(['x', 'z'], (r) => {
    seen.push(r);
    if (!appended) {
      appended = true;
      void log.append([rec('x', 'late')]); // after the call: not visited
    }
  });
  assert.equal(count, expected.length);
  assert.deepEqual(values(seen), expected);
  // Offsets are per topic and consecutive.
  for (const topic of ['x', 'z']) {
    const offs = seen.filter((r) => r.topic === topic).map((r) => r.offset);
    assert.deepEqual(
      offs,
      offs.map((_, i) => i),
    );
  }
  assert.equal(await log.scan(['nope'], () => assert.fail('no records')), 0);
  await log.close();

  // Same from disk only.
  const again = await openEmbeddedLog({ dir, fsync: 'off' });
  const seen2: string[] = [];
  assert.equal(await again.scan(['z', 'x'], (r) => seen2.push(r.value.toString())), expected.length + 1);
  assert.deepEqual(seen2, [...expected, 'late']);
  await again.close();
});

test('recent records carry their decoded object; older ones are read from disk', async (t) => {
  const dir = tmpDir(t);
  const log = await openEmbeddedLog({ dir, fsync: 'off', windowRecords: 10, segmentBytes: 512 });
  const objs = Array.from({ length: 50 }, (_, i) => ({ n: i, name: `obj-${i}` }));
  for (let i = 0; i < 50; i += 5) {
    await log.append(objs.slice(i, i + 5).map((o) => ({ topic: 'd', key: `k${o.n}`, value: JSON.stringify(o), decoded: o })));
  }
  const all = await readAll(log, 'd');
  assert.equal(all.length, 50);
  all.forEach((r, i) => {
    assert.deepEqual(JSON.parse(r.value.toString('utf8')), objs[i]);
    assert.equal(r.key, `k${i}`);
    if (i >= 40) assert.equal(r.decoded, objs[i], 'window record shares the decoded object');
    else assert.equal(r.decoded, undefined, 'disk record has no decoded object');
  });
  // A read across the window boundary.
  const across = await log.read('d', 0, 35, 10);
  assert.deepEqual(
    across.map((r) => r.offset),
    [35, 36, 37, 38, 39, 40, 41, 42, 43, 44],
  );
  assert.equal(across[4].decoded, undefined);
  assert.equal(across[5].decoded, objs[40]);
  // Scan hands out the decoded objects it has too.
  const decodedSeen: unknown[] = [];
  await log.scan(['d'], (r) => decodedSeen.push(r.decoded));
  assert.equal(decodedSeen.filter((d) => d !== undefined).length, 10);
  assert.equal(decodedSeen[49], objs[49]);
  await log.close();
});

for (const mode of ['always', 'batch', 'off'] as const) {
  test(`fsync '${mode}': writes, visibility and reopen`, async (t) => {
    const dir = tmpDir(t);
    const log = await openEmbeddedLog({ dir, fsync: mode, fsyncIntervalMs: 2, segmentBytes: 2048 });
    const p = log.append([rec('m', 'first')]);
    // Every mode shows records once written; with 'always' the promise waits for the fsync.
    assert.equal(log.endOffsetNow('m', 0), 1);
    assert.deepEqual(await p, [{ topic: 'm', partition: 0, offset: 0 }]);
    assert.equal(log.endOffsetNow('m', 0), 1);
    // Many concurrent commits share fsyncs and all resolve, in order.
    const ps = [];
    for (let i = 0; i < 200; i++) ps.push(log.commit('g', [{ topic: 'src', partition: 0, offset: i + 1 }], [rec('m', `v${i}`)]));
    const res = await Promise.all(ps);
    assert.deepEqual(
      res.map((r) => r[0].offset),
      Array.from({ length: 200 }, (_, i) => i + 1),
    );
    assert.equal(log.committedNow('g', 'src', 0), 200);
    assert.ok(log.stats().segments > 1);
    await log.close();
    await assert.rejects(log.append([rec('m', 'closed')]), /closed/);
    const again = await openEmbeddedLog({ dir, fsync: mode });
    assert.equal(again.endOffsetNow('m', 0), 201);
    assert.equal(again.committedNow('g', 'src', 0), 200);
    assert.equal(again.recovered.truncatedBytes, 0);
    await again.close();
  });
}

test('bad input gets a clear error and writes nothing', async (t) => {
  const dir = tmpDir(t);
  const log = await openEmbeddedLog({ dir, fsync: 'off' });
  await assert.rejects(log.append([{ topic: '', key: null, value: 'x' }]), /topic must be a non-empty string/);
  await assert.rejects(log.commit('g', [{ topic: 'a', partition: 0, offset: -1 }], []), /bad offset/);
  assert.equal(log.stats().frames, 0);
  await log.append([rec('ok', 'fine')]);
  assert.equal(log.endOffsetNow('ok', 0), 1);
  await log.close();
  await assert.rejects(openEmbeddedLog({ dir, fsync: 'sometimes' as never }), /fsync must be/);
  assert.ok(!fs.existsSync(path.join(dir, 'LOCK')));
});

test('read-only open: no lock, sees complete frames, leaves a torn tail alone, refuses writes', async (t) => {
  const dir = tmpDir(t);
  const writer = await openEmbeddedLog({ dir, fsync: 'off' });
  await writer.append([rec('m', 'a'), rec('m', 'b')]);
  // The writer still holds the lock: a reader opens anyway.
  const reader = await openEmbeddedLog({ dir, readOnly: true });
  assert.equal(reader.endOffsetNow('m', 0), 2);
  assert.deepEqual(
    (await reader.read('m', 0, 0, 10)).map((r) => r.value.toString()),
    ['a', 'b'],
  );
  await assert.rejects(reader.append([rec('m', 'c')]), /read-only/);
  await reader.close();
  await writer.close();
  // A torn frame at the end (a write in progress) is skipped, not cut.
  const seg = fs.readdirSync(dir).find((f) => f.endsWith('.seg'))!;
  const size = fs.statSync(path.join(dir, seg)).size;
  fs.appendFileSync(path.join(dir, seg), Buffer.from([200, 0, 0, 0, 1, 2, 3]));
  const again = await openEmbeddedLog({ dir, readOnly: true });
  assert.equal(again.endOffsetNow('m', 0), 2);
  assert.equal(again.recovered.truncatedBytes, 7);
  await again.close();
  assert.equal(fs.statSync(path.join(dir, seg)).size, size + 7, 'the reader changed nothing on disk');
  await assert.rejects(openEmbeddedLog({ dir: path.join(dir, 'missing'), readOnly: true }), /no log in/);
});
